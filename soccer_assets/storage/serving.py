"""Warehouse tables and read/write functions of the serving layer (``soccer_serving``).

* ``prediction_log``: every prediction served (sync API, batch or job), with the model version and
  the team-state timestamp it used. A job's log rows are unique per (job, item), so a redelivered
  job message never logs an item twice.
* ``prediction_jobs``: one row per asynchronous job (status, progress, pinned model versions,
  attempts, the error of a failed job). The API and the worker share nothing else, so a restarted
  API or worker loses nothing.
* ``prediction_job_results``: one row per (job, item). Written with insert-or-ignore in the same
  transaction as the progress update: a chunk of results lands entirely or not at all, and
  writing it again is a no-op (exactly-once effect under at-least-once delivery).

Tables live on the shared ``metadata`` of :mod:`soccer_assets.storage.tables`, so
``Warehouse.create_schema`` creates them too once this module is imported. Plain SQLAlchemy Core;
PostgreSQL in production and tests, SQLite for local runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from soccer_assets.storage.tables import matches, metadata, team_state

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_SUCCEEDED = "succeeded"
JOB_FAILED = "failed"
JOB_STATUSES = (JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED)
FINISHED_STATUSES = (JOB_SUCCEEDED, JOB_FAILED)

prediction_log = Table(
    "prediction_log",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(64)),
    Column("source", String(16), nullable=False),  # api | batch | job
    Column("job_id", String(36)),
    Column("item_index", Integer),
    Column("league", String(8), nullable=False),
    Column("season", String(7), nullable=False),
    Column("home_team", String(80), nullable=False),
    Column("away_team", String(80), nullable=False),
    Column("kickoff", Date, nullable=False),
    Column("odds_home", Float),
    Column("odds_draw", Float),
    Column("odds_away", Float),
    Column("p_home", Float, nullable=False),
    Column("p_draw", Float, nullable=False),
    Column("p_away", Float, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("model_alias", String(64)),
    Column("team_state_as_of", Date),
    Column("team_state_updated_at", DateTime(timezone=True)),
    # The model's input features of the request ({name: value}, NaN as null), for drift monitoring.
    Column("features", JSON(none_as_null=True)),
    UniqueConstraint("job_id", "item_index", name="uq_prediction_log_job_item"),
    Index("ix_prediction_log_created_at", "created_at"),
)

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
)

# The latest live-monitoring figures (written by the Dagster ``live_monitoring`` asset, read by the
# API's Prometheus collector): one row per gauge sample, replaced as a whole on every run.
live_monitoring = Table(
    "live_monitoring",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("dagster_run_id", String(64)),
    Column("metric", String(64), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("value", Float, nullable=False),
)

SERVING_TABLES = (prediction_log, prediction_jobs, prediction_job_results, live_monitoring)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_serving_schema(engine: Engine) -> None:
    """Create the serving tables and the warehouse tables they read, if missing."""
    metadata.create_all(engine, checkfirst=True)
    add_missing_columns(engine)


# Columns added to existing tables after their first release: (table, column, SQL type). There are
# no migrations yet; ``create_all`` never alters an existing table, so these are added here.
_ADDED_COLUMNS = (("prediction_log", "features", {"postgresql": "JSON", "sqlite": "JSON"}),)


def add_missing_columns(engine: Engine) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for every column of :data:`_ADDED_COLUMNS` a table lacks.

    A warehouse created before the column existed keeps working; returns the columns added.
    """
    from sqlalchemy import inspect, text

    added = []
    dialect = engine.dialect.name
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table, column, types in _ADDED_COLUMNS:
            if not inspector.has_table(table):
                continue
            if column in {c["name"] for c in inspector.get_columns(table)}:
                continue
            # DDL takes no bound parameters: the names come from _ADDED_COLUMNS and are quoted.
            quote = conn.dialect.identifier_preparer.quote
            ddl = f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {types.get(dialect, 'TEXT')}"
            conn.execute(text(ddl))
            added.append(f"{table}.{column}")
    return added


def _insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: list[str]):
    """INSERT ... ON CONFLICT (keys) DO NOTHING, for PostgreSQL and SQLite."""
    name = conn.dialect.name
    if name == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    elif name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported warehouses
        raise NotImplementedError(f"insert-or-ignore is not implemented for {name}")
    return conn.execute(stmt, list(rows))


# ------------------------------------------------------------------------------ prediction log


def log_predictions(conn: Connection | Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Append served predictions (``prediction_log`` columns except ``id``)."""
    if not rows:
        return 0
    now = _now()
    records = [{"created_at": now, **r} for r in rows]
    if isinstance(conn, Engine):
        with conn.begin() as c:
            c.execute(prediction_log.insert(), records)
    else:
        conn.execute(prediction_log.insert(), records)
    return len(records)


def count_predictions(engine: Engine, *, job_id: str | None = None) -> int:
    q = select(func.count()).select_from(prediction_log)
    if job_id is not None:
        q = q.where(prediction_log.c.job_id == job_id)
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def read_prediction_log(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    q = select(prediction_log).order_by(prediction_log.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def read_prediction_log_rows(
    engine: Engine, *, columns: Sequence[str] | None = None, min_id: int | None = None
) -> list[dict[str, Any]]:
    """Prediction-log rows (all, or those with ``id >= min_id``), oldest first, as dicts."""
    cols = [prediction_log.c[c] for c in columns] if columns else list(prediction_log.c)
    q = select(*cols).order_by(prediction_log.c.id)
    if min_id is not None:
        q = q.where(prediction_log.c.id >= min_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def max_prediction_log_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(prediction_log.c.id), 0))).scalar_one())


# ----------------------------------------------------------------------------- live monitoring


def replace_live_monitoring(engine: Engine, rows: Sequence[dict[str, Any]], run_id: str | None = None) -> int:
    """Replace every live-monitoring figure in one transaction (rows: metric, labels, value)."""
    now = _now()
    records = [{"computed_at": now, "dagster_run_id": run_id, "metric": r["metric"],
                "labels": dict(r["labels"]), "value": float(r["value"])} for r in rows]
    with engine.begin() as conn:
        conn.execute(live_monitoring.delete())
        if records:
            conn.execute(live_monitoring.insert(), records)
    return len(records)


def read_live_monitoring(engine: Engine) -> list[dict[str, Any]]:
    """The latest live-monitoring figures: metric, labels (dict), value, computed_at."""
    q = select(live_monitoring.c.metric, live_monitoring.c.labels, live_monitoring.c.value,
               live_monitoring.c.computed_at).order_by(live_monitoring.c.id)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    for r in rows:
        r["labels"] = _decode_json(r["labels"])
    return rows


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


def _decode_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def get_job(engine: Engine, job_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(prediction_jobs).where(prediction_jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    job = dict(row)
    for k in ("request", "items", "models"):
        job[k] = _decode_json(job[k])
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
    return _decode_json(pinned)


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
        res = _insert_ignore(
            conn,
            prediction_job_results,
            [{"job_id": job_id, "created_at": now, **r} for r in results],
            ["job_id", "item_index"],
        )
        written = res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(results)
        if log_rows:
            _insert_ignore(
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
        return [dict(r) for r in conn.execute(q).mappings()]


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


# ------------------------------------------------------------------------------- team state


def team_state_version(conn: Connection | Engine, league: str) -> tuple[Any, ...]:
    """A cheap change token of a league's team states: (rows, max updated_at, max as_of)."""
    q = select(func.count(), func.max(team_state.c.updated_at), func.max(team_state.c.as_of)).where(
        team_state.c.league == league
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            row = c.execute(q).one()
    else:
        row = conn.execute(q).one()
    return tuple(row)


def team_state_summary(engine: Engine) -> list[dict[str, Any]]:
    """Per league: teams, as_of, updated_at and feature-params hashes (for /ready and metrics)."""
    t = team_state
    q = (
        select(
            t.c.league,
            func.count().label("teams"),
            func.min(t.c.as_of).label("as_of"),
            func.max(t.c.updated_at).label("updated_at"),
            func.min(t.c.feature_params_hash).label("hash_min"),
            func.max(t.c.feature_params_hash).label("hash_max"),
        )
        .group_by(t.c.league)
        .order_by(t.c.league)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def known_teams(engine: Engine) -> set[str]:
    """Every team name the warehouse knows: in any league's team state or in any stored match."""
    q = union(
        select(team_state.c.team.label("team")),
        select(matches.c.home_team.label("team")),
        select(matches.c.away_team.label("team")),
    )
    with engine.connect() as conn:
        return {str(t) for t in conn.execute(q).scalars()}


def delete_jobs(engine: Engine, job_ids: Iterable[str]) -> None:
    """Remove jobs and their results (maintenance and tests)."""
    ids = list(job_ids)
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(prediction_job_results.delete().where(prediction_job_results.c.job_id.in_(ids)))
        conn.execute(prediction_jobs.delete().where(prediction_jobs.c.id.in_(ids)))
