"""Queue faults: Redis down at submission, a worker SIGKILLed mid-job, a poison job.

Moved here from ``tests/soccer_serving/test_e2e.py`` (SIGKILL, poison) and
``tests/soccer_serving/test_api_unit.py`` (Redis down) so that the reliability suite runs on its
own. The SIGKILL and poison tests run on the shared subprocess stack (``stack`` in
``tests/reliability/conftest.py``): uvicorn API + Dramatiq worker on PostgreSQL, Redis and MLflow.
"""

from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import api_actor, make_broker
from soccer_serving.jobs import store as jobs_store
from soccer_serving.main import create_app
from soccer_serving.settings import ServingSettings
from tests.reliability.conftest import API_KEYS, MATCH, MAX_RETRIES, api_settings
from tests.soccer_serving.conftest import REDIS_URL
from tests.soccer_serving.support import Stack, free_port

pytestmark = pytest.mark.integration


def test_redis_down_at_submission_is_503_and_stores_no_job(api_db_url: str, redis_namespace: str) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(api_settings(api_db_url, redis_namespace, redis_url=dead))
    w = Warehouse(api_db_url, create_schema=False)
    try:
        before = jobs_store.count_jobs(w.engine)
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.post("/v1/jobs", json={"matches": [MATCH]}, headers={"X-API-Key": API_KEYS[0]})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "broker_unavailable"
            ready = c.get("/ready").json()
            assert ready["checks"]["redis"]["ok"] is False
        assert jobs_store.count_jobs(w.engine) == before
    finally:
        w.dispose()


@pytest.mark.slow
def test_sigkill_mid_job_then_a_new_worker_completes_it_exactly_once(stack: Stack) -> None:
    items = stack.matches[:100] * 2  # item i and i + 100 are the same match
    job_id = stack.submit({"matches": items})
    deadline = time.monotonic() + 120
    while True:
        j = stack.job(job_id, limit=1)
        if j["progress"]["done"] >= 20:
            break
        assert time.monotonic() < deadline, j
        time.sleep(0.05)
    [victim] = [w for w in stack.workers if w.alive()]
    assert j["worker"].endswith(f":{victim.proc.pid}"), (j["worker"], victim.proc.pid)
    victim.kill()  # SIGKILL: no cleanup, the message stays unacknowledged in Redis
    victim.proc.wait(10)
    time.sleep(0.5)
    done_at_kill = stack.job(job_id, limit=1)["progress"]["done"]
    assert 20 <= done_at_kill < 200, done_at_kill
    time.sleep(1.0)
    stalled = stack.job(job_id, limit=1)
    assert stalled["progress"]["done"] == done_at_kill and stalled["status"] == "running"

    fresh = stack.start_worker()
    job = stack.wait_job(job_id, timeout=180)
    assert job["status"] == "succeeded", job.get("error")
    assert job["worker"].endswith(f":{fresh.proc.pid}")
    assert job["attempts"] == 2, job  # redelivered once, not retried
    assert job["progress"] == {"done": 200, "total": 200, "item_errors": 0}
    assert [r["index"] for r in job["results"]] == list(range(200))
    assert all(r["ok"] for r in job["results"])
    # Exactly once: one result and one log row per item, however often the message was delivered.
    assert plog.count_predictions(stack.warehouse.engine, job_id=job_id) == 200
    assert len(jobs_store.read_job_results(stack.warehouse.engine, job_id)) == 200
    # Items written before and after the kill agree (the job's model versions are pinned).
    for i in range(done_at_kill):
        assert job["results"][i]["probabilities"] == job["results"][i + 100]["probabilities"]


@pytest.mark.slow
def test_poison_job_fails_after_bounded_retries_without_blocking_others(stack: Stack) -> None:
    settings = ServingSettings(redis_url=REDIS_URL, broker_namespace=stack.env["SOCCER_BROKER_NAMESPACE"],
                               job_queue=stack.env["SOCCER_JOB_QUEUE"])
    broker = make_broker(settings)
    actor = api_actor(broker, settings)
    poison_id = "poison-" + os.urandom(4).hex()
    try:
        with stack.warehouse.engine.begin() as conn:
            # A job whose stored items are not matches (e.g. written by a buggy client version).
            jobs_store.insert_job(conn, poison_id, {"matches": 2}, [{"league": "E0"}, {"home_team": 7}])
        actor.send(poison_id)
    finally:
        broker.close()
    good_id = stack.submit({"matches": stack.matches[:3]})
    good = stack.wait_job(good_id, timeout=60)
    assert good["status"] == "succeeded"
    poison = stack.wait_job(poison_id, timeout=60)
    assert poison["status"] == "failed"
    assert poison["attempts"] == MAX_RETRIES + 1
    assert f"attempt {MAX_RETRIES + 1} of {MAX_RETRIES + 1}" in poison["error"]
    assert "job items are invalid" in poison["error"]
    assert poison["results"] == [] and poison["progress"]["done"] == 0


@pytest.mark.slow
def test_a_worker_started_with_a_backlog_processes_it(stack: Stack) -> None:
    # Both threads of a fresh worker take a job at once: before the main thread imported MLflow,
    # they raced on its first import and every job failed with a half-initialised module.
    for w in stack.workers:
        w.stop()
    ids = [stack.submit({"matches": stack.matches[i:i + 3]}) for i in range(0, 12, 3)]
    time.sleep(0.5)
    assert {stack.job(j, limit=1)["status"] for j in ids} == {"queued"}
    stack.start_worker()
    for job_id in ids:
        job = stack.wait_job(job_id, timeout=120)
        assert job["status"] == "succeeded", job.get("error")
        assert job["attempts"] == 1 and job["progress"]["item_errors"] == 0


@pytest.mark.slow
def test_a_job_that_kills_its_worker_every_time_fails_after_the_bound(stack: Stack) -> None:
    # Dramatiq counts only raised exceptions as retries: a worker SIGKILLed mid-job gets the message
    # redelivered with the count unchanged, forever. The job row counts every delivery.
    job_id = stack.submit({"matches": stack.matches[:100] * 3})
    for attempt in range(1, MAX_RETRIES + 2):
        deadline = time.monotonic() + 120
        while True:
            j = stack.job(job_id, limit=1)
            if j["attempts"] == attempt and j["status"] == "running" and j["progress"]["done"] > 0:
                break
            assert j["status"] == "running" or j["status"] == "queued", j
            assert time.monotonic() < deadline, j
            time.sleep(0.05)
        [victim] = [w for w in stack.workers if w.alive()]
        victim.kill()
        victim.proc.wait(10)
        stack.start_worker()
    job = stack.wait_job(job_id, timeout=180)
    assert job["status"] == "failed" and job["attempts"] == MAX_RETRIES + 2, job
    assert f"gave up after {MAX_RETRIES + 1} attempts" in job["error"]
    assert job["progress"]["done"] < 300  # it never got to the end
    # The worker that failed it is healthy: the next job succeeds.
    assert stack.wait_job(stack.submit({"matches": stack.matches[:3]}), timeout=120)["status"] == "succeeded"
