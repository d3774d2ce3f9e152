"""The worker side of the prediction jobs: one job attempt (:class:`JobRunner`) and the actor body.

State and results are in the warehouse (:mod:`soccer_serving.jobs.store`); the broker is
:mod:`soccer_serving.jobs.broker`.

Delivery is at-least-once (a message is acknowledged only after the actor returns; a killed
worker's messages are requeued by the broker's maintenance once its heartbeat is older than
``SOCCER_BROKER_HEARTBEAT_TIMEOUT_MS``). The effect is exactly-once: results are keyed by
(job, item) and written with insert-or-ignore together with their log rows and the progress, one
chunk per transaction, and a redelivered job skips the items already written.

A job attempt that raises is retried with backoff up to ``SOCCER_JOB_MAX_RETRIES`` times; the last
failure marks the job ``failed`` with the error. Retries go through Dramatiq's delay queue, so a
poison job never blocks the jobs behind it. Per-match problems (unknown team, kick-off before the
team state) are item results with an error, not job failures.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from pydantic import ValidationError
from sqlalchemy import Engine

from soccer_assets.core.names import VARIANTS
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.fixtures import upcoming_items
from soccer_serving.jobs import store
from soccer_serving.metrics import WorkerMetrics
from soccer_serving.predictor import (
    InvalidMatch,
    MatchQuery,
    Prediction,
    PredictionError,
    Predictor,
    match_query,
)
from soccer_serving.registry import LoadedModel, ModelUnavailable, RegistryClient, short_error
from soccer_serving.schemas import MatchRequest
from soccer_serving.settings import ServingSettings
from soccer_serving.team_states import TeamStateStore

logger = logging.getLogger("soccer_serving.jobs")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class JobNotFound(LookupError):
    """The message names a job that has no row (yet): retried briefly, then dropped."""


def query_from_item(item: dict[str, Any]) -> MatchQuery:
    """A stored job item → ``MatchQuery`` (validated like an API request)."""
    m = MatchRequest.model_validate(item)
    return match_query(m)


class JobRunner:
    """Runs one job attempt in the worker (pure warehouse + model work, no broker calls)."""

    def __init__(self, settings: ServingSettings, warehouse: Warehouse,
                 registry: RegistryClient | None = None, metrics: WorkerMetrics | None = None):
        self.settings = settings
        self.warehouse = warehouse
        self.registry = registry or RegistryClient(settings)
        self.metrics = metrics or WorkerMetrics()
        self.predictor = Predictor.from_settings(
            TeamStateStore(warehouse, settings.team_state_ttl_seconds), settings)
        self._models: dict[tuple[str, str], LoadedModel] = {}
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self.warehouse.engine

    # -- models --------------------------------------------------------------------------
    def _pin_models(self, job: dict[str, Any]) -> dict[str, Any]:
        if job.get("models"):
            return job["models"]
        names = self.settings.model_names()
        pinned: dict[str, Any] = {}
        for variant in VARIANTS:
            version = self.registry.alias_version(names[variant], self.settings.model_alias)
            if version is not None:
                pinned[variant] = {"name": names[variant], "version": version}
        if not pinned:
            raise ModelUnavailable(
                f"no model has the alias {self.settings.model_alias!r} "
                f"({', '.join(names.values())})"
            )
        return store.pin_job_models(self.engine, job["id"], pinned)

    def _model(self, variant: str, name: str, version: str) -> LoadedModel:
        key = (name, str(version))
        with self._lock:
            m = self._models.get(key)
            if m is None:
                m = self.registry.load(variant, name, str(version), None)
                self._models[key] = m
            return m

    # -- one attempt ---------------------------------------------------------------------
    def run(self, job_id: str) -> str:
        """Process a job to the end; returns its final status. Raises to ask for a retry."""
        job = store.start_job_attempt(self.engine, job_id, worker=WORKER_ID)
        if job is None:
            raise JobNotFound(f"job {job_id} does not exist")
        if job["status"] in store.FINISHED_STATUSES:
            return str(job["status"])
        # Dramatiq's retry count only sees raised exceptions; a worker killed mid-job (OOM, SIGKILL,
        # a crash in native code) gets its message redelivered with the count unchanged. The job
        # row counts every delivery, so the bound holds whatever ended the earlier attempts.
        limit = self.settings.job_max_retries + 1
        if int(job["attempts"]) > limit:
            error = (f"gave up after {limit} attempts: attempt {job['attempts'] - 1} and earlier ended "
                     "without recording an outcome (the worker was killed or crashed)"
                     + (f"; last recorded error: {job['error']}" if job.get("error") else ""))
            logger.error("job %s failed: %s", job_id, error)
            store.finish_job(self.engine, job_id, store.JOB_FAILED, error)
            return store.JOB_FAILED
        items = job["items"]
        from_fixtures = items is None or bool((job["request"] or {}).get("upcoming"))
        if items is None:
            req = job["request"] or {}
            if not (isinstance(req, dict) and req.get("upcoming") and req.get("league")):
                raise ValueError("job has neither matches nor an upcoming-fixtures request")
            # The fixtures the pipeline stored (asset `fixtures`); none loaded yet raises (retried).
            store.set_job_items(self.engine, job_id, upcoming_items(self.warehouse, str(req["league"])))
            items = store.get_job(self.engine, job_id)["items"]  # type: ignore[index]
        if not isinstance(items, list):
            raise ValueError(f"job items are a {type(items).__name__}, not a list")
        # A client's items were validated by the API: one that is not is a corrupt job (it fails,
        # after its retries). Fixtures come from the site: a bad row (odds above the API's limit, a
        # missing team) is that item's error and the other fixtures are still predicted.
        queries: list[MatchQuery | None] = []
        invalid: dict[int, tuple[MatchQuery, InvalidMatch]] = {}
        for i, it in enumerate(items):
            try:
                queries.append(query_from_item(it))
            except ValidationError as exc:
                if not from_fixtures:
                    raise ValueError(f"job items are invalid: {exc.error_count()} error(s): "
                                     f"{short_error(exc, 200)}") from None
                queries.append(None)
                invalid[i] = (_raw_query(it), InvalidMatch(f"invalid fixture: {_first_error(exc)}"))
        pinned = self._pin_models(job)
        models = {v: self._model(v, p["name"], p["version"]) for v, p in pinned.items()}
        done = store.done_item_indices(self.engine, job_id)
        pending = [i for i in range(len(queries)) if i not in done]
        size = self.settings.job_chunk_size
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            if self.settings.job_item_delay_seconds:
                time.sleep(self.settings.job_item_delay_seconds * len(chunk))
            valid = [i for i in chunk if i not in invalid]
            batch = [q for i in valid if (q := queries[i]) is not None]
            predicted = dict(zip(valid, self.predictor.predict(batch, models), strict=True))
            rows, logs = [], []
            for i in chunk:
                q, res = invalid[i] if i in invalid else (queries[i], predicted[i])
                rows.append(result_row(i, q, res))  # type: ignore[arg-type]  # q is set for valid items
                if isinstance(res, Prediction):
                    logs.append({**res.log_row(), "source": "job", "item_index": i})
            written = store.write_job_results(self.engine, job_id, rows, logs)
            n_err = sum(1 for r in rows if not r["ok"])
            self.metrics.items.labels("ok").inc(max(0, written - n_err))
            self.metrics.items.labels("error").inc(min(n_err, written))
        store.finish_job(self.engine, job_id, store.JOB_SUCCEEDED)
        return store.JOB_SUCCEEDED


def _raw_query(item: Any) -> MatchQuery:
    """What can be read of an item that does not validate (for its error row)."""
    d = item if isinstance(item, dict) else {}
    return MatchQuery(str(d.get("league", ""))[:8], str(d.get("home_team", ""))[:80],
                      str(d.get("away_team", ""))[:80])


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(x) for x in e.get("loc", ()))
    return f"{where}: {e.get('msg', 'invalid')}" + (f" (and {exc.error_count() - 1} more)"
                                                     if exc.error_count() > 1 else "")


def result_row(index: int, q: MatchQuery, res: Prediction | PredictionError) -> dict[str, Any]:
    if isinstance(res, Prediction):
        return {
            "item_index": index,
            "ok": True,
            "league": res.league,
            "home_team": res.home_team,
            "away_team": res.away_team,
            "kickoff": res.kickoff,
            "p_home": res.p_home,
            "p_draw": res.p_draw,
            "p_away": res.p_away,
            "model_name": res.model.name,
            "model_version": res.model.version,
            "team_state_as_of": res.team_state_as_of,
            "error_code": None,
            "error": None,
            "markets": res.markets,
            "offers": res.offers,
        }
    return {
        "item_index": index,
        "ok": False,
        "league": q.league,
        "home_team": q.home_team[:80],
        "away_team": q.away_team[:80],
        "kickoff": q.kickoff,
        "p_home": None,
        "p_draw": None,
        "p_away": None,
        "model_name": None,
        "model_version": None,
        "team_state_as_of": None,
        "error_code": res.code,
        "error": res.message,
        "markets": None,
        "offers": None,
    }


def make_actor_fn(runner: JobRunner, settings: ServingSettings) -> Callable[[str], None]:
    """The actor body: run, record the error of a failed attempt, fail the job on the last one."""

    def soccer_prediction_job(job_id: str) -> None:
        msg = CurrentMessage.get_current_message()
        retries = int(msg.options.get("retries", 0)) if msg is not None else 0
        final = retries >= settings.job_max_retries
        started = time.monotonic()
        try:
            status = runner.run(job_id)
        except JobNotFound:
            if final:
                logger.error("dropping message for job %s: no such job", job_id)
                return
            raise
        except (Exception, TimeLimitExceeded) as exc:
            error = f"attempt {retries + 1} of {settings.job_max_retries + 1}: {short_error(exc, 500)}"
            elapsed = time.monotonic() - started
            if final:
                logger.error("job %s failed: %s", job_id, error)
                store.finish_job(runner.engine, job_id, store.JOB_FAILED, error)
                runner.metrics.jobs.labels("failed").inc()
                runner.metrics.duration.labels("failed").observe(elapsed)
                return
            logger.warning("job %s attempt failed, will retry: %s", job_id, error)
            store.record_job_error(runner.engine, job_id, error)
            runner.metrics.jobs.labels("retry").inc()
            runner.metrics.duration.labels("retry").observe(elapsed)
            raise
        runner.metrics.jobs.labels(status).inc()
        runner.metrics.duration.labels(status).observe(time.monotonic() - started)

    return soccer_prediction_job


def reap_forever(runner: JobRunner, actor: Any, settings: ServingSettings, stop: threading.Event) -> None:
    """Every ``job_reaper_interval_seconds`` until ``stop``: stale running jobs back to the queue
    (sent again through ``actor``), or failed on their last attempt
    (:func:`soccer_serving.jobs.store.reap_stale_jobs`). Never raises: a round that meets a dead
    database or Redis is tried again at the next one."""
    while not stop.wait(settings.job_reaper_interval_seconds):
        reap_once(runner, actor, settings)


def reap_once(runner: JobRunner, actor: Any, settings: ServingSettings) -> tuple[list[str], list[str]]:
    try:
        requeued, failed = store.reap_stale_jobs(runner.engine, stale_seconds=settings.job_stale_seconds,
                                                 max_attempts=settings.job_max_retries + 1)
        for job_id in requeued:
            actor.send(job_id)
    except Exception as exc:
        logger.warning("reaper round failed: %s", short_error(exc))
        return [], []
    runner.metrics.jobs.labels("failed").inc(len(failed))
    if requeued or failed:
        logger.warning("reaper: %d stale job(s) queued again, %d failed", len(requeued), len(failed))
    return requeued, failed
