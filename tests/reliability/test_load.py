"""Bounded load on loopback: a steady request rate for a fixed time with concurrent job submissions.

An asyncio httpx client paces ``RATE`` requests a second for ``DURATION`` seconds against the API of
the shared stack (uvicorn subprocess, one process), mixing single predictions (with and without
odds), small batches, ``/v1/model`` reads and one job submission a second. It proves: no 5xx, every
job completes with exactly its items, and the API's resident memory (``VmRSS`` of its process)
stays flat once warm. Figures are printed (``pytest -s``); latency is not asserted (shared CPUs).
"""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from soccer_assets.storage import prediction_log as plog
from tests.soccer_serving.support import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RATE = 50  # requests per second
DURATION = 20.0  # seconds at that rate
WARMUP = 3.0  # seconds at that rate before the first memory reading
JOB_EVERY = RATE  # one job submission per second
JOB_ITEMS = 5
RSS_GROWTH_LIMIT_MB = 30.0
MAX_IN_FLIGHT = 64


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no VmRSS for pid {pid}")


async def _run(stack: Stack, seconds: float, statuses: collections.Counter[int],
               job_ids: list[str]) -> int:
    """Send ``RATE * seconds`` requests on a fixed schedule (start times do not wait for answers;
    at most MAX_IN_FLIGHT are open). Returns the number sent."""
    items = [{k: v for k, v in m.items()} for m in stack.matches[:40]]
    n = int(RATE * seconds)
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    errors: list[str] = []

    async def one(client: httpx.AsyncClient, i: int) -> None:
        async with gate:
            if i % JOB_EVERY == 0:
                body = {"matches": [items[(i + k) % len(items)] for k in range(JOB_ITEMS)]}
                r = await client.post("/v1/jobs", json=body, headers=stack.headers)
                if r.status_code == 202:
                    job_ids.append(r.json()["job_id"])
            elif i % 10 == 3:
                r = await client.post("/v1/predict/batch",
                                      json={"matches": [items[i % 40], items[(i + 1) % 40]]})
            elif i % 10 == 7:
                r = await client.get("/v1/model")
            else:
                r = await client.post("/v1/predict", json=items[i % len(items)])
            statuses[r.status_code] += 1
            if r.status_code >= 500 and len(errors) < 5:
                errors.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")

    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60.0, limits=limits) as client:
        start = time.monotonic()
        tasks = []
        for i in range(n):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, i)))
        await asyncio.gather(*tasks)
    assert not errors, errors
    return n


def test_steady_load_with_jobs_no_5xx_jobs_complete_memory_flat(stack: Stack) -> None:
    pid = stack.api.proc.pid
    warm: collections.Counter[int] = collections.Counter()
    warm_jobs: list[str] = []
    asyncio.run(_run(stack, WARMUP, warm, warm_jobs))
    time.sleep(1.0)
    rss_before = rss_mb(pid)

    statuses: collections.Counter[int] = collections.Counter()
    job_ids: list[str] = []
    t0 = time.monotonic()
    sent = asyncio.run(_run(stack, DURATION, statuses, job_ids))
    elapsed = time.monotonic() - t0

    # Every job (warm-up included) completes, each with exactly its items.
    deadline = time.monotonic() + 120
    pending = set(warm_jobs + job_ids)
    finished: dict[str, dict[str, Any]] = {}
    with stack.client() as c:
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                j = c.get(f"/v1/jobs/{job_id}", headers=stack.headers).json()
                if j["status"] in ("succeeded", "failed"):
                    finished[job_id] = j
                    pending.discard(job_id)
            time.sleep(0.2)
    time.sleep(1.0)
    rss_after = rss_mb(pid)
    growth = rss_after - rss_before
    print(f"\nload: {sent} requests in {elapsed:.1f} s ({sent / elapsed:.1f} req/s, target {RATE}); "
          f"statuses {dict(sorted(statuses.items()))}; warm-up statuses {dict(sorted(warm.items()))}; "
          f"jobs {len(job_ids)} (+{len(warm_jobs)} warm-up) all finished: {not pending}; "
          f"API RSS {rss_before:.1f} MB -> {rss_after:.1f} MB ({growth:+.1f} MB)")

    assert sent == int(RATE * DURATION)
    assert sum(statuses.values()) == sent
    assert not [s for s in (statuses | warm) if s >= 500], statuses
    assert set(statuses) <= {200, 202}, statuses  # every request was valid
    assert len(job_ids) == int(DURATION * RATE / JOB_EVERY)
    assert not pending, f"jobs not finished after 120 s: {sorted(pending)[:5]}"
    for job_id, j in finished.items():
        assert j["status"] == "succeeded", j
        assert j["progress"] == {"done": JOB_ITEMS, "total": JOB_ITEMS, "item_errors": 0}, j
        assert plog.count_predictions(stack.warehouse.engine, job_id=job_id) == JOB_ITEMS
    assert growth < RSS_GROWTH_LIMIT_MB, f"API RSS grew {growth:.1f} MB under load"
