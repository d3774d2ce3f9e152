"""One writer per partition, and several partitions' rows and files written together or not at all.

On both warehouse backends (a file-backed SQLite database, the embedded default, and PostgreSQL),
with real threads contending for the locks.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from soccer_assets.sources.parser import parse_season_csv
from soccer_assets.storage import lake as lake_module
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import PartitionBusyError, Warehouse


@pytest.fixture(params=["sqlite", "postgresql"])
def wh(request, tmp_path) -> Warehouse:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    w = Warehouse(url)
    yield w
    w.dispose()


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_second_writer_waits_until_the_first_releases(wh):
    order: list[str] = []
    a_holds, a_may_go = threading.Event(), threading.Event()

    def first() -> None:
        with wh.partition_locks("matches", [("E0", "2023-24")], "run-a"):
            order.append("a in")
            a_holds.set()
            a_may_go.wait(10)
            order.append("a out")

    def second() -> None:
        with wh.partition_locks("matches", [("E0", "2023-24"), ("E0", "2022-23")], "run-b",
                                poll_seconds=0.02):
            order.append("b in")

    ta = threading.Thread(target=first)
    ta.start()
    assert a_holds.wait(10)
    tb = threading.Thread(target=second)
    tb.start()
    # b takes E0 2022-23 (free) and then waits on E0 2023-24, which a holds.
    _wait_for(lambda: wh.partition_lock_holders("matches").get(("matches", "E0", "2022-23")) == "run-b")
    time.sleep(0.2)
    assert order == ["a in"]
    assert wh.partition_lock_holders("matches")[("matches", "E0", "2023-24")] == "run-a"
    a_may_go.set()
    ta.join(10)
    tb.join(10)
    assert order == ["a in", "a out", "b in"]
    assert wh.partition_lock_holders() == {}  # released on exit


def test_locks_are_per_asset_and_partition_released_on_error_and_reentrant_for_the_holder(wh):
    with wh.partition_locks("matches", [("E0", "2023-24")], "run-a"):
        # Another asset, or another partition, is not blocked.
        with wh.partition_locks("raw_match_files", [("E0", "2023-24")], "run-b", timeout_seconds=0):
            pass
        with wh.partition_locks("matches", [("E0", "2022-23")], "run-b", timeout_seconds=0):
            pass
        # A retried step of the same run already holds it.
        with wh.partition_locks("matches", [("E0", "2023-24")], "run-a", timeout_seconds=0):
            pass
    with pytest.raises(RuntimeError, match="boom"), \
            wh.partition_locks("matches", [("E0", "2023-24")], "run-c"):
        raise RuntimeError("boom")
    assert wh.partition_lock_holders() == {}


def test_a_busy_partition_fails_naming_its_holder_after_the_wait(wh):
    waits: list[str] = []
    with wh.partition_locks("matches", [("E0", "2023-24")], "run-a"):
        start = time.monotonic()
        with pytest.raises(PartitionBusyError, match="matches E0 2023-24 is being written by run-a"), \
                wh.partition_locks("matches", [("E0", "2023-24")], "run-b", timeout_seconds=0.3,
                                   poll_seconds=0.05, on_wait=waits.append):
            pytest.fail("the lock was taken while another run held it")
        assert time.monotonic() - start >= 0.3
        assert waits == ["matches E0 2023-24 is being written by run-a; waiting for it"]
        # The loser holds nothing afterwards; the holder still does.
        assert wh.partition_lock_holders() == {("matches", "E0", "2023-24"): "run-a"}


def test_a_crashed_holder_loses_its_lock_and_any_other_only_when_stale(wh):
    # A lock left behind by a run that died (its row was never deleted): entered, never exited.
    # The references keep the context managers from being collected (which would release them).
    dead = wh.partition_locks("matches", [("E0", "2023-24")], "dead-run")
    dead.__enter__()
    assert wh.partition_lock_holders() == {("matches", "E0", "2023-24"): "dead-run"}
    # The instance knows the run and that it ended: taken over at once.
    with wh.partition_locks("matches", [("E0", "2023-24")], "run-b", timeout_seconds=0,
                            holder_alive=lambda run: False):
        assert wh.partition_lock_holders() == {("matches", "E0", "2023-24"): "run-b"}
    # A holder the instance does not know (None), or a killed run it still shows as running (True),
    # keeps the lock until the lock is older than the bound.
    leftovers = [_held_then_taken_over(wh, holder, alive)
                 for holder, alive in (("foreign-run", None), ("killed-run", True))]
    assert wh.partition_lock_holders() == {}
    del dead, leftovers


def _held_then_taken_over(wh, holder: str, alive: bool | None):
    """A lock of ``holder`` left behind; refused while fresh, taken over once stale. Returns the
    never-exited context manager (collecting it would release the lock)."""
    left = wh.partition_locks("matches", [("E0", "2023-24")], holder)
    left.__enter__()
    with pytest.raises(PartitionBusyError), wh.partition_locks(
            "matches", [("E0", "2023-24")], "taker", timeout_seconds=0, holder_alive=lambda run: alive):
        pass
    time.sleep(0.3)
    with wh.partition_locks("matches", [("E0", "2023-24")], "taker", timeout_seconds=0,
                            holder_alive=lambda run: alive, stale_after_seconds=0.2):
        assert wh.partition_lock_holders() == {("matches", "E0", "2023-24"): "taker"}
    return left


def _season(shared_data: Path, code: str, season: str) -> pd.DataFrame:
    return parse_season_csv((shared_data / f"mmz4281/{code}/E0.csv").read_bytes(), "E0", season).matches


def test_several_partitions_are_replaced_in_one_transaction(wh, shared_data):
    old = {s: _season(shared_data, c, s) for c, s in [("2223", "2022-23"), ("2324", "2023-24")]}
    assert wh.replace_partitions([("E0", s, df, "old") for s, df in old.items()], run_id="r1") == {
        ("E0", "2022-23"): 380, ("E0", "2023-24"): 380}

    def fail() -> None:
        raise OSError("disk full")

    shorter = {s: df.iloc[:100] for s, df in old.items()}
    with pytest.raises(OSError, match="disk full"):
        wh.replace_partitions([("E0", s, df, "new") for s, df in shorter.items()], run_id="r2",
                              before_commit=fail)
    # Neither partition changed: rows and load records are the first write's.
    for season in old:
        assert wh.count_matches("E0", season) == 380
        assert wh.partition_load("E0", season)["dagster_run_id"] == "r1"
    with pytest.raises(ValueError, match=r"outside partition E0\|2022-23"):
        wh.replace_partitions([("E0", "2022-23", old["2023-24"], "x")])


def test_staged_files_install_together_and_roll_back(tmp_path, monkeypatch):
    lake = Lake(tmp_path)
    frames = {("E0", s): pd.DataFrame({"x": [i]}) for i, s in enumerate(["2021-22", "2022-23", "2023-24"])}
    lake.write_table("matches", "E0", "2021-22", pd.DataFrame({"x": [-1]}))
    before = lake.path("matches", "E0", "2021-22", "parquet").read_bytes()

    staged = lake.stage_tables("matches", frames)
    # Nothing visible before install.
    assert not lake.has_table("matches", "E0", "2022-23")
    assert lake.path("matches", "E0", "2021-22", "parquet").read_bytes() == before
    staged.install()
    staged.install()  # idempotent: a retried transaction calls it again
    assert [lake.read_table("matches", "E0", s)["x"].tolist() for _lg, s in frames] == [[0], [1], [2]]
    staged.rollback()
    assert lake.path("matches", "E0", "2021-22", "parquet").read_bytes() == before
    assert not lake.has_table("matches", "E0", "2022-23") and not lake.has_table("matches", "E0", "2023-24")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["2021-22.parquet"]

    # A move failing half-way through install: what was moved is moved back.
    staged = lake.stage_tables("matches", frames)
    calls = {"n": 0}
    real = os.replace

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("EIO")
        return real(src, dst)

    monkeypatch.setattr(lake_module.os, "replace", flaky)
    with pytest.raises(OSError, match="EIO"):
        staged.install()
    monkeypatch.setattr(lake_module.os, "replace", real)
    staged.rollback()
    assert lake.path("matches", "E0", "2021-22", "parquet").read_bytes() == before
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["2021-22.parquet"]

    staged = lake.stage_tables("matches", frames)
    staged.install()
    staged.commit()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "2021-22.parquet", "2022-23.parquet", "2023-24.parquet"]
