"""Read/write API of the match warehouse.

PostgreSQL in production and tests, SQLite as the embedded default. Every write of a partition
is one transaction that deletes and re-inserts that league-season, so a re-run never duplicates
rows and a failure half-way leaves the previous rows in place. A write whose connection is lost
(server restart, ``pg_terminate_backend``, network drop) or that loses a serialization/deadlock race
is rolled back by the server and run again, a bounded number of times, on a fresh connection: the
delete + insert is idempotent, so a retry cannot duplicate rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, STAT_COLUMNS
from soccer_assets.storage import partition_locks, tables
from soccer_assets.storage.partition_locks import PartitionBusyError

__all__ = ["PartitionBusyError", "Warehouse", "is_transient", "make_engine"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs after which the whole transaction can simply be run again: serialization failure,
# deadlock, and the server shutting the session down (admin command, crash, restart in progress).
_RETRYABLE_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03"}


def is_transient(exc: BaseException) -> bool:
    """True for a database error that a fresh attempt of the same transaction may not hit:
    a lost connection (SQLAlchemy invalidated it), a connection exception (SQLSTATE class 08),
    a serialization failure/deadlock, or an administrator/crash shutdown of the session."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return bool(sqlstate) and (sqlstate in _RETRYABLE_SQLSTATES or str(sqlstate).startswith("08"))


def make_engine(url: str) -> Engine:
    """Engine for a warehouse URL; ``postgresql://`` is read as psycopg 3 (installed)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["pool_pre_ping"] = True
    elif parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_wal)
        return engine
    return create_engine(parsed, **kwargs)


def _sqlite_wal(dbapi_conn: Any, _record: Any) -> None:
    """A file-backed SQLite warehouse in WAL mode: readers (the API's team-state reads, the
    pipeline) never block the prediction log's writer and a commit appends to the log instead of
    rewriting pages. ``synchronous=NORMAL`` is WAL's documented pairing: a commit survives a crash
    of the process (the OS has the bytes); only a power cut can lose the last commits.
    ``busy_timeout``: a second writer waits for the lock instead of failing at once."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
    finally:
        cur.close()


def _none_if_nan(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


_ROW_COLUMNS = [
    "match_id",
    "league",
    "season",
    "home_team",
    "away_team",
    "ftr",
    "htr",
    "referee",
    *STAT_COLUMNS.values(),
    *CORE_ODDS_COLUMNS,
    "extra",
]


def match_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical match frame -> rows for the ``matches`` table."""
    other_odds = [c for c in df.columns if c.startswith("odds_") and c not in CORE_ODDS_COLUMNS]
    records: list[dict[str, Any]] = []
    for r in df.to_dict("records"):
        rec = {c: _none_if_nan(r[c]) for c in _ROW_COLUMNS}
        rec["date"] = r["date"].date()
        rec["kickoff"] = r["kickoff"].to_pydatetime()
        rec["kickoff_time_known"] = bool(r["kickoff_time_known"])
        for c in ("fthg", "ftag", "hthg", "htag"):
            v = _none_if_nan(r[c])
            rec[c] = None if v is None else int(v)
        rec["odds_other"] = {c: float(r[c]) for c in other_odds if _none_if_nan(r[c]) is not None}
        records.append(rec)
    return records


_FIXTURE_COLUMNS = ["match_id", "league", "season", "home_team", "away_team", *CORE_ODDS_COLUMNS, "extra"]


def fixture_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical fixture frame (``soccer_assets.sources.fixtures``) -> rows for ``fixtures``."""
    other_odds = [c for c in df.columns if c.startswith("odds_") and c not in CORE_ODDS_COLUMNS]
    records: list[dict[str, Any]] = []
    for r in df.to_dict("records"):
        rec = {c: _none_if_nan(r.get(c)) for c in _FIXTURE_COLUMNS}
        rec["date"] = pd.Timestamp(r["date"]).date()
        rec["kickoff"] = pd.Timestamp(r["kickoff"]).to_pydatetime()
        rec["kickoff_time_known"] = bool(r["kickoff_time_known"])
        rec["odds_other"] = {c: float(r[c]) for c in other_odds if _none_if_nan(r[c]) is not None}
        records.append(rec)
    return records


class Warehouse:
    def __init__(self, url: str, *, create_schema: bool = True, write_attempts: int = 3,
                 retry_backoff_seconds: float = 0.5):
        if write_attempts < 1:
            raise ValueError("write_attempts must be >= 1")
        self.url = url
        self.engine = make_engine(url)
        self.write_attempts = write_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        if create_schema:
            self.create_schema()

    def _transaction(self, what: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction; on a transient error (see ``is_transient``) the server
        has rolled it back, so run it again on a fresh connection, at most ``write_attempts``
        times in all. Any other error, or the last attempt's, propagates (nothing was committed)."""
        for attempt in range(1, self.write_attempts + 1):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if attempt >= self.write_attempts or not is_transient(exc):
                    raise
                # Never log the exception's statement parameters (row data); the class and the
                # driver message are enough to see why.
                logger.warning("%s: transient database error on attempt %d of %d, retrying: %s",
                               what, attempt, self.write_attempts, type(exc.orig).__name__)
                time.sleep(self.retry_backoff_seconds * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_schema(self) -> None:
        tables.metadata.create_all(self.engine, checkfirst=True)

    def replace_partition(
        self,
        league: str,
        season: str,
        df: pd.DataFrame,
        *,
        source_sha256: str,
        run_id: str | None = None,
    ) -> int:
        """Atomically replace one league-season; returns the number of rows written."""
        return self.replace_partitions([(league, season, df, source_sha256)], run_id=run_id)[
            (league, season)
        ]

    def replace_partitions(
        self,
        parts: list[tuple[str, str, pd.DataFrame, str]],
        *,
        run_id: str | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> dict[tuple[str, str], int]:
        """Replace several league-seasons ``(league, season, frame, source_sha256)`` in ONE
        transaction: all of them or none. ``before_commit`` runs last inside the transaction (the
        caller installs the partitions' Parquet files there), so an error in it rolls the rows back.
        Returns the rows written per (league, season)."""
        batches = []
        for league, season, df, sha in parts:
            if len(df) and (set(df["league"]) != {league} or set(df["season"]) != {season}):
                raise ValueError(f"frame holds rows outside partition {league}|{season}")
            batches.append((league, season, match_records(df), sha))

        def write(conn: Connection) -> dict[tuple[str, str], int]:
            now = dt.datetime.now(dt.UTC)
            written = {}
            for league, season, records, sha in batches:
                conn.execute(
                    delete(tables.matches).where(
                        tables.matches.c.league == league, tables.matches.c.season == season
                    )
                )
                if records:
                    conn.execute(tables.matches.insert(), records)
                conn.execute(
                    delete(tables.partition_loads).where(
                        tables.partition_loads.c.league == league,
                        tables.partition_loads.c.season == season,
                    )
                )
                conn.execute(
                    tables.partition_loads.insert(),
                    {"league": league, "season": season, "row_count": len(records),
                     "source_sha256": sha, "loaded_at": now, "dagster_run_id": run_id},
                )
                written[(league, season)] = len(records)
            if before_commit is not None:
                before_commit()
            return written

        what = ", ".join(f"{lg}|{se}" for lg, se, _r, _s in batches[:3]) + ("…" if len(batches) > 3 else "")
        return self._transaction(f"replace {what}", write)

    # -- one writer per partition (soccer_assets.storage.partition_locks) -----------------------
    def partition_locks(self, asset: str, partitions: Iterable[tuple[str, str]], holder: str,
                        **options: Any) -> AbstractContextManager[None]:
        """See :func:`soccer_assets.storage.partition_locks.hold`."""
        return partition_locks.hold(self, asset, partitions, holder, **options)

    def partition_lock_holders(self, asset: str | None = None) -> dict[tuple[str, str, str], str]:
        """Who holds which partition lock now: ``{(asset, league, season): holder}``."""
        return partition_locks.holders(self, asset)

    def count_matches(self, league: str | None = None, season: str | None = None) -> int:
        q = select(func.count()).select_from(tables.matches)
        if league:
            q = q.where(tables.matches.c.league == league)
        if season:
            q = q.where(tables.matches.c.season == season)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def read_matches(
        self, leagues: Iterable[str] | None = None, seasons: Iterable[str] | None = None
    ) -> pd.DataFrame:
        q = select(tables.matches).order_by(tables.matches.c.kickoff, tables.matches.c.home_team)
        if leagues is not None:
            q = q.where(tables.matches.c.league.in_(list(leagues)))
        if seasons is not None:
            q = q.where(tables.matches.c.season.in_(list(seasons)))
        with self.engine.connect() as conn:
            df = pd.read_sql(q, conn)
        if len(df):
            df["date"] = pd.to_datetime(df["date"])
            df["kickoff"] = pd.to_datetime(df["kickoff"])
            df["odds_other"] = df["odds_other"].map(
                lambda v: json.loads(v) if isinstance(v, str) else v
            )
        return df

    def last_match_dates(self) -> dict[str, dt.date]:
        """Each league's latest stored match date."""
        t = tables.matches
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.league, func.max(t.c.date)).group_by(t.c.league)).all()
        return {str(lg): (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]))
                for lg, d in rows if d is not None}

    def partition_load(self, league: str, season: str) -> dict[str, Any] | None:
        q = select(tables.partition_loads).where(
            tables.partition_loads.c.league == league, tables.partition_loads.c.season == season
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return dict(row) if row else None

    def replace_team_state(
        self, league: str, rows: list[dict[str, Any]], *, as_of: dt.date, feature_params_hash: str
    ) -> int:
        """Atomically replace a league's team states (rows: team, season, state, last_match_date)."""
        now = dt.datetime.now(dt.UTC)
        records = [
            {
                "league": league,
                "team": r["team"],
                "season": r["season"],
                "state": r["state"],
                "last_match_date": r.get("last_match_date"),
                "as_of": as_of,
                "feature_params_hash": feature_params_hash,
                "updated_at": now,
            }
            for r in rows
        ]

        def write(conn: Connection) -> int:
            conn.execute(delete(tables.team_state).where(tables.team_state.c.league == league))
            if records:
                conn.execute(tables.team_state.insert(), records)
            return len(records)

        return self._transaction(f"replace team_state {league}", write)

    def read_team_state(self, league: str | None = None) -> list[dict[str, Any]]:
        q = select(tables.team_state).order_by(tables.team_state.c.league, tables.team_state.c.team)
        if league is not None:
            q = q.where(tables.team_state.c.league == league)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
        for r in rows:
            if isinstance(r["state"], str):
                r["state"] = json.loads(r["state"])
        return rows

    # -- fixtures (``fixtures.csv``) -----------------------------------------------------
    def replace_fixtures(self, df: pd.DataFrame, *, source_sha256: str, run_id: str | None = None) -> int:
        """Atomically replace every stored fixture by ``df`` (``sources.fixtures`` frame).

        The file lists the next round only, so the whole table is one unit: a reader sees the old
        round or the new one, never a mix. Returns the number of rows written.
        """
        records = fixture_records(df)

        def write(conn: Connection) -> int:
            conn.execute(delete(tables.fixtures))
            if records:
                conn.execute(tables.fixtures.insert(), records)
            conn.execute(delete(tables.fixture_loads))
            conn.execute(tables.fixture_loads.insert(), {
                "id": 1, "row_count": len(records), "source_sha256": source_sha256,
                "loaded_at": dt.datetime.now(dt.UTC), "dagster_run_id": run_id,
            })
            return len(records)

        return self._transaction("replace fixtures", write)

    def read_fixtures(self, leagues: Iterable[str] | None = None, *, date_from: dt.date | None = None,
                      date_to: dt.date | None = None) -> pd.DataFrame:
        """Stored fixtures (optionally of ``leagues`` and dated within ``date_from..date_to``), in
        kick-off, league, home-team order; the columns of the ``fixtures`` table."""
        t = tables.fixtures
        q = select(t).order_by(t.c.kickoff, t.c.league, t.c.home_team)
        if leagues is not None:
            q = q.where(t.c.league.in_(list(leagues)))
        if date_from is not None:
            q = q.where(t.c.date >= date_from)
        if date_to is not None:
            q = q.where(t.c.date <= date_to)
        with self.engine.connect() as conn:
            df = pd.read_sql(q, conn)
        df["date"] = pd.to_datetime(df["date"])
        df["kickoff"] = pd.to_datetime(df["kickoff"])
        df["odds_other"] = df["odds_other"].map(lambda v: json.loads(v) if isinstance(v, str) else v)
        return df

    def fixtures_load(self) -> dict[str, Any] | None:
        """What the fixtures table holds (``row_count``, ``source_sha256``, ``loaded_at``), or None
        before the first load."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tables.fixture_loads)).mappings().first()
        return dict(row) if row else None

    def dispose(self) -> None:
        self.engine.dispose()
