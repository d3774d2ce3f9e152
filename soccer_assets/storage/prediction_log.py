"""Warehouse tables the serving layer writes and the pipeline reads, and the team-state reads.

* ``prediction_log``: every prediction served (sync API, batch or job), with the model version and
  the team-state timestamp it used. A job's log rows are unique per (job, item), so a redelivered
  job message never logs an item twice. Read by the ``live_monitoring`` asset.
* ``live_monitoring``: the latest live-monitoring figures (written by the Dagster asset, read by
  the API's Prometheus collector).
* team-state reads for serving (``team_state_version``, ``team_state_summary``, ``known_teams``).

The job tables (``prediction_jobs``, ``prediction_job_results``) belong to serving alone:
``soccer_serving.jobs.store``, whose ``create_serving_schema`` also calls :func:`create_schema`.

Tables live on the shared ``metadata`` of :mod:`soccer_assets.storage.tables`, so
``Warehouse.create_schema`` creates them too once this module is imported. Plain SQLAlchemy Core;
PostgreSQL in production and tests, SQLite for local runs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite

from soccer_assets.storage.tables import matches, metadata, team_state

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigId = BigInteger().with_variant(Integer(), "sqlite")

prediction_log = Table(
    "prediction_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
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
    # The markets the request asked for, compact ({market: {selection: p}}, line markets
    # {market: {selection: {line: p}}}), and its offered prices with their edge and Kelly stake.
    Column("markets", JSON(none_as_null=True)),
    Column("offers", JSON(none_as_null=True)),
    UniqueConstraint("job_id", "item_index", name="uq_prediction_log_job_item"),
    Index("ix_prediction_log_created_at", "created_at"),
)

# The latest live-monitoring figures (written by the Dagster ``live_monitoring`` asset, read by the
# API's Prometheus collector): one row per gauge sample, replaced as a whole on every run.
live_monitoring = Table(
    "live_monitoring",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("dagster_run_id", String(64)),
    Column("metric", String(64), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("value", Float, nullable=False),
)

PREDICTION_LOG_TABLES = (prediction_log, live_monitoring)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_schema(engine: Engine) -> None:
    """Create the prediction-log tables and the warehouse tables they read, if missing."""
    metadata.create_all(engine, checkfirst=True)
    add_missing_columns(engine)


# Columns added to existing tables after their first release: (table, column, SQL type). There are
# no migrations yet; ``create_all`` never alters an existing table, so these are added here. The
# job results table is serving's (``soccer_serving.jobs.store``), listed here so that the one
# audited ALTER TABLE stays the only one; a table that does not exist yet is skipped.
_JSON = {"postgresql": "JSON", "sqlite": "JSON"}
_ADDED_COLUMNS = (
    ("prediction_log", "features", _JSON),
    ("prediction_log", "markets", _JSON),
    ("prediction_log", "offers", _JSON),
    ("prediction_job_results", "markets", _JSON),
    ("prediction_job_results", "offers", _JSON),
)


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


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: list[str]):
    """INSERT ... ON CONFLICT (keys) DO NOTHING, for PostgreSQL and SQLite."""
    name = conn.dialect.name
    if name == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    elif name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported warehouses
        raise NotImplementedError(f"insert-or-ignore is not implemented for {name}")
    return conn.execute(stmt, list(rows))


def decode_json(value: Any) -> Any:
    """A JSON column's value (SQLite may hand back the text)."""
    return json.loads(value) if isinstance(value, str) else value


# ------------------------------------------------------------------------------ prediction log


def log_predictions(conn: Connection | Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Append served predictions (``prediction_log`` columns except ``id``)."""
    if not rows:
        return 0
    now = utcnow()
    # Every column in every record: an executemany binds the first record's keys for all of them,
    # so a key that only later rows carry (a job's ``job_id``) would be dropped silently.
    names = [c.name for c in prediction_log.c if c.name != "id"]
    records = [{n: r.get(n) for n in names} for r in ({"created_at": now, **row} for row in rows)]
    if isinstance(conn, Engine):
        with conn.begin() as c:
            c.execute(prediction_log.insert(), records)
    else:
        conn.execute(prediction_log.insert(), records)
    return len(records)


def finite_or_none(features: Mapping[str, float]) -> dict[str, float | None]:
    """A feature row as the log stores it: JSON has no NaN or infinity (PostgreSQL refuses them),
    so a missing feature is null."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in features.items()}


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
    now = utcnow()
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
        r["labels"] = decode_json(r["labels"])
    return rows


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
