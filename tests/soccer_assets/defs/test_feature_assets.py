"""match_features / team_state / temporal_split through Dagster on real data."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from soccer_assets.core.seasons import season_bounds
from soccer_assets.defs.features import match_features, team_state
from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.defs.modeling import temporal_split
from soccer_assets.features.build import RATING_FEATURES
from soccer_assets.features.state import TeamState
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse
from tests.support.mirror import Mirror
from tests.support.pipeline import failure_text, materialize, resources

pytestmark = pytest.mark.integration
SEASONS = ["2020-21", "2021-22", "2022-23", "2023-24"]


@pytest.fixture
def env(shared_data, tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("SOCCER_FIRST_SEASON", SEASONS[0])
    with Mirror(shared_data) as mirror:
        yield resources(mirror.url, tmp_path / "data", pg_url), tmp_path / "data", pg_url


def _ingest(res, leagues, seasons, instance):
    for season in seasons:
        for league in leagues:
            result = materialize([raw_match_files, matches, match_features], f"{league}|{season}", res,
                                 instance)
            assert result.success, failure_text(result)


def test_league_features_team_state_and_split(env):
    res, data_dir, pg = env
    instance = dg.DagsterInstance.ephemeral()
    _ingest(res, ["E0", "F1"], SEASONS, instance)
    lake = Lake(data_dir)
    for league in ("E0", "F1"):
        for i, season in enumerate(SEASONS):
            feats = lake.read_table("match_features", league, season)
            games = lake.read_table("matches", league, season)
            assert len(feats) == len(games)
            assert set(feats["match_id"]) == set(games["match_id"])
            if i > 0:
                assert not feats[RATING_FEATURES].isna().any().any(), (league, season)

    # The online store holds every team's latest state, readable as TeamState.
    result = dg.materialize([team_state], resources=res, instance=instance, raise_on_error=False)
    assert result.success, failure_text(result)
    wh = Warehouse(pg)
    rows = wh.read_team_state("E0")
    wh.dispose()
    assert {r["team"] for r in rows if r["season"] == "2023-24"} >= {"Arsenal", "Man City", "Burnley"}
    assert all(r["as_of"].isoformat() == "2024-05-20" for r in rows)
    state = TeamState.from_record(next(r["state"] for r in rows if r["team"] == "Arsenal"))
    assert state.last_date.isoformat() == "2024-05-19"

    # The walk-forward split never trains on the evaluated season or later.
    split_res = dg.materialize([temporal_split], partition_key="2023-24", resources=res,
                               instance=instance, raise_on_error=False,
                               selection=[temporal_split])
    assert split_res.success, failure_text(split_res)
    manifest = pd.read_parquet(data_dir / "temporal_split/2023-24/split.parquet")
    start, _ = season_bounds("2023-24")
    fit = manifest[manifest["set"] != "test"]
    assert (fit["date"].dt.date < start).all()
    assert set(manifest.loc[manifest["set"] == "test", "season"]) == {"2023-24"}
    assert manifest.loc[manifest["set"] == "validation", "date"].min() > manifest.loc[
        manifest["set"] == "train", "date"].max()
    meta = split_res.asset_materializations_for_node("temporal_split")[0].metadata
    assert meta["rows"].value["test"] == 380 + 306


def test_features_fail_clearly_when_an_earlier_season_is_missing(env):
    res, _, _ = env
    instance = dg.DagsterInstance.ephemeral()
    _ingest(res, ["E0"], ["2020-21"], instance)
    result = materialize([raw_match_files, matches], "E0|2022-23", res, instance)
    assert result.success
    result = materialize([matches, match_features], "E0|2022-23", res, instance, selection=[match_features])
    assert not result.success
    assert "2021-22" in failure_text(result) and "missing" in failure_text(result)


def test_league_history_checks_split_seasons_and_calendar_years_apart():
    """ARG played split seasons until 2019-20, then calendar years: no gap. A missing season of
    either kind between stored ones still fails, and so does a missing season of a division."""
    import dagster as dg
    import pandas as pd

    from soccer_assets.core.seasons import seasons_with_years_between
    from soccer_assets.defs.features import league_history

    seasons = seasons_with_years_between("2018-19", "2023-24")
    held = ("2018-19", "2019-20", "2020", "2021", "2022", "2023")
    frame = {s: pd.DataFrame({"season": [s]}) for s in held}
    history, used = league_history(frame, "ARG", seasons, "2023")
    assert used == ["2018-19", "2019-20", "2020", "2021", "2022", "2023"] and len(history) == 6
    without_2021 = {s: f for s, f in frame.items() if s != "2021"}
    with pytest.raises(dg.Failure, match=r"\['2021'\] are missing"):
        league_history(without_2021, "ARG", seasons, "2023")
    division = {s: pd.DataFrame({"season": [s]}) for s in ("2018-19", "2020-21", "2021-22")}
    with pytest.raises(dg.Failure, match=r"\['2019-20'\] are missing between 2018-19 and 2021-22"):
        league_history(division, "E0", seasons, "2021-22")
    with pytest.raises(dg.Failure, match=r"E0\|2022-23 are not materialized"):
        league_history(division, "E0", seasons, "2022-23")
