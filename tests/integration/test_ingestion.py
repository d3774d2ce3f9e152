"""Ingestion assets through Dagster against the local mirror and a real PostgreSQL warehouse."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest

from soccer_assets.assets.ingestion import matches, raw_match_files
from soccer_assets.warehouse.store import Warehouse
from tests.support.mirror import FaultKind, Mirror
from tests.support.pipeline import failure_text, materialize, resources

pytestmark = pytest.mark.integration
KEY = "E0|2023-24"
PATH = "/mmz4281/2324/E0.csv"
ASSETS = [raw_match_files, matches]


@pytest.fixture
def mirror(shared_data):
    with Mirror(shared_data) as m:
        yield m


@pytest.fixture
def env(mirror, tmp_path, pg_url):
    res = resources(mirror.url, tmp_path / "data", pg_url)
    wh = Warehouse(pg_url)
    yield res, wh, tmp_path / "data"
    wh.dispose()


def _snapshot(wh: Warehouse, data_dir) -> tuple:
    df = wh.read_matches(["E0"], ["2023-24"])
    parquet = data_dir / "matches/E0/2023-24.parquet"
    raw = data_dir / "raw_match_files/E0/2023-24.csv"
    return (
        len(df),
        hashlib.sha256(df.sort_values("match_id").to_csv().encode()).hexdigest(),
        hashlib.sha256(parquet.read_bytes()).hexdigest(),
        hashlib.sha256(raw.read_bytes()).hexdigest(),
    )


def test_materialize_is_idempotent_and_uses_conditional_requests(env, mirror, shared_data):
    res, wh, data_dir = env
    first = materialize(ASSETS, KEY, res)
    assert first.success
    assert wh.count_matches("E0", "2023-24") == 380
    raw = (data_dir / "raw_match_files/E0/2023-24.csv").read_bytes()
    assert raw == (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    mats = first.asset_materializations_for_node("raw_match_files")
    assert mats[0].metadata["sha256"].value == hashlib.sha256(raw).hexdigest()
    before = _snapshot(wh, data_dir)

    second = materialize(ASSETS, KEY, res)
    assert second.success
    assert _snapshot(wh, data_dir) == before
    df = wh.read_matches(["E0"], ["2023-24"])
    assert len(df) == 380 and not df["match_id"].duplicated().any()
    # The second fetch was conditional and answered 304 from the stored copy.
    second_request = mirror.requests_for(PATH)[-1]
    assert second_request.header("If-None-Match") is not None
    assert second_request.status == 304
    assert second.asset_materializations_for_node("raw_match_files")[0].metadata[
        "not_modified"
    ].value is True


def test_transient_faults_are_retried(env, mirror):
    res, wh, _ = env
    mirror.inject(PATH, FaultKind.HTTP_500, times=2)
    result = materialize(ASSETS, KEY, res)
    assert result.success, failure_text(result)
    assert len(mirror.requests_for(PATH)) == 3
    assert wh.count_matches("E0", "2023-24") == 380


def _assert_failure_keeps_previous(env, mirror, fault_setup, message, raw_kept=True):
    res, wh, data_dir = env
    assert materialize(ASSETS, KEY, res).success
    before = _snapshot(wh, data_dir)
    fault_setup(mirror)
    result = materialize(ASSETS, KEY, res)
    assert not result.success
    assert message in failure_text(result)
    after = _snapshot(wh, data_dir)
    # Warehouse rows and the matches Parquet file are untouched in every case.
    assert after[:3] == before[:3]
    # The raw file is replaced only by a file that was fetched whole and parses.
    assert (after[3] == before[3]) is raw_kept


def test_persistent_truncation_fails_and_keeps_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()

    def updated_file_cut_off_in_transit(m: Mirror) -> None:
        # The site publishes a newer file (so no 304) and every transfer of it is cut short.
        m.put(PATH, good.replace(b"C Pawson", b"C Kavanagh", 1))
        m.inject(PATH, FaultKind.TRUNCATE, times=10)

    _assert_failure_keeps_previous(env, mirror, updated_file_cut_off_in_transit, "could not fetch E0 2023-24")


def test_persistent_5xx_fails_clearly(env, mirror):
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.inject(PATH, FaultKind.HTTP_503, times=10), "could not fetch E0 2023-24"
    )


def test_malformed_file_fails_and_keeps_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, good[: len(good) // 3]), "is not a valid season file"
    )


def test_garbage_rows_fail_and_keep_previous_partition(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, good + b"<html>oops</html>\r\n"), "is not a valid season file"
    )


def test_blocking_check_failure_writes_nothing(env, mirror, shared_data):
    good = (shared_data / "mmz4281/2324/E0.csv").read_bytes()
    # Burnley 0-3 Man City recorded as a home win: parses, but fails a blocking check.
    bad = good.replace(b"Burnley,Man City,0,3,A", b"Burnley,Man City,0,3,H", 1)
    assert bad != good
    _assert_failure_keeps_previous(
        env, mirror, lambda m: m.put(PATH, bad), "result_consistent_with_goals", raw_kept=False
    )


def test_unpublished_season_is_a_clear_failure(env, mirror):
    res, wh, _ = env
    result = materialize(ASSETS, "E0|2024-25", res)
    assert not result.success
    assert "not published" in failure_text(result)
    assert len(mirror.requests_for("/mmz4281/2425/E0.csv")) == 1  # a 404 is not retried
    assert wh.count_matches("E0", "2024-25") == 0


def test_check_results_are_recorded(env):
    res, _, _ = env
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(ASSETS, "F1|2019-20", res, instance)
    assert result.success, failure_text(result)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["unique_match_key"].passed
    assert evaluations["no_columns_dropped"].passed
    # Ligue 1 2019-20 was cut short: a warning, not a blocker.
    assert not evaluations["expected_row_count"].passed
    assert evaluations["expected_row_count"].severity == dg.AssetCheckSeverity.WARN
