"""Bulk (single-run, many-partition) materializations against per-partition ones, on real data."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import dagster as dg
import pandas as pd
import pytest

from soccer_assets.cli.pipeline import league_tag, partition_blocks
from soccer_assets.defs.features import match_features
from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.defs.io_managers import PartitionOutputError, frames_by_partition
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse
from tests.support.mirror import Mirror
from tests.support.pipeline import failure_text, materialize, materialize_range, resources

SEASONS = ["2021-22", "2022-23", "2023-24"]
ASSETS = [raw_match_files, matches, match_features]


@pytest.fixture
def mirror(shared_data):
    with Mirror(shared_data) as m:
        yield m


def _files(root) -> dict[str, bytes]:
    out = {}
    for asset in ("raw_match_files", "matches", "match_features"):
        for path in sorted((root / asset).rglob("*")):
            if path.is_file() and path.suffix in (".csv", ".parquet"):
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


@pytest.mark.integration
def test_bulk_run_writes_the_same_bytes_as_partition_runs(mirror, tmp_path, pg_db_factory):
    single_db = pg_db_factory()
    bulk_db = pg_db_factory()
    base = pg_db_url_base()
    single = resources(mirror.url, tmp_path / "single", f"{base}/{single_db}")
    bulk = resources(mirror.url, tmp_path / "bulk", f"{base}/{bulk_db}")

    for season in SEASONS:  # ratings carry over: seasons in order, as the runner's fallback does
        result = materialize(ASSETS, f"E0|{season}", single)
        assert result.success, failure_text(result)

    instance = dg.DagsterInstance.ephemeral()
    result = materialize_range(ASSETS, f"E0|{SEASONS[0]}", f"E0|{SEASONS[-1]}", bulk, instance)
    assert result.success, failure_text(result)
    # One run, yet Dagster records every partition of the range as materialized.
    assert len(instance.get_runs()) == 1
    for asset in ASSETS:
        assert instance.get_materialized_partitions(asset.key) == {f"E0|{s}" for s in SEASONS}

    a, b = _files(tmp_path / "single"), _files(tmp_path / "bulk")
    assert len(a) == 3 * len(SEASONS)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []

    wa, wb = Warehouse(f"{base}/{single_db}"), Warehouse(f"{base}/{bulk_db}")
    try:
        for season in SEASONS:
            left = wa.read_matches(["E0"], [season]).drop(columns=["loaded_at", "run_id"], errors="ignore")
            right = wb.read_matches(["E0"], [season]).drop(columns=["loaded_at", "run_id"], errors="ignore")
            assert len(left) == 380
            pd.testing.assert_frame_equal(left, right)
    finally:
        wa.dispose()
        wb.dispose()


@pytest.mark.integration
def test_a_bad_partition_fails_the_bulk_run_and_writes_nothing(mirror, tmp_path, pg_url):
    res = resources(mirror.url, tmp_path / "data", pg_url)
    result = materialize_range(ASSETS, f"E0|{SEASONS[0]}", f"E0|{SEASONS[-1]}", res)
    assert result.success, failure_text(result)
    before = _files(tmp_path / "data")
    wh = Warehouse(pg_url)
    rows_before = {s: len(wh.read_matches(["E0"], [s])) for s in SEASONS}

    # The middle season now has a result that contradicts its goals: a blocking check fails.
    path = "mmz4281/2223/E0.csv"
    lines = mirror.content_of(path).decode("latin-1").splitlines()
    cols = lines[0].split(",")
    row = lines[1].split(",")
    row[cols.index("FTR")] = {"H": "A", "A": "H", "D": "H"}[row[cols.index("FTR")]]
    lines[1] = ",".join(row)
    mirror.put(path, ("\n".join(lines) + "\n").encode("latin-1"))

    result = materialize_range(ASSETS, f"E0|{SEASONS[0]}", f"E0|{SEASONS[-1]}", res)
    assert not result.success
    text = failure_text(result)
    assert "E0 2022-23 failed blocking checks" in text and "result_consistent_with_goals" in text
    after = _files(tmp_path / "data")
    # The raw files of the run are stored (they parse); no table of any partition changed.
    assert {k: v for k, v in after.items() if "raw_match_files" not in k} == {
        k: v for k, v in before.items() if "raw_match_files" not in k
    }
    assert {s: len(wh.read_matches(["E0"], [s])) for s in SEASONS} == rows_before
    wh.dispose()


def pg_db_url_base() -> str:
    from tests.conftest import PG_ADMIN_URL

    return PG_ADMIN_URL.rsplit("/", 1)[0]


def test_partition_blocks_are_rectangles_in_the_definition_order():
    leagues, seasons = ["E0", "SP1", "D1"], ["2021-22", "2022-23", "2023-24"]
    every = [f"{lg}|{se}" for lg in leagues for se in seasons]
    assert partition_blocks(every, leagues, seasons) == [every]
    # One season of every league (what a season backfill selects) is one block.
    assert partition_blocks([f"{lg}|2023-24" for lg in leagues], leagues, seasons) == [
        ["E0|2023-24", "SP1|2023-24", "D1|2023-24"]
    ]
    # Keys adjacent in the flat order but not a rectangle are split.
    assert partition_blocks(["E0|2023-24", "SP1|2021-22"], leagues, seasons) == [
        ["SP1|2021-22"], ["E0|2023-24"]
    ]
    assert partition_blocks(["E0|2021-22", "E0|2023-24", "D1|2021-22", "D1|2022-23"], leagues, seasons) == [
        ["E0|2021-22"], ["D1|2021-22", "D1|2022-23"], ["E0|2023-24"]
    ]
    # A league's later seasons never run before its earlier ones, whatever merges.
    keys = ["E0|2023-24", "SP1|2021-22", "SP1|2023-24", "D1|2023-24"]
    assert partition_blocks(keys, leagues, seasons) == [
        ["SP1|2021-22"], ["E0|2023-24", "SP1|2023-24", "D1|2023-24"]
    ]
    blocks = partition_blocks(every[:-1], leagues, seasons)
    assert sorted(k for b in blocks for k in b) == sorted(every[:-1])
    with pytest.raises(ValueError, match="not in the partitions definition"):
        partition_blocks(["I1|2023-24"], leagues, seasons)


def test_league_tag_names_one_league_or_says_multi():
    assert league_tag(["E0|2021-22", "E0|2022-23"]) == "E0"
    assert league_tag(["E0|2021-22", "SP1|2021-22"]) == "multi"


def test_io_manager_refuses_outputs_that_do_not_match_the_run():
    df = pd.DataFrame({"x": [1]})
    assert frames_by_partition(df, ["E0|2023-24"]) == {"E0|2023-24": df}
    with pytest.raises(PartitionOutputError, match="must return"):
        frames_by_partition(df, ["E0|2022-23", "E0|2023-24"])
    with pytest.raises(PartitionOutputError, match=r"missing \['E0\|2023-24'\]"):
        frames_by_partition({"E0|2022-23": df}, ["E0|2022-23", "E0|2023-24"])
    with pytest.raises(PartitionOutputError, match="unexpected"):
        frames_by_partition({"E0|2022-23": df, "SP1|2022-23": df}, ["E0|2022-23"])
    with pytest.raises(PartitionOutputError, match="not DataFrames"):
        frames_by_partition({"E0|2022-23": [1]}, ["E0|2022-23"])


@pytest.mark.slow
@pytest.mark.integration
def test_cli_bulk_run_isolates_a_bad_partition(mirror, tmp_path, pg_url):
    """`soccer pipeline`: the bulk run fails, the fallback stores the good seasons and names the bad one."""
    mirror.put("mmz4281/2223/E0.csv", b"Div,Date,HomeTeam\nE0,not a date,Arsenal\n")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "SOCCER_SOURCE_MIN_INTERVAL": "0"}
    for key in ("SOCCER_LEAGUES", "SOCCER_LAST_SEASON", "SOCCER_FIRST_SEASON"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "soccer_assets.cli", "pipeline", "--leagues", "E0",
         "--first-season", SEASONS[0], "--last-season", SEASONS[-1], "--test-seasons", "none",
         "--no-champion", "--source", mirror.url, "--data-dir", str(tmp_path / "data"),
         "--warehouse-url", pg_url],
        env=env, capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = {tuple(line.split()[:3]) for line in out.splitlines()}
    assert ("E0", "2021-22", "ok") in lines
    assert ("E0", "2022-23", "FAILED") in lines
    assert ("E0", "2023-24", "FAILED") in lines  # its ratings would skip the missing season
    assert "is not a valid season file" in out
    assert "missing between" in out
    # The progress lines: the bulk run failing, then the fallback's runs one by one, seasons in order.
    stages = [line.split()[:5] for line in out.splitlines() if line[:2] in ("✓ ", "✗ ")]
    assert stages[: 1 + len(SEASONS)] == [
        ["✗", "ingest", "+", "features", f"E0|{SEASONS[0]}..E0|{SEASONS[-1]}"],
        *(["✓" if s == SEASONS[0] else "✗", "ingest", "+", "features", f"E0|{s}"] for s in SEASONS),
    ]
    assert proc.stderr == "", proc.stderr
    log = tmp_path / "data" / "logs"
    assert f"Dagster event log: {log}/pipeline-" in out
    assert "STEP_FAILURE" in next(log.glob("pipeline-*.log")).read_text()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="league_season_pipeline"))
    # The bulk run plus one run per partition of the fallback, all tagged for the per-league limit.
    assert len(runs) == 1 + len(SEASONS)
    assert {r.tags.get("soccer/league") for r in runs} == {"E0"}
    assert sum("dagster/asset_partition_range_start" in r.tags for r in runs) == 1
    lake = Lake(tmp_path / "data")
    assert lake.has_table("match_features", "E0", "2021-22")
    assert not lake.has_table("matches", "E0", "2022-23")


def test_weekly_schedule_requests_one_run_over_every_league_of_the_current_season():
    from soccer_assets.defs.partitions import PARTITIONS
    from soccer_assets.defs.schedules import weekly_current_season

    leagues = list(PARTITIONS.get_partitions_def_for_dimension("league").get_partition_keys())
    ctx = dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2023, 11, 14, 6, 0))
    request = weekly_current_season(ctx)
    assert isinstance(request, dg.RunRequest)
    keys = PARTITIONS.get_partition_keys_in_range(dg.PartitionKeyRange(
        request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]
    ))
    assert sorted(keys) == sorted(f"{lg}|2023-24" for lg in leagues)
    assert request.tags["soccer/league"] == ("multi" if len(leagues) > 1 else leagues[0])
    # Before the configured seasons: nothing to refresh, and the schedule says why.
    ctx = dg.build_schedule_context(scheduled_execution_time=datetime.datetime(2005, 11, 15, 6, 0))
    skipped = weekly_current_season(ctx)
    assert isinstance(skipped, dg.SkipReason) and "2005-06" in str(skipped.skip_message)
