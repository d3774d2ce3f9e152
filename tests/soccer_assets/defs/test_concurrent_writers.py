"""Two runs writing one partition at once, and a bulk run failing part-way, through the real assets.

The warehouse is the embedded default (a SQLite file); both runs share one Dagster instance, as
a UI run and a scheduled run do.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from soccer_assets.defs import ingestion
from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.sources.parser import parse_season_csv
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse
from tests.support.mirror import Mirror
from tests.support.pipeline import failure_text, materialize, materialize_range, resources

pytestmark = pytest.mark.integration
KEY = "E0|2023-24"
# Burnley - Man City, the season's first match: B365 home odds 8 in the real file.
ROW = b"Man City,0,3,A,0,2,A,C Pawson,6,17,1,8,11,8,6,5,0,0,1,0,8,5.5"


def _with_b365_home(data: bytes, odds: str) -> bytes:
    assert ROW in data
    return data.replace(ROW, ROW.replace(b",8,5.5", f",{odds},5.5".encode()), 1)


def _first_b365_home(frame: pd.DataFrame) -> float:
    row = frame[(frame["home_team"] == "Burnley") & (frame["away_team"] == "Man City")]
    return float(row["odds_b365_open_h"].iloc[0])


def _last_materialization_run(instance: dg.DagsterInstance, key: str) -> str:
    event = instance.get_latest_materialization_event(dg.AssetKey("matches"))
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("matches"), asset_partitions=[key]), limit=1)
    assert event is not None and records.records
    return records.records[0].run_id


def test_two_concurrent_runs_on_one_partition_leave_lake_and_warehouse_from_one_run(
        shared_data, tmp_path, monkeypatch):
    """Run A reads the raw file (version 1) and is slowed down before it writes; meanwhile the
    raw file becomes version 2 and run B starts. B waits for A's lock, so the stores end with B's
    read of version 2 - in both the warehouse and the lake, recorded as B's materialization.
    Without the lock B would write version 2 and A would then overwrite both with version 1."""
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    res = resources("http://127.0.0.1:9", data, url)  # no fetch: the raw files are put in place
    lake = Lake(data)
    real = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    version_1, version_2 = _with_b365_home(real, "7.5"), _with_b365_home(real, "9.5")
    lake.write_raw("E0", "2023-24", version_1, {"url": "test"})

    a_has_read, a_may_write = threading.Event(), threading.Event()
    real_parse = ingestion.parse_season_csv
    calls = {"n": 0}

    def slow_first_parse(content: bytes, league: str, season: str):
        calls["n"] += 1
        parsed = real_parse(content, league, season)
        if calls["n"] == 1:  # run A, with the bytes it read
            a_has_read.set()
            a_may_write.wait(20)
        return parsed

    monkeypatch.setattr(ingestion, "parse_season_csv", slow_first_parse)
    results: dict[str, dg.ExecuteInProcessResult] = {}
    with dg.instance_for_test() as instance:
        def run(name: str) -> None:
            results[name] = materialize([matches], KEY, res, instance)

        ta = threading.Thread(target=run, args=("a",))
        ta.start()
        assert a_has_read.wait(30)
        lake.write_raw("E0", "2023-24", version_2, {"url": "test"})
        tb = threading.Thread(target=run, args=("b",))
        tb.start()
        wh = Warehouse(url)
        holder = wh.partition_lock_holders("matches")[("matches", "E0", "2023-24")]
        # B waits for A's lock (without it, B would read version 2 and finish here).
        tb.join(3)
        assert tb.is_alive() and "b" not in results
        a_may_write.set()
        ta.join(60)
        tb.join(60)
        assert results["a"].success, failure_text(results["a"])
        assert results["b"].success, failure_text(results["b"])
        assert calls["n"] == 2
        assert holder == results["a"].run_id

        stored = wh.read_matches(["E0"], ["2023-24"])
        parquet = lake.read_table("matches", "E0", "2023-24")
        load = wh.partition_load("E0", "2023-24")
        assert len(stored) == len(parquet) == 380
        # Both stores hold version 2, the raw file the last writer read ...
        assert _first_b365_home(stored) == _first_b365_home(parquet) == 9.5
        assert load["source_sha256"] == hashlib.sha256(version_2).hexdigest()
        pd.testing.assert_frame_equal(
            parquet.drop(columns=["extra"]).reset_index(drop=True),
            parse_season_csv(version_2, "E0", "2023-24").matches.drop(columns=["extra"]))
        # ... written by one run, the one Dagster records as the partition's last materialization.
        assert load["dagster_run_id"] == results["b"].run_id == _last_materialization_run(instance, KEY)
        assert wh.partition_lock_holders() == {}
        wh.dispose()


class FailSecondInsert:
    """Listener: the second ``INSERT INTO matches`` of a transaction raises, as an IO error would."""

    def __init__(self) -> None:
        self.inserts = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO MATCHES "):
            self.inserts += 1
            if self.inserts == 2:
                raise OSError("injected IO error while writing E0 2022-23")


def _stores(data: Path, wh: Warehouse, seasons: list[str]) -> dict[str, object]:
    lake = Lake(data)
    return {s: (lake.path("matches", "E0", s, "parquet").read_bytes(),
                _first_b365_home(wh.read_matches(["E0"], [s])) if s == "2023-24" else
                len(wh.read_matches(["E0"], [s])),
                wh.partition_load("E0", s)["dagster_run_id"]) for s in seasons}


def test_a_bulk_run_failing_part_way_leaves_every_partition_as_before(shared_data, tmp_path):
    seasons = ["2021-22", "2022-23", "2023-24"]
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with Mirror(shared_data) as mirror, dg.instance_for_test() as instance:
        res = resources(mirror.url, data, url)
        first = materialize_range([raw_match_files, matches], f"E0|{seasons[0]}", f"E0|{seasons[-1]}",
                                  res, instance)
        assert first.success, failure_text(first)
        wh = Warehouse(url)
        before = _stores(data, wh, seasons)
        assert {s: v[2] for s, v in before.items()} == dict.fromkeys(seasons, first.run_id)

        # The source corrects a price of 2023-24; the write fails at the second partition.
        path = "mmz4281/2324/E0.csv"
        mirror.put(path, _with_b365_home(mirror.content_of(path), "9.5"))
        hook = FailSecondInsert()
        sa.event.listen(sa.Engine, "before_cursor_execute", hook)
        try:
            failed = materialize_range([raw_match_files, matches], f"E0|{seasons[0]}",
                                       f"E0|{seasons[-1]}", res, instance)
        finally:
            sa.event.remove(sa.Engine, "before_cursor_execute", hook)
        assert not failed.success
        assert "injected IO error" in failure_text(failed)
        # Every partition as before: Parquet bytes, rows, load records; nothing recorded.
        assert _stores(data, wh, seasons) == before
        assert [e for e in failed.all_events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
                and e.asset_key == dg.AssetKey("matches")] == []
        assert not list(data.rglob("*.staged")) and not list(data.rglob("*.replaced"))
        assert wh.partition_lock_holders() == {}

        # The next run writes and records them all.
        again = materialize_range([raw_match_files, matches], f"E0|{seasons[0]}", f"E0|{seasons[-1]}",
                                  res, instance)
        assert again.success, failure_text(again)
        after = _stores(data, wh, seasons)
        assert after["2023-24"][1] == 9.5 and after["2023-24"][0] != before["2023-24"][0]
        assert {s: v[2] for s, v in after.items()} == dict.fromkeys(seasons, again.run_id)
        assert {_last_materialization_run(instance, f"E0|{s}") for s in seasons} == {again.run_id}
        wh.dispose()
