"""Acceptance of live monitoring: the 2023-24 Premier League replayed day by day through the real API.

Real components: PostgreSQL (warehouse + prediction log), the MLflow tracking server and registry,
the API under uvicorn (``python -m soccer_serving.cli serve``), Dagster (``materialize`` of the
``live_monitoring`` asset with its real resources on an ephemeral instance) and the sensor evaluated
against that instance.

Ingestion is done through the warehouse store, not the Dagster ingestion assets (which would cost a
run per match day): before each match day D, ``team_state`` holds every match before D (the pure
``update_states`` the pipeline uses, one day at a time); the day's matches are served through
``POST /v1/predict/batch`` with their opening odds; then the day's results are written into the
``matches`` table (``Warehouse.replace_partition`` of the season so far, as the ``matches`` asset
does). The champion is the repo's ratings model trained on the seasons before 2023-24 and registered
the way ``champion_model`` registers (pyfunc package, ``gate_rps`` / ``trained_through`` tags). For the
last 60 matches the ``champion`` alias moves to a degraded version: the same booster with its home and
away classes swapped (exactly swapped probabilities) but the same recorded training evaluation, as a
serving bug would look.

Proves: the asset's live RPS per model version equals an offline computation over the predictions the
API answered, joined with the results of the shared CSV; the healthy model passes the RPS check and
the sensor requests nothing; the degraded one fails it (WARN) and the sensor requests one
``train_champion`` run; ``/metrics`` shows the live figures.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from prometheus_client.parser import text_string_to_metric_families

from soccer_assets.core.schema import odds_triplet
from soccer_assets.defs import monitoring
from soccer_assets.defs.resources import LakeResource, MlflowResource, WarehouseResource
from soccer_assets.features.build import select_open_odds
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import build_team_states, update_states
from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.train import TrainedModel, predict_proba
from soccer_assets.storage import prediction_log as wh
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.registry import feature_params_hash
from tests.deploy.promql import (
    LIVE_PREFIX,
    bad_label_matchers,
    exposed_names,
    monitored_expressions,
    used_names,
)
from tests.soccer_serving.conftest import REDIS_URL
from tests.soccer_serving.support import (
    MLFLOW_TEST_ENV,
    Service,
    free_port,
    load_league,
    register_pipeline_model,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
NAME = "monitor-ratings"
SEASON = "2023-24"
DEGRADED_MATCHES = 60
CONFIG = monitoring.MonitoringConfig(last_n_matches=60, min_matches=30, rps_margin=0.02)


def swap_home_away(model: TrainedModel) -> TrainedModel:
    """The same model with classes H and A exchanged: every forecast's home and away swap."""
    raw = json.loads(model.booster.save_raw("json"))
    gb = raw["learner"]["gradient_booster"]["model"]
    gb["tree_info"] = [{0: 2, 2: 0}.get(c, c) for c in gb["tree_info"]]
    param = raw["learner"]["learner_model_param"]
    base = json.loads(param["base_score"].replace("E", "e"))
    param["base_score"] = "[" + ",".join(repr(float(b)) for b in base[::-1]) + "]"
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(raw).encode()))
    return dataclasses.replace(model, booster=booster)


@dataclass
class Replay:
    api_url: str
    api: Service
    warehouse: Warehouse
    resources: dict[str, Any]
    instance: dg.DagsterInstance
    # what the API answered: match_id -> (model version, probabilities)
    answers: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    healthy: dict[str, Any] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)


def materialize(r: Replay) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [monitoring.live_monitoring], instance=r.instance, resources=r.resources,
        run_config=dg.RunConfig(ops={"live_monitoring": CONFIG}),
    )


def snapshot(r: Replay) -> dict[str, Any]:
    """Materialize the asset, evaluate the sensor twice (the second time with its new cursor)."""
    result = materialize(r)
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    meta = result.asset_materializations_for_node("live_monitoring")[0].metadata
    sensor = monitoring.retrain_on_monitoring_failure
    first = sensor(dg.build_sensor_context(instance=r.instance, cursor=r.healthy.get("cursor")))
    again = sensor(dg.build_sensor_context(instance=r.instance, cursor=first.cursor))
    return {"checks": checks, "meta": meta, "sensor": first, "sensor_again": again, "cursor": first.cursor,
            "answers": dict(r.answers), "gauges": wh.read_live_monitoring(r.warehouse.engine)}


def _team_state_rows(states: dict) -> list[dict[str, Any]]:
    return [{"team": st.team, "season": st.season, "state": st.to_record(), "last_match_date": st.last_date}
            for (lg, _t), st in sorted(states.items()) if lg == "E0"]


def _wait_version(api_url: str, version: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loaded = httpx.get(f"{api_url}/v1/model", timeout=10).json()["variants"]["ratings"]["loaded"]
        if loaded and loaded["version"] == version:
            return
        time.sleep(0.2)
    raise AssertionError(f"the API did not switch to version {version} in {timeout}s")


@pytest.fixture(scope="module")
def replay(pg_module_url: str, mlflow_uri: str, redis_namespace: str, e0_matches: pd.DataFrame,
           e0_features: pd.DataFrame, ratings_trained: TrainedModel,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    tmp = tmp_path_factory.mktemp("monitoring")
    ms = e0_matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
    history, season = ms[ms["season"] < SEASON], ms[ms["season"] == SEASON]
    w = Warehouse(pg_module_url)
    wh.create_schema(w.engine)
    # The API boots (imports, first registry poll) while the history is written and the models
    # registered; it serves once the champion alias exists.
    port = free_port()
    env = {**MLFLOW_TEST_ENV, "SOCCER_WAREHOUSE_URL": pg_module_url, "SOCCER_MLFLOW_TRACKING_URI": mlflow_uri,
           "SOCCER_MODEL_NAME_RATINGS": NAME, "SOCCER_MODEL_NAME_MARKET": f"{NAME}-no-market",
           "SOCCER_REDIS_URL": REDIS_URL, "SOCCER_BROKER_NAMESPACE": f"{redis_namespace}-monitoring",
           "SOCCER_REGISTRY_POLL_SECONDS": "0.5", "SOCCER_TEAM_STATE_TTL_SECONDS": "0",
           "SOCCER_STARTUP_LOAD_TIMEOUT_SECONDS": "0", "PYTHONUNBUFFERED": "1"}
    api = Service("api", [sys.executable, "-m", "soccer_serving.cli", "serve", "--port", str(port)], tmp, env)
    try:
        for s, part in history.groupby("season"):
            w.replace_partition("E0", str(s), part, source_sha256="replay")
        # The promoted teams' last season (Luton were never in E0 before): the API admits a team it
        # knows from any league as a newcomer.
        e1 = load_league("E1")
        w.replace_partition("E1", "2022-23", e1[e1["season"] == "2022-23"], source_sha256="replay")
        # The champion's training distribution, as the pipeline leaves it in the lake.
        lake = Lake(tmp / "lake")
        for s in ("2020-21", "2021-22", "2022-23"):
            lake.write_table("match_features", "E0", s, e0_features[e0_features["season"] == s])

        client = MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
        tags = {"gate_rps": repr(ratings_trained.validation_metrics["rps"]), "trained_through": "2022-23"}
        v1 = register_pipeline_model(mlflow_uri, NAME, ratings_trained, e0_features)
        for k, v in tags.items():
            client.set_model_version_tag(NAME, v1, k, v)

        params = FeatureParams()
        states = build_team_states(history, params=params)
        first_day = season["date"].min().date()
        w.replace_team_state("E0", _team_state_rows(states), as_of=first_day,
                             feature_params_hash=feature_params_hash(params))
        r = Replay(api_url=f"http://127.0.0.1:{port}", api=api, warehouse=w,
                   resources={"warehouse": WarehouseResource(url=pg_module_url),
                              "lake": LakeResource(data_dir=str(tmp / "lake")),
                              "mlflow_store": MlflowResource(tracking_uri=mlflow_uri)},
                   instance=dg.DagsterInstance.ephemeral())
        degraded = swap_home_away(ratings_trained)
        x = e0_features[ratings_trained.features].head(200)
        np.testing.assert_allclose(predict_proba(degraded, x), predict_proba(ratings_trained, x)[:, ::-1],
                                   rtol=0, atol=1e-12)
        v2 = register_pipeline_model(mlflow_uri, NAME, degraded, e0_features, alias=None)
        for k, v in tags.items():
            client.set_model_version_tag(NAME, v2, k, v)
        api.wait_http(f"{r.api_url}/ready", timeout=240)

        odds = select_open_odds(ms)
        swap_day = season["date"].iloc[len(season) - DEGRADED_MATCHES].date()
        done = 0
        with httpx.Client(base_url=r.api_url, timeout=30) as http:
            for day, games in season.groupby(season["date"].dt.date, sort=True):
                if day == swap_day:
                    r.healthy = snapshot(r)
                    client.set_registered_model_alias(NAME, "champion", v2)
                    _wait_version(r.api_url, v2)
                w.replace_team_state("E0", _team_state_rows(states), as_of=day,
                                     feature_params_hash=feature_params_hash(params))
                items = []
                for i, g in games.iterrows():
                    item = {"league": "E0", "home_team": g.home_team, "away_team": g.away_team,
                            "kickoff": day.isoformat()}
                    if np.all(np.isfinite(odds[i])):
                        item["odds"] = dict(zip(("home", "draw", "away"), map(float, odds[i]), strict=True))
                    items.append(item)
                resp = http.post("/v1/predict/batch", json={"matches": items})
                assert resp.status_code == 200, resp.text
                body = resp.json()
                assert body["n_errors"] == 0, [x["error"] for x in body["results"] if x["error"]]
                for g, res in zip(games.itertuples(), body["results"], strict=True):
                    p = res["prediction"]
                    r.answers[g.match_id] = (p["model"]["version"], np.array(
                        [p["probabilities"]["home"], p["probabilities"]["draw"], p["probabilities"]["away"]]))
                # The day's results arrive: the season so far, replaced atomically.
                done += len(games)
                w.replace_partition("E0", SEASON, season.iloc[:done], source_sha256=f"replay-{day}")
                states = update_states(states, games, params)
        r.final = snapshot(r)
        r.final["metrics_text"] = httpx.get(f"{r.api_url}/metrics", timeout=10).text
        yield r
    finally:
        api.stop()
        w.dispose()


def offline_rps(answers: dict[str, tuple[str, np.ndarray]], results: pd.DataFrame) -> dict[str, float]:
    """RPS per model version of the API's answers against the results of the shared CSV file."""
    y = results.set_index("match_id")["ftr"]
    out = {}
    for version in sorted({v for v, _ in answers.values()}):
        ids = [m for m, (v, _) in answers.items() if v == version]
        probs = np.vstack([answers[m][1] for m in ids])
        out[f"{NAME} v{version}"] = M.rps(probs, M.outcome_index(y.loc[ids]))
    return out


def test_live_rps_equals_the_offline_computation(replay: Replay, e0_matches: pd.DataFrame) -> None:
    season = e0_matches[e0_matches["season"] == SEASON]
    assert len(replay.final["answers"]) == len(season) == 380
    # Every served prediction is in the log, with the features of its request.
    rows = wh.read_prediction_log_rows(replay.warehouse.engine)
    assert len(rows) == 380 and all(row["features"] and "elo_diff" in row["features"] for row in rows)
    for snap in (replay.healthy, replay.final):
        expected = offline_rps(snap["answers"], season)
        got = snap["meta"]["live_rps_by_version"].value
        assert got.keys() == expected.keys()
        for k, v in expected.items():
            assert got[k] == pytest.approx(v, abs=1e-12)
        assert snap["meta"]["scored_predictions"].value == len(snap["answers"])
    assert set(replay.healthy["meta"]["live_rps_by_version"].value) == {f"{NAME} v1"}
    # The warehouse figures the API exposes agree (per league, all predictions of a version).
    gauges = {(g["metric"], g["labels"].get("version"), g["labels"].get("window")): g["value"]
              for g in replay.final["gauges"] if g["labels"].get("league") in ("E0", "ALL")}
    expected = offline_rps(replay.final["answers"], season)
    assert gauges[("rps", "1", "all")] == pytest.approx(expected[f"{NAME} v1"], abs=1e-12)
    assert gauges[("rps", "2", "all")] == pytest.approx(expected[f"{NAME} v2"], abs=1e-12)
    n_degraded = sum(v == "2" for v, _ in replay.final["answers"].values())
    assert n_degraded >= DEGRADED_MATCHES
    assert gauges[("scored_matches", "2", "all")] == n_degraded
    # The market on the same matches is there, and the healthy model is close to it.
    meta = replay.final["meta"]
    assert "league_E0" in meta and "market_rps" in meta["league_E0"].value
    assert meta["live_rps_plot"].value.startswith("![live RPS](data:image/png;base64,")


def offline_clv(answers: dict[str, tuple[str, np.ndarray]], season: pd.DataFrame) -> dict[str, list[float]]:
    """CLV of each version's value picks, match by match: the price the API was sent (else the best,
    else the average opening price), the largest positive edge, the same book's close (Pinnacle's,
    else the average, for a sent price)."""
    sent = dict(zip(season["match_id"], select_open_odds(season), strict=True))
    by_id = season.set_index("match_id")
    out: dict[str, list[float]] = {}
    for match_id, (version, p) in answers.items():
        m = by_id.loc[match_id]
        candidates = [(sent[match_id], ("ps", "avg")),
                      *((m[odds_triplet(b, "open")].to_numpy(float), (b,)) for b in ("max", "avg"))]
        priced = [(o, c) for o, c in candidates if np.all(np.isfinite(o) & (o > 1))]
        if not priced:
            continue
        price, closes = priced[0]
        edges = p * price - 1
        k = int(np.argmax(edges))
        close = [m[odds_triplet(b, "close")[k]] for b in closes if m[odds_triplet(b, "close")[k]] > 1]
        if edges[k] > 0 and close:
            out.setdefault(version, []).append(float(np.log(price[k] / close[0])))
    return out


def test_live_clv_equals_the_offline_computation(replay: Replay, e0_matches: pd.DataFrame) -> None:
    season = e0_matches[e0_matches["season"] == SEASON]
    expected = offline_clv(replay.final["answers"], season)
    g = {(x["metric"], x["labels"]["version"]): x["value"] for x in replay.final["gauges"]
         if x["labels"].get("pick") == "value" and x["labels"].get("league") == "ALL"}
    assert expected.keys() == {"1", "2"}
    for version, clvs in expected.items():
        assert g[("clv_bets", version)] == len(clvs) >= 20
        assert g[("clv_mean", version)] == pytest.approx(np.mean(clvs), abs=1e-12)
        assert g[("clv_beat_rate", version)] == pytest.approx(np.mean(np.array(clvs) > 0), abs=1e-12)
    assert "clv_mean" in replay.final["meta"]["league_E0"].value


def test_healthy_model_passes_and_the_sensor_requests_nothing(replay: Replay) -> None:
    snap = replay.healthy
    rps_check = snap["checks"][monitoring.RPS_CHECK]
    assert rps_check.passed, rps_check.description
    assert rps_check.severity == dg.AssetCheckSeverity.WARN
    assert not snap["sensor"].run_requests
    # Its window was judged (a full window of matches), not skipped: live RPS within the margin.
    g = {(x["metric"], x["labels"].get("window")): x["value"] for x in snap["gauges"]
         if x["labels"].get("version") == "1"}
    window = f"last_{CONFIG.last_n_matches}"
    assert g[("scored_matches", window)] == CONFIG.last_n_matches
    assert g[("rps", window)] <= g[("reference_rps", None)] + CONFIG.rps_margin


def test_drift_is_judged_at_the_same_stage_of_the_season(replay: Replay) -> None:
    """Mid-replay, the reference is cut to the requests' stage of the season: the season clock itself
    no longer drifts, while the real change of 2023-24 (more goals per match than the three
    training seasons) still does."""
    snap = replay.healthy
    notes = snap["meta"]["drift_notes"].value
    assert "the recent requests' stage of the season" in notes, notes
    psi = {x["labels"]["feature"]: x["value"] for x in snap["gauges"] if x["metric"] == "feature_psi"}
    assert psi["home_season_matches"] < 0.05 and psi["away_season_matches"] < 0.05
    assert max(psi[f] for f in ("home_gf_ewm", "home_ga_ewm", "away_venue_ga_ewm")) > CONFIG.psi_threshold
    check = snap["checks"][monitoring.DRIFT_CHECK]
    assert not check.passed and "season_matches" not in check.description, check.description


def test_degraded_model_fails_the_check_and_the_sensor_requests_retraining(replay: Replay) -> None:
    snap = replay.final
    rps_check = snap["checks"][monitoring.RPS_CHECK]
    assert not rps_check.passed
    assert rps_check.severity == dg.AssetCheckSeverity.WARN
    assert f"{NAME} v2" in rps_check.description and f"{NAME} v1" not in rps_check.description
    g = {(x["metric"], x["labels"].get("version"), x["labels"].get("window")): x["value"]
         for x in snap["gauges"]}
    window = f"last_{CONFIG.last_n_matches}"
    assert g[("rps", "2", window)] > g[("reference_rps", "2", None)] + CONFIG.rps_margin
    assert g[("rps", "1", window)] <= g[("reference_rps", "1", None)] + CONFIG.rps_margin
    requests = snap["sensor"].run_requests
    assert len(requests) == 1
    assert monitoring.retrain_on_monitoring_failure.job_name == "train_champion"
    assert requests[0].tags["soccer/failed_checks"] == monitoring.RPS_CHECK
    # Once per failed evaluation: the next tick with the sensor's cursor requests nothing more.
    assert not snap["sensor_again"].run_requests
    # The degraded model's predictions drift from the healthy one's, not from its own training
    # forecasts (it is swapped there too): the drift check is about inputs, the RPS check caught it.
    drift = snap["meta"]["prediction_drift"].value
    assert drift[f"{NAME} v2"]["share_psi"] < 0.1
    assert drift[f"{NAME} v2"]["share_reference"]["A"] > drift[f"{NAME} v2"]["share_reference"]["H"]
    # The drift check ran on the features the ratings model reads (no market feature: it ignores odds).
    assert snap["checks"][monitoring.DRIFT_CHECK].severity == dg.AssetCheckSeverity.WARN
    assert "market_overround" not in snap["meta"]["feature_drift"].value
    assert "elo_diff" in snap["meta"]["feature_drift"].value


def test_metrics_endpoint_shows_the_live_figures(replay: Replay) -> None:
    families = {f.name: f for f in text_string_to_metric_families(replay.final["metrics_text"])}
    samples = {(s.labels.get("version"), s.labels.get("window"), s.labels.get("league")): s.value
               for s in families["soccer_live_rps"].samples}
    window = f"last_{CONFIG.last_n_matches}"
    assert samples[("2", window, "ALL")] > samples[("1", window, "ALL")] + CONFIG.rps_margin
    checks = {s.labels["check"]: s.value for s in families["soccer_live_check_passed"].samples}
    assert checks[monitoring.RPS_CHECK] == 0.0
    assert "soccer_live_feature_psi" in families
    assert {s.labels["version"] for s in families["soccer_live_reference_rps"].samples} == {"1", "2"}


def test_dashboard_and_alerts_use_the_exported_live_series(replay: Replay) -> None:
    """The Grafana row and the alert rules over soccer_live_* name series, labels and check names
    that the API exports once live_monitoring has run (the deployment stack never runs it)."""
    families = list(text_string_to_metric_families(replay.final["metrics_text"]))
    scraped = exposed_names(families)
    exprs = [(w, e) for w, e in monitored_expressions(REPO) if LIVE_PREFIX in e]
    used = used_names(exprs)
    assert {"soccer_live_rps", "soccer_live_reference_rps", "soccer_live_market_rps",
            "soccer_live_check_passed", "soccer_live_feature_psi", "soccer_live_prediction_share",
            "soccer_live_logged_predictions", "soccer_live_computed_timestamp_seconds",
            "soccer_live_clv_mean", "soccer_live_clv_bets", "soccer_live_clv_beat_rate"} <= set(used)
    missing = {n: w for n, w in used.items() if n not in scraped}
    assert not missing, f"not exported after live_monitoring ran: {missing}"
    assert not bad_label_matchers(exprs, scraped)
    # The alerts select checks by name: those names are the asset's checks.
    exported_checks = {s.labels["check"] for f in families if f.name == "soccer_live_check_passed"
                       for s in f.samples}
    named = {m for _, e in exprs for m in re.findall(r'check="([^"]+)"', e)}
    assert named == exported_checks == {monitoring.RPS_CHECK, monitoring.DRIFT_CHECK}


def test_live_monitoring_with_an_empty_log_passes(tmp_path: Path, pg_url: str, mlflow_uri: str) -> None:
    result = dg.materialize(
        [monitoring.live_monitoring], instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(url=pg_url), "lake": LakeResource(data_dir=str(tmp_path)),
                   "mlflow_store": MlflowResource(tracking_uri=mlflow_uri)},
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = result.asset_materializations_for_node("live_monitoring")[0].metadata
    assert meta["logged_predictions"].value == 0



