"""The prediction log's promise under a kill, on the embedded default (a SQLite warehouse).

An API subprocess (the shared stack's models and Redis, its own SQLite warehouse) takes eight
concurrent clients, each request with its own ``X-Request-ID``; mid-load the process is signalled.
Then the log is compared with the answers the clients got:

* ``sync`` (the default) + SIGKILL: every answered prediction is in the log (none lost);
* ``background`` + SIGTERM: every answered prediction is in the log (shutdown writes the queue);
* ``background`` + SIGKILL: at most ``SOCCER_PREDICTION_LOG_MAX_QUEUE`` answered predictions are
  missing, the bound ``docs/reliability.md`` states.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import text

from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from tests.reliability.conftest import E0_AS_OF
from tests.soccer_serving.support import Service, Stack, free_port, write_team_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 8
LOAD_SECONDS = 1.5
MAX_QUEUE = 25


async def _load(url: str, matches: list[dict[str, Any]], until: float, answered: list[str]) -> None:
    ids = itertools.count()

    async def client(k: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as c:
            i = k
            while time.monotonic() < until:
                rid = f"crash-{k}-{next(ids)}"
                try:
                    r = await c.post("/v1/predict", json=matches[i % len(matches)],
                                     headers={"X-Request-ID": rid})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    answered.append(rid)
                i += CLIENTS

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))


def _run(stack: Stack, tmp_path: Path, e0_matches: pd.DataFrame, mode: str, sig: int
         ) -> tuple[set[str], set[str]]:
    """(request ids answered 200, request ids in the log) after ``sig`` hit the API mid-load."""
    db = tmp_path / f"warehouse-{mode}-{sig}.db"
    w = Warehouse(f"sqlite:///{db}")
    jobs_store.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, E0_AS_OF)
    port = free_port()
    env = {**stack.env, "SOCCER_WAREHOUSE_URL": f"sqlite:///{db}", "SOCCER_PREDICTION_LOG_MODE": mode,
           "SOCCER_PREDICTION_LOG_MAX_QUEUE": str(MAX_QUEUE), "SOCCER_TEAM_STATE_TTL_SECONDS": "60"}
    # One process (no reloader, no workers): the signal reaches the process that holds the queue.
    api = Service(f"api-{mode}", [sys.executable, "-m", "soccer_serving.cli", "serve", "--port", str(port)],
                  tmp_path, env)
    answered: list[str] = []
    try:
        api.wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
        matches = [m for m in stack.matches if "odds" not in m][:40]

        async def scenario() -> None:
            load = asyncio.create_task(_load(f"http://127.0.0.1:{port}", matches,
                                             time.monotonic() + 30, answered))
            await asyncio.sleep(LOAD_SECONDS)
            os.kill(api.proc.pid, sig)
            await load

        asyncio.run(scenario())
        api.proc.wait(30)
        with w.engine.connect() as conn:
            logged = {r for (r,) in conn.execute(text("SELECT request_id FROM prediction_log"))}
    finally:
        api.stop()
        w.dispose()
    assert len(answered) > 50, f"too little load to show anything ({len(answered)} answers)\n{api.log_tail()}"
    return set(answered), logged


def test_sync_log_loses_nothing_answered_on_sigkill(stack: Stack, tmp_path: Path,
                                                    e0_matches: pd.DataFrame) -> None:
    answered, logged = _run(stack, tmp_path, e0_matches, "sync", signal.SIGKILL)
    assert answered <= logged, f"{len(answered - logged)} answered predictions are not in the log"


def test_background_log_is_written_on_sigterm(stack: Stack, tmp_path: Path,
                                              e0_matches: pd.DataFrame) -> None:
    answered, logged = _run(stack, tmp_path, e0_matches, "background", signal.SIGTERM)
    assert answered <= logged, f"{len(answered - logged)} answered predictions are not in the log"


def test_background_log_loses_at_most_its_queue_on_sigkill(stack: Stack, tmp_path: Path,
                                                           e0_matches: pd.DataFrame) -> None:
    answered, logged = _run(stack, tmp_path, e0_matches, "background", signal.SIGKILL)
    assert len(answered - logged) <= MAX_QUEUE
