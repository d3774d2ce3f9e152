"""Jobs always end (issue 20, point 5): the attempt bound counts every delivery, whatever ended the
earlier ones, and the reaper finishes or requeues jobs whose row stopped moving.

Real pieces: a SQLite warehouse with the serving schema, Redis for the requeued message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store
from soccer_serving.jobs.actors import JobRunner, make_actor_fn, reap_once
from soccer_serving.jobs.broker import declare_job_actor, make_broker
from soccer_serving.settings import ServingSettings
from tests.soccer_serving.conftest import REDIS_URL
from tests.soccer_serving.support import free_port

MAX_RETRIES = 2


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}", create_schema=False)
    store.create_serving_schema(w.engine)
    yield w
    w.dispose()


def _settings(w: Warehouse, namespace: str = "unused") -> ServingSettings:
    return ServingSettings(warehouse_url=str(w.engine.url), redis_url=REDIS_URL, broker_namespace=namespace,
                           job_queue="reaper-jobs", job_max_retries=MAX_RETRIES, job_stale_seconds=60,
                           mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")


def _job(w: Warehouse, status: str, attempts: int, age_seconds: float, error: str | None = None) -> str:
    job_id = f"job-{uuid.uuid4().hex[:8]}"
    with w.engine.begin() as conn:
        store.insert_job(conn, job_id, {"matches": 1}, [{"league": "E0", "home_team": "A", "away_team": "B"}])
        conn.execute(update(store.prediction_jobs).where(store.prediction_jobs.c.id == job_id).values(
            status=status, attempts=attempts, error=error,
            updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_seconds)))
    return job_id


def test_a_delivery_past_the_bound_fails_the_job_whatever_ended_the_earlier_ones(
        warehouse: Warehouse) -> None:
    # Three deliveries ended without an outcome (the worker was SIGKILLed each time: Dramatiq's
    # retry count never moved); the fourth fails the job instead of running it again.
    job_id = _job(warehouse, store.JOB_RUNNING, attempts=MAX_RETRIES + 1, age_seconds=5, error="boom")
    runner = JobRunner(_settings(warehouse), warehouse)
    assert runner.run(job_id) == store.JOB_FAILED
    job = store.get_job(warehouse.engine, job_id)
    assert job is not None and job["status"] == store.JOB_FAILED and job["attempts"] == MAX_RETRIES + 2
    assert f"gave up after {MAX_RETRIES + 1} attempts" in job["error"] and "boom" in job["error"]
    # The actor body agrees: no exception (no further redelivery), the job stays failed.
    make_actor_fn(runner, runner.settings)(job_id)
    assert store.get_job(warehouse.engine, job_id)["status"] == store.JOB_FAILED  # type: ignore[index]


def test_the_reaper_fails_a_stale_last_attempt_and_requeues_the_others(warehouse: Warehouse,
                                                                      redis_namespace: str) -> None:
    limit = MAX_RETRIES + 1
    last = _job(warehouse, store.JOB_RUNNING, attempts=limit, age_seconds=120, error="db down")
    earlier = _job(warehouse, store.JOB_RUNNING, attempts=1, age_seconds=120)
    busy = _job(warehouse, store.JOB_RUNNING, attempts=limit, age_seconds=5)  # still moving
    queued = _job(warehouse, store.JOB_QUEUED, attempts=0, age_seconds=500)
    done = _job(warehouse, store.JOB_SUCCEEDED, attempts=1, age_seconds=500)

    settings = _settings(warehouse, f"{redis_namespace}-reaper")
    broker = make_broker(settings)
    try:
        runner = JobRunner(settings, warehouse)
        actor = declare_job_actor(broker, settings, make_actor_fn(runner, settings))
        assert reap_once(runner, actor, settings) == ([earlier], [last])
        # The requeued job's message is in Redis for a worker to take.
        pending = broker.client.hkeys(f"{settings.broker_namespace}:{settings.job_queue}.msgs")
        assert len(pending) == 1
        assert reap_once(runner, actor, settings) == ([], [])  # each job moves once
    finally:
        broker.client.delete(*broker.client.keys(f"{settings.broker_namespace}*") or ["none"])
        broker.close()
    status = {j: store.get_job(warehouse.engine, j)["status"] for j in (last, earlier, busy, queued, done)}  # type: ignore[index]
    assert status == {last: "failed", earlier: "queued", busy: "running", queued: "queued", done: "succeeded"}
    error = store.get_job(warehouse.engine, last)["error"]  # type: ignore[index]
    assert "finished by the reaper" in error and "db down" in error


def test_a_reaper_round_with_the_database_down_does_nothing_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = Warehouse(f"sqlite:///{tmp_path / 'missing-dir' / 'w.db'}", create_schema=False)  # no tables
    settings = _settings(w)
    runner = JobRunner(settings, w)
    with caplog.at_level("WARNING"):
        assert reap_once(runner, None, settings) == ([], [])
    assert "reaper round failed" in caplog.text
    w.dispose()
