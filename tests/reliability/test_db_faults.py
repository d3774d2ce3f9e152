"""Database faults: the warehouse connection killed in the middle of a partition write.

A SQLAlchemy ``before_cursor_execute`` listener fires when the write is about to ``INSERT INTO
matches`` (the partition's old rows are already deleted inside the transaction) and terminates that
connection's backend from another connection with ``pg_terminate_backend`` - the real failure a
server restart or a dropped network causes, on the shared PostgreSQL server without restarting it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.sources.parser import parse_season_csv
from soccer_assets.storage.warehouse import Warehouse
from tests.conftest import PG_ADMIN_URL
from tests.reliability.conftest import partition_snapshot
from tests.support.mirror import Mirror
from tests.support.pipeline import failure_text, materialize

pytestmark = pytest.mark.integration
PATH = "/mmz4281/2324/E0.csv"


class KillBackendOnInsert:
    """Listener: the first ``times`` statements inserting into ``table`` on ``database`` get their
    backend terminated (from an admin connection) just before they run."""

    def __init__(self, database: str, table: str = "matches", times: int = 1):
        self.database = database
        self.prefix = f"INSERT INTO {table} "
        self.remaining = times
        self.killed: list[int] = []
        self._admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def __call__(self, conn: sa.Connection, cursor: Any, statement: str, parameters: Any,
                 context: Any, executemany: bool) -> None:
        if self.remaining <= 0 or conn.engine.url.database != self.database:
            return
        if not statement.lstrip().upper().startswith(self.prefix.upper()):
            return
        self.remaining -= 1
        pid = conn.connection.dbapi_connection.info.backend_pid
        with self._admin.connect() as admin:
            # The two-argument form waits (up to 5 s) until the backend is gone.
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
        self.killed.append(pid)

    def dispose(self) -> None:
        self._admin.dispose()


@pytest.fixture
def kill_on_insert(pg_url: str) -> Iterator[KillBackendOnInsert]:
    hook = KillBackendOnInsert(sa.engine.make_url(pg_url).database or "")
    # On the Engine class: it also reaches the engine a Dagster resource creates inside the run.
    sa.event.listen(sa.Engine, "before_cursor_execute", hook)
    try:
        yield hook
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", hook)
        hook.dispose()


def _fingerprint(w: Warehouse) -> tuple[int, str, Any]:
    df = w.read_matches(["E0"], ["2023-24"])
    load = w.partition_load("E0", "2023-24")
    digest = hashlib.sha256(df.sort_values("match_id").drop(columns=["id"], errors="ignore")
                            .to_csv().encode()).hexdigest()
    return len(df), digest, (load or {}).get("source_sha256")


def _season(shared_data: Path, content: bytes | None = None) -> pd.DataFrame:
    raw = content if content is not None else (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    return parse_season_csv(raw, "E0", "2023-24").matches


def test_killed_connection_rolls_back_then_the_bounded_retry_writes_exact_rows(
    pg_url: str, shared_data: Path, kill_on_insert: KillBackendOnInsert
) -> None:
    old = _season(shared_data)
    new = old.copy()
    new.loc[0, "referee"] = "A Replacement"
    w = Warehouse(pg_url, retry_backoff_seconds=0.05)
    no_retry = Warehouse(pg_url, create_schema=False, write_attempts=1)
    try:
        kill_on_insert.remaining = 0
        assert w.replace_partition("E0", "2023-24", old, source_sha256="old") == 380
        before = _fingerprint(w)
        assert before[0] == 380 and before[2] == "old"

        # Without a retry the write fails - and the transaction rolled back: the DELETE that had
        # already run inside it is undone, the old partition is intact.
        kill_on_insert.remaining = 1
        with pytest.raises(DBAPIError) as info:
            no_retry.replace_partition("E0", "2023-24", new, source_sha256="new")
        assert info.value.connection_invalidated, info.value
        assert len(kill_on_insert.killed) == 1
        assert _fingerprint(w) == before

        # The Warehouse's bounded retry runs the whole transaction again on a fresh connection.
        kill_on_insert.remaining = 1
        assert w.replace_partition("E0", "2023-24", new, source_sha256="new") == 380
        assert len(kill_on_insert.killed) == 2
        after = w.read_matches(["E0"], ["2023-24"])
        assert len(after) == 380 and not after["match_id"].duplicated().any()
        assert w.count_matches() == 380  # nothing outside the partition either
        assert (after["referee"] == "A Replacement").sum() == 1
        load = w.partition_load("E0", "2023-24")
        assert load is not None and load["row_count"] == 380 and load["source_sha256"] == "new"
    finally:
        no_retry.dispose()
        w.dispose()


def test_retries_are_bounded(pg_url: str, shared_data: Path, kill_on_insert: KillBackendOnInsert) -> None:
    old = _season(shared_data)
    w = Warehouse(pg_url, write_attempts=3, retry_backoff_seconds=0.01)
    try:
        kill_on_insert.remaining = 0
        w.replace_partition("E0", "2023-24", old, source_sha256="old")
        before = _fingerprint(w)
        kill_on_insert.remaining = 10  # the connection dies on every attempt
        with pytest.raises(DBAPIError):
            w.replace_partition("E0", "2023-24", old.iloc[:10], source_sha256="short")
        assert len(kill_on_insert.killed) == 3  # exactly write_attempts tries, then the error
        assert _fingerprint(w) == before
    finally:
        w.dispose()


@pytest.mark.slow
def test_dagster_partition_write_survives_a_killed_connection(
    env: tuple[dict[str, object], Warehouse, Path], mirror: Mirror, shared_data: Path,
    kill_on_insert: KillBackendOnInsert,
) -> None:
    res, w, data_dir = env
    kill_on_insert.remaining = 0
    assert materialize([raw_match_files, matches], "E0|2023-24", res).success
    before = partition_snapshot(w, data_dir)
    refs = w.read_matches(["E0"], ["2023-24"])["referee"].value_counts()
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    mirror.put(PATH, good.replace(b"C Pawson", b"C Kavanagh", 1))  # the site publishes a correction

    kill_on_insert.remaining = 1
    result = materialize([raw_match_files, matches], "E0|2023-24", res)
    assert result.success, failure_text(result)
    assert len(kill_on_insert.killed) == 1  # the fault did happen, inside the run
    after = partition_snapshot(w, data_dir)
    assert after[0] == 380 == w.count_matches()
    assert after[1] != before[1] and after[2] != before[2]  # the corrected partition, in both stores
    df = w.read_matches(["E0"], ["2023-24"])
    assert not df["match_id"].duplicated().any()
    now = df["referee"].value_counts()
    assert now["C Pawson"] == refs["C Pawson"] - 1 and now["C Kavanagh"] == refs["C Kavanagh"] + 1
    load = w.partition_load("E0", "2023-24")
    assert load is not None and load["row_count"] == 380
