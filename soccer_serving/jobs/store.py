"""Warehouse tables and functions of the prediction jobs (the API submits, the worker runs).

* ``prediction_jobs``: one row per asynchronous job (status, progress, pinned model versions,
  attempts, the error of a failed job). The API and the worker share nothing else, so a restarted
  API or worker loses nothing.
* ``prediction_job_results``: one row per (job, item). Written with insert-or-ignore in the same
  transaction as the progress update and the item's ``prediction_log`` row: a chunk of results
  lands entirely or not at all, and writing it again is a no-op (exactly-once effect under
  at-least-once delivery).

The two tables live on their own :data:`metadata` (the pipeline never reads them);
:func:`create_serving_schema` creates them together with the tables of
:mod:`soccer_assets.storage.prediction_log` (and the warehouse tables it reads), on an empty
database as on one the pipeline created first. Plain SQLAlchemy Core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.prediction_log import decode_json, insert_ignore, prediction_log
from soccer_assets.storage.prediction_log import utcnow as _now

JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_SUCCEEDED = "succeeded"
JOB_FAILED = "failed"
JOB_STATUSES = (JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED)
FINISHED_STATUSES = (JOB_SUCCEEDED, JOB_FAILED)

# The job tables only (results reference jobs, so both are on this one MetaData).
metadata = MetaData()

prediction_jobs = Table(
    "prediction_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    # What was submitted: {"matches": [...]} or {"league": "E0", "upcoming": true}.
    Column("request", JSON, nullable=False),
    # The matches to predict (the submitted list, or the fixtures found for an upcoming job).
    Column("items", JSON(none_as_null=True)),
    Column("n_items", Integer),
    Column("n_done", Integer, nullable=False, default=0),
    Column("n_item_errors", Integer, nullable=False, default=0),
    # Model versions pinned at the job's first run: {"ratings": {"name":..., "version":...}, ...}.
    Column("models", JSON(none_as_null=True)),
    Column("attempts", Integer, nullable=False, default=0),
    # The worker ("host:pid") that started the latest attempt.
    Column("worker", String(120)),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_prediction_jobs_status", "status"),
)

prediction_job_results = Table(
    "prediction_job_results",
    metadata,
    Column(
        "job_id",
        String(36),
        ForeignKey("prediction_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_index", Integer, primary_key=True),
    Column("ok", Boolean, nullable=False),
    Column("league", String(8)),
    Column("home_team", String(80)),
    Column("away_team", String(80)),
    Column("kickoff", Date),
    Column("p_home", Float),
    Column("p_draw", Float),
    Column("p_away", Float),
    Column("model_name", String(200)),
    Column("model_version", String(32)),
    Column("team_state_as_of", Date),
    Column("error_code", String(40)),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The item's priced markets and offers as the API answers them (null when it asked for none).
    # Added after the first release: an older table gets them from
    # ``prediction_log.add_missing_columns``.
    Column("markets", JSON(none_as_null=True)),
    Column("offers", JSON(none_as_null=True)),
)

JOB_TABLES = (prediction_jobs, prediction_job_results)


def create_serving_schema(engine: Engine) -> None:
    """Create every table serving uses, if missing: the prediction log (and the warehouse tables
    it reads, :func:`soccer_assets.storage.prediction_log.create_schema`), then the job tables."""
    plog.create_schema(engine)
    metadata.create_all(engine, checkfirst=True)


# ------------------------------------------------------------------------------------- jobs


def insert_job(conn: Connection, job_id: str, request: dict[str, Any],
               items: list[dict[str, Any]] | None) -> None:
    """Insert a queued job inside the caller's transaction (the caller enqueues, then commits)."""
    now = _now()
    conn.execute(
        prediction_jobs.insert(),
        {
            "id": job_id,
            "status": JOB_QUEUED,
            "request": request,
            "items": items,
            "n_items": None if items is None else len(items),
            "n_done": 0,
            "n_item_errors": 0,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        },
    )


def get_job(engine: Engine, job_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(prediction_jobs).where(prediction_jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    job = dict(row)
    for k in ("request", "items", "models"):
        job[k] = decode_json(job[k])
    return job


def count_jobs(engine: Engine, job_id: str | None = None) -> int:
    q = select(func.count()).select_from(prediction_jobs)
    if job_id is not None:
        q = q.where(prediction_jobs.c.id == job_id)
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def start_job_attempt(engine: Engine, job_id: str, worker: str | None = None) -> dict[str, Any] | None:
    """Mark a job running and count the attempt; None if it does not exist.

    A finished job is returned unchanged (a redelivered message for it is a no-op).
    """
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            update(prediction_jobs)
            .where(
                prediction_jobs.c.id == job_id,
                prediction_jobs.c.status.notin_(FINISHED_STATUSES),
            )
            .values(
                status=JOB_RUNNING,
                attempts=prediction_jobs.c.attempts + 1,
                worker=worker,
                started_at=func.coalesce(prediction_jobs.c.started_at, now),
                updated_at=now,
            )
        )
    return get_job(engine, job_id)


def set_job_items(engine: Engine, job_id: str, items: list[dict[str, Any]]) -> None:
    """Store the expanded items of a job once (a second writer keeps the first list)."""
    with engine.begin() as conn:
        conn.execute(
            update(prediction_jobs)
            .where(prediction_jobs.c.id == job_id, prediction_jobs.c["items"].is_(None))
            .values(items=items, n_items=len(items), updated_at=_now())
        )


def pin_job_models(engine: Engine, job_id: str, models: dict[str, Any]) -> dict[str, Any]:
    """Pin the model versions of a job once; returns the pinned set (first writer wins)."""
    with engine.begin() as conn:
        conn.execute(
            update(prediction_jobs)
            .where(prediction_jobs.c.id == job_id, prediction_jobs.c.models.is_(None))
            .values(models=models, updated_at=_now())
        )
        pinned = conn.execute(
            select(prediction_jobs.c.models).where(prediction_jobs.c.id == job_id)
        ).scalar_one()
    return decode_json(pinned)


def done_item_indices(engine: Engine, job_id: str) -> set[int]:
    q = select(prediction_job_results.c.item_index).where(prediction_job_results.c.job_id == job_id)
    with engine.connect() as conn:
        return {int(i) for i in conn.execute(q).scalars()}


def write_job_results(
    engine: Engine,
    job_id: str,
    results: Sequence[dict[str, Any]],
    log_rows: Sequence[dict[str, Any]],
) -> int:
    """Write a chunk of item results, their log rows and the progress in one transaction.

    Results already present (a redelivered message) are skipped, and so are their log rows:
    the effect of processing an item is exactly once however often it is delivered.
    Returns the number of results newly written.
    """
    if not results:
        return 0
    now = _now()
    with engine.begin() as conn:
        res = insert_ignore(
            conn,
            prediction_job_results,
            [{"job_id": job_id, "created_at": now, **r} for r in results],
            ["job_id", "item_index"],
        )
        written = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(results)
        if log_rows:
            insert_ignore(
                conn,
                prediction_log,
                [{"created_at": now, "job_id": job_id, **r} for r in log_rows],
                ["job_id", "item_index"],
            )
        _refresh_progress(conn, job_id)
    return int(written)


def _refresh_progress(conn: Connection, job_id: str) -> None:
    r = prediction_job_results
    done = select(func.count()).where(r.c.job_id == job_id).scalar_subquery()
    errors = select(func.count()).where(r.c.job_id == job_id, r.c.ok.is_(False)).scalar_subquery()
    conn.execute(
        update(prediction_jobs)
        .where(prediction_jobs.c.id == job_id)
        .values(n_done=done, n_item_errors=errors, updated_at=_now())
    )


def finish_job(engine: Engine, job_id: str, status: str, error: str | None = None) -> None:
    """Final status (succeeded or failed). A job already finished keeps its first outcome."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"finish_job takes {FINISHED_STATUSES}, got {status!r}")
    now = _now()
    with engine.begin() as conn:
        _refresh_progress(conn, job_id)
        conn.execute(
            update(prediction_jobs)
            .where(prediction_jobs.c.id == job_id, prediction_jobs.c.status.notin_(FINISHED_STATUSES))
            .values(status=status, error=error, finished_at=now, updated_at=now)
        )


def reap_stale_jobs(engine: Engine, *, stale_seconds: float, max_attempts: int
                    ) -> tuple[list[str], list[str]]:
    """Running jobs whose row has not moved for ``stale_seconds`` (the worker's heartbeat: every
    attempt start and every chunk of results updates it). Returns (requeued, failed) job ids.

    A job on its last attempt is finished as failed: its worker died, or the attempt could not
    record its end (the database was down when it failed). Any other stale job is set back to
    ``queued`` for the caller to send again (a duplicate delivery is harmless: results are written
    once per item and a finished job ignores its messages). Safe to run from several processes: each
    job moves once, by a conditional update.
    """
    cutoff = _now() - dt.timedelta(seconds=stale_seconds)
    requeued: list[str] = []
    failed: list[str] = []
    with engine.begin() as conn:
        rows = conn.execute(
            select(prediction_jobs.c.id, prediction_jobs.c.attempts, prediction_jobs.c.error)
            .where(prediction_jobs.c.status == JOB_RUNNING, prediction_jobs.c.updated_at < cutoff)
        ).all()
    for job_id, attempts, error in rows:
        stale = (prediction_jobs.c.id == job_id, prediction_jobs.c.status == JOB_RUNNING,
                 prediction_jobs.c.updated_at < cutoff)
        now = _now()
        with engine.begin() as conn:
            if int(attempts) >= max_attempts:
                reason = (f"attempt {attempts} of {max_attempts} stopped without recording its end "
                          f"(no progress for {stale_seconds:.0f} s); finished by the reaper"
                          + (f"; last recorded error: {error}" if error else ""))
                n = conn.execute(update(prediction_jobs).where(*stale).values(
                    status=JOB_FAILED, error=reason, finished_at=now, updated_at=now)).rowcount
                (failed if n else []).append(job_id)
            else:
                n = conn.execute(update(prediction_jobs).where(*stale).values(
                    status=JOB_QUEUED, updated_at=now)).rowcount
                (requeued if n else []).append(job_id)
    return requeued, failed


def record_job_error(engine: Engine, job_id: str, error: str) -> None:
    """Remember the error of a failed attempt (the job will be retried)."""
    with engine.begin() as conn:
        conn.execute(
            update(prediction_jobs)
            .where(prediction_jobs.c.id == job_id, prediction_jobs.c.status.notin_(FINISHED_STATUSES))
            .values(error=error, updated_at=_now())
        )


def read_job_results(
    engine: Engine, job_id: str, *, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    q = (
        select(prediction_job_results)
        .where(prediction_job_results.c.job_id == job_id)
        .order_by(prediction_job_results.c.item_index)
        .offset(offset)
    )
    if limit is not None:
        q = q.limit(limit)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    for r in rows:
        for k in ("markets", "offers"):
            r[k] = decode_json(r[k])
    return rows


def job_status_counts(engine: Engine) -> dict[str, int]:
    q = select(prediction_jobs.c.status, func.count()).group_by(prediction_jobs.c.status)
    with engine.connect() as conn:
        found = {str(s): int(n) for s, n in conn.execute(q)}
    return {s: found.get(s, 0) for s in JOB_STATUSES}


def job_duration_stats(engine: Engine) -> dict[str, tuple[int, float]]:
    """(count, total seconds from first start to finish) of finished jobs, by final status."""
    j = prediction_jobs
    started = func.coalesce(j.c.started_at, j.c.created_at)
    if engine.dialect.name == "postgresql":
        seconds = func.extract("epoch", j.c.finished_at - started)
    else:
        seconds = (func.julianday(j.c.finished_at) - func.julianday(started)) * 86400.0
    q = (
        select(j.c.status, func.count(), func.coalesce(func.sum(seconds), 0.0))
        .where(j.c.status.in_(FINISHED_STATUSES), j.c.finished_at.is_not(None))
        .group_by(j.c.status)
    )
    with engine.connect() as conn:
        found = {str(s): (int(n), float(t)) for s, n, t in conn.execute(q)}
    return {s: found.get(s, (0, 0.0)) for s in FINISHED_STATUSES}


def delete_jobs(engine: Engine, job_ids: Iterable[str]) -> None:
    """Remove jobs and their results (maintenance and tests)."""
    ids = list(job_ids)
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(prediction_job_results.delete().where(prediction_job_results.c.job_id.in_(ids)))
        conn.execute(prediction_jobs.delete().where(prediction_jobs.c.id.in_(ids)))
