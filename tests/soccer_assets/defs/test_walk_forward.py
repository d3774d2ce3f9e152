"""Walk-forward backtest, MLflow runs, registry versions and the champion quality gate, through
Dagster, against a real MLflow tracking server."""

from __future__ import annotations

import dagster as dg
import pytest
from mlflow import MlflowClient

from soccer_assets.core.names import REGISTERED_NAMES
from soccer_assets.core.seasons import season_start_year, seasons_between
from soccer_assets.defs.evaluation import betting_report, model_evaluation
from soccer_assets.defs.features import match_features, team_state
from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_assets.defs.modeling import champion_model, temporal_split, trained_model
from soccer_assets.defs.resources import MlflowResource
from soccer_assets.storage.model_store import load_outcome_model
from tests.support.mirror import Mirror
from tests.support.pipeline import failure_text, materialize_range, resources

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LEAGUES = ["E0", "SP1"]
SEASONS = seasons_between("2012-13", "2023-24")
# One season without closing totals/AH prices (before 2019-20) and the three gate seasons: every
# code path of the walk-forward assets, at half the cost of all eight seasons.
TEST_SEASONS = ["2016-17", "2021-22", "2022-23", "2023-24"]
WALK_FORWARD = [temporal_split, trained_model, model_evaluation, betting_report]


@pytest.fixture
def env(shared_data, tmp_path, pg_url, mlflow_url, monkeypatch):
    monkeypatch.setenv("SOCCER_LEAGUES", ",".join(LEAGUES))
    monkeypatch.setenv("SOCCER_LAST_SEASON", "2023-24")
    with Mirror(shared_data) as mirror:
        res = resources(mirror.url, tmp_path / "data", pg_url)
        res["mlflow_store"] = MlflowResource(tracking_uri=mlflow_url, experiment="walk-forward-test")
        yield res, tmp_path / "data", mlflow_url


def test_walk_forward_backtest_and_gated_champion(env):
    res, _, mlflow_url = env
    instance = dg.DagsterInstance.ephemeral()
    # Ingested as a single-run backfill does: one bulk run per league over every season (a range
    # is a rectangle of the league order, and E1 lies between E0 and SP1).
    for league in LEAGUES:
        r = materialize_range([raw_match_files, matches, match_features], f"{league}|{SEASONS[0]}",
                              f"{league}|{SEASONS[-1]}", res, instance)
        assert r.success, failure_text(r)
    assert instance.get_materialized_partitions(dg.AssetKey("match_features")) == {
        f"{lg}|{s}" for lg in LEAGUES for s in SEASONS}
    assert dg.materialize([team_state], resources=res, instance=instance).success

    for season in TEST_SEASONS:
        r = dg.materialize(WALK_FORWARD, partition_key=season, resources=res, instance=instance,
                           raise_on_error=False)
        assert r.success, failure_text(r)
        evaluation = r.asset_materializations_for_node("model_evaluation")[0].metadata
        assert "ratings_table" in evaluation and "market_reliability" in evaluation
        for variant in ("ratings", "market"):
            assert "totals_2.5" in evaluation[f"{variant}_markets_table"].value
            assert evaluation[f"{variant}_markets_reliability"].value.startswith("![market reliability]")
            assert evaluation[f"{variant}_grid_1x2_max_abs_diff"].value <= 0.002
        betting = r.asset_materializations_for_node("betting_report")[0].metadata
        for variant in ("ratings", "market"):
            assert betting[f"{variant}_equity_curve"].value.startswith("![equity curve](data:image/png")
            assert "asian_handicap" in betting[f"{variant}_table"].value
            summary = betting[f"{variant}_summary"].value
            assert set(summary) == {"1x2", "totals_2.5", "asian_handicap"}
            assert all(e["n_bets"] > 0 for e in summary.values())

    client = MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
    exp = client.get_experiment_by_name("walk-forward-test")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    walk = [r for r in runs if r.data.tags.get("dagster.asset") == "trained_model"]
    # One run per trained model: two variants per evaluated season.
    assert sorted((r.data.tags["test_season"], r.data.tags["variant"]) for r in walk) == sorted(
        (s, v) for s in TEST_SEASONS for v in ("ratings", "market")
    )
    for r in walk:
        assert r.data.tags["dagster.run_id"] and r.data.tags["inputs_sha256"]
        assert "test_model_rps" in r.data.metrics and "test_climatology_rps" in r.data.metrics
        assert {"test_btts_model_log_loss", "test_correct_score_climatology_log_loss",
                "test_btts_dixon_coles_log_loss", "test_grid_1x2_max_abs_diff",
                "bet_1x2_n_bets", "bet_totals_2.5_roi"} <= set(r.data.metrics)
        if season_start_year(r.data.tags["test_season"]) >= 2019:  # closing totals prices exist
            assert {"test_totals_2.5_market_close_log_loss", "test_totals_2.5_dixon_coles_log_loss",
                    "test_asian_handicap_model_log_loss"} <= set(r.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
        assert {"features.json", "input_data_versions.json"} <= artifacts
        assert any(a.startswith("reliability_") for a in artifacts)
        assert any(a.startswith("markets_reliability_") for a in artifacts)
        assert any(a.startswith("equity_") for a in artifacts)

    # The gate promotes a sound model …
    r = dg.materialize([champion_model], resources=res, instance=instance, raise_on_error=False)
    gate = {e.check_name: e for e in r.get_asset_check_evaluations()}["quality_gate"]
    assert gate.passed, gate.metadata["gate"].value
    assert r.success, failure_text(r)
    champions = {}
    for variant, name in REGISTERED_NAMES.items():
        champ = client.get_model_version_by_alias(name, "champion")
        assert client.get_model_version_by_alias(name, "challenger").version == champ.version
        assert champ.tags["gate_seasons"] == "2021-22,2022-23,2023-24"
        assert champ.tags["trained_through"] == "2023-24"
        champions[variant] = champ.version
        model = load_outcome_model(f"models:/{name}@champion")
        assert model.variant == variant

    # … and blocks a model trained on shuffled outcomes: it stays challenger, champion stays put.
    r = dg.materialize([champion_model], resources=res, instance=instance, raise_on_error=False,
                       run_config={"ops": {"champion_model": {"config": {"shuffle_training_labels": True}}}})
    assert not r.success  # the blocking check failed
    gate = {e.check_name: e for e in r.get_asset_check_evaluations()}["quality_gate"]
    assert not gate.passed
    numbers = gate.metadata["gate"].value
    ratings = numbers["ratings"]
    assert not ratings["passed"] and ratings["challenger_rps"] > ratings["champion_rps"]
    name = REGISTERED_NAMES["ratings"]
    assert client.get_model_version_by_alias(name, "champion").version == champions["ratings"]
    challenger = client.get_model_version_by_alias(name, "challenger")
    assert int(challenger.version) > int(champions["ratings"])
    assert challenger.tags["gate_passed"] == "False"
    # The market variant starts from the market's own probabilities, so noise-trained trees add
    # little to it: whatever the gate decided, the alias followed the gate's numbers.
    market = numbers["market"]
    market_champion = client.get_model_version_by_alias(REGISTERED_NAMES["market"], "champion").version
    assert market["passed"] == (market["challenger_rps"] <= market["champion_rps"])
    assert (market_champion == market["version"]) == market["passed"]
