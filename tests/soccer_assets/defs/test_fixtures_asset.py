"""The ``fixtures`` asset through Dagster: the site's fixtures.csv over the source client (the local
mirror, HTTP) into the PostgreSQL warehouse, conditional re-fetches, retried faults, and files that
never replace the stored fixtures (unreachable, missing, undecodable, failing a blocking check)."""

from __future__ import annotations

import dagster as dg
import pytest

from soccer_assets.defs.fixtures import fixtures
from soccer_assets.storage.warehouse import Warehouse
from tests.support.mirror import FaultKind, Mirror
from tests.support.pipeline import failure_text, resources

pytestmark = pytest.mark.integration
PATH = "/fixtures.csv"


@pytest.fixture
def env(shared_data, tmp_path, pg_url):
    with Mirror(shared_data) as mirror:
        wh = Warehouse(pg_url)
        yield mirror, resources(mirror.url, tmp_path / "data", pg_url), wh
        wh.dispose()


def _run(res) -> dg.ExecuteInProcessResult:
    return dg.materialize([fixtures], resources=res, instance=dg.DagsterInstance.ephemeral(),
                          raise_on_error=False)


def test_fixtures_land_in_the_warehouse_and_a_refetch_is_conditional(env, shared_data):
    mirror, res, wh = env
    first = _run(res)
    assert first.success
    stored = wh.read_fixtures()
    assert len(stored) == 176 and (stored["league"] == "D1").sum() == 9
    assert stored["date"].min().date().isoformat() == "2022-04-22"
    meta = first.asset_materializations_for_node("fixtures")[0].metadata
    assert meta["dagster/row_count"].value == 176 and meta["replaced"].value is True
    checks = {c.check_name: c.passed for c in first.get_asset_check_evaluations()}
    assert checks["unique_fixture_key"] and checks["distinct_teams"] and checks["fixture_odds_above_one"]
    assert not checks["fixture_teams_known"]  # an empty warehouse knows no team (a warning)
    loaded = wh.fixtures_load()
    mirror.clear_requests()
    again = _run(res)
    assert again.success
    [req] = mirror.requests_for(PATH)
    assert req.status == 304 and req.header("if-none-match")
    assert again.asset_materializations_for_node("fixtures")[0].metadata["replaced"].value is False
    assert wh.fixtures_load()["loaded_at"] == loaded["loaded_at"]


def test_a_transient_fault_is_retried_by_the_client(env):
    mirror, res, wh = env
    mirror.inject(PATH, FaultKind.HTTP_500, times=2)
    assert _run(res).success
    assert len(mirror.requests_for(PATH)) == 3 and len(wh.read_fixtures()) == 176


@pytest.mark.parametrize("fault", ["missing", "garbage", "duplicate", "unreachable"])
def test_a_bad_file_never_replaces_the_stored_fixtures(env, shared_data, fault):
    mirror, res, wh = env
    assert _run(res).success
    before = wh.read_fixtures()
    data = (shared_data / "fixtures.csv").read_bytes()
    if fault == "missing":
        mirror.delete(PATH)
    elif fault == "garbage":
        mirror.put(PATH, data[: len(data) // 2].rsplit(b"\n", 1)[0] + b"\nD1,not-a-date,A,B\n")
    elif fault == "duplicate":
        lines = data.splitlines(keepends=True)
        mirror.put(PATH, b"".join([*lines, lines[1]]))
    else:
        mirror.inject(PATH, FaultKind.HTTP_503, times=None)
    result = _run(res)
    assert not result.success
    text = failure_text(result)
    assert "stored fixtures were kept" in text
    assert {"missing": "fetch", "garbage": "not a valid fixtures file", "duplicate": "unique_fixture_key",
            "unreachable": "fetch"}[fault] in text
    assert wh.read_fixtures().equals(before)
