"""The markets contract: ``markets``, ``totals_odds`` and ``prices`` on /v1/predict, the batch and jobs.

Real pieces: both champions registered the way the pipeline does (pyfunc package with a goal
booster), the MLflow server, PostgreSQL, Redis for the job submission; the job itself runs in this
process through the worker's ``JobRunner`` (no worker subprocess: the queue is not under test).
The team state is E0's as of 2023-10-21, so that day's eight matches are served from the same
states their offline feature rows were built from.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from soccer_assets.features.build import select_open_odds, select_open_totals
from soccer_assets.modeling.markets.pricing import MARKETS, find_selection, offer_value, price_markets
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from soccer_serving.jobs.actors import JobRunner
from soccer_serving.main import create_app
from soccer_serving.markets import compact
from soccer_serving.schemas import ErrorBody, ModelRef, Probabilities, TeamStateRef
from soccer_serving.settings import ServingSettings
from tests.soccer_serving.conftest import REDIS_URL
from tests.soccer_serving.support import assert_same_records, register_pipeline_model, write_team_state

pytestmark = pytest.mark.integration

DAY = dt.date(2023, 10, 21)
KEY = "markets-secret"
HEADERS = {"X-API-Key": KEY}
TOL = 1e-9


class LegacyPrediction(BaseModel):
    """``PredictionResponse`` as it was before markets: today's clients must get exactly this."""

    league: str
    season: str
    home_team: str
    away_team: str
    kickoff: dt.date
    probabilities: Probabilities
    predicted_outcome: str
    model: ModelRef
    team_state: TeamStateRef


class LegacyBatchItem(BaseModel):
    index: int
    prediction: LegacyPrediction | None = None
    error: ErrorBody | None = None


class LegacyBatch(BaseModel):
    results: list[LegacyBatchItem]
    n_ok: int
    n_errors: int


@pytest.fixture(scope="module")
def ctx(pg_module_url: str, mlflow_uri: str, redis_namespace: str, ratings_with_goals: Any,
        market_with_goals: Any, e0_features: pd.DataFrame, e0_matches: pd.DataFrame
        ) -> Iterator[SimpleNamespace]:
    example = e0_features.head(50)
    versions = {
        "ratings": register_pipeline_model(mlflow_uri, "mk-ratings", ratings_with_goals, example),
        "market": register_pipeline_model(mlflow_uri, "mk-market", market_with_goals, example),
    }
    w = Warehouse(pg_module_url)
    jobs_store.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, DAY)
    settings = ServingSettings(
        warehouse_url=pg_module_url, mlflow_tracking_uri=mlflow_uri, model_name_ratings="mk-ratings",
        model_name_market="mk-market", redis_url=REDIS_URL, broker_namespace=redis_namespace,
        job_queue="markets-jobs", api_keys=KEY, team_state_ttl_seconds=0, registry_poll_seconds=3600,
        startup_load_timeout_seconds=180,
    )
    ms = e0_matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
    idx = ms.index[ms["date"].dt.date == DAY]
    odds, totals = select_open_odds(ms)[idx], select_open_totals(ms)[idx]
    assert len(idx) == 8 and np.isfinite(odds).all() and np.isfinite(totals).all()
    plain = [{"league": "E0", "home_team": ms.at[i, "home_team"], "away_team": ms.at[i, "away_team"],
              "kickoff": DAY.isoformat()} for i in idx]
    with_odds = [{**b, "odds": dict(zip(("home", "draw", "away"), map(float, o), strict=True)),
                  "totals_odds": {"over": float(t[0]), "under": float(t[1])}}
                 for b, o, t in zip(plain, odds, totals, strict=True)]
    rows = e0_features.set_index("match_id").loc[ms.loc[idx, "match_id"]].reset_index()
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200
        yield SimpleNamespace(client=client, warehouse=w, settings=settings, versions=versions,
                              plain=plain, with_odds=with_odds, rows=rows)
    w.dispose()


def _predict(ctx: SimpleNamespace, body: dict[str, Any]) -> dict[str, Any]:
    r = ctx.client.post("/v1/predict", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _assert_consistent(markets: dict[str, list[dict[str, Any]]]) -> None:
    """Every complementary set sums to 1, fair prices are 1/p, double chance and draw no bet are
    the 1X2's."""
    p = {r["selection"]: r["probability"] for r in markets["1x2"]}
    for name in ("1x2", "draw_no_bet", "btts", "correct_score"):
        assert math.isclose(sum(r["probability"] for r in markets[name]), 1.0, abs_tol=1e-12), name
    dc = {r["selection"]: r["probability"] for r in markets["double_chance"]}
    assert math.isclose(dc["1X"], p["home"] + p["draw"], abs_tol=1e-12)
    assert math.isclose(dc["X2"], p["draw"] + p["away"], abs_tol=1e-12)
    assert math.isclose(dc["12"], p["home"] + p["away"], abs_tol=1e-12)
    dnb = {r["selection"]: r["probability"] for r in markets["draw_no_bet"]}
    assert math.isclose(dnb["home"], p["home"] / (p["home"] + p["away"]), abs_tol=1e-12)
    for name, sides in (("totals", ("over", "under")), ("asian_handicap", ("home", "away"))):
        by_line: dict[float, dict[str, dict[str, Any]]] = {}
        for r in markets[name]:
            by_line.setdefault(r["line"], {})[r["selection"]] = r
            assert math.isclose(sum(r["outcomes"].values()), 1.0, abs_tol=1e-12), (name, r)
        assert len(by_line) > 10
        for line, recs in by_line.items():
            assert set(recs) == set(sides)
            assert math.isclose(sum(recs[s]["probability"] for s in sides), 1.0, abs_tol=1e-12), (name, line)
    for name, recs in markets.items():
        for r in recs:
            if name == "expected_goals":
                assert set(r) == {"selection", "value"} and r["value"] > 0
            else:
                assert math.isclose(r["fair_price"], 1 / r["probability"], rel_tol=1e-12), (name, r)
    xg = {r["selection"]: r["value"] for r in markets["expected_goals"]}
    assert 1.5 < xg["home"] + xg["away"] < 4.5


def test_every_market_is_priced_and_consistent(ctx: SimpleNamespace) -> None:
    out = _predict(ctx, {**ctx.plain[0], "markets": list(MARKETS)})
    assert out["model"]["variant"] == "ratings" and "offers" not in out
    assert list(out["markets"]) == list(MARKETS)
    _assert_consistent(out["markets"])
    # The grid's 1X2 is the answer's probabilities.
    one_x_two = {r["selection"]: r["probability"] for r in out["markets"]["1x2"]}
    assert one_x_two.keys() == out["probabilities"].keys()
    for k, v in out["probabilities"].items():
        assert math.isclose(one_x_two[k], v, abs_tol=TOL)
    # Records keep the pricing module's shape: no null-padded keys.
    assert set(out["markets"]["1x2"][0]) == {"selection", "probability", "fair_price"}
    assert set(out["markets"]["totals"][0]) == {"selection", "line", "probability", "fair_price", "outcomes"}
    # 1x2 alone: the classifier's probabilities themselves.
    only = _predict(ctx, {**ctx.plain[0], "markets": ["1x2"]})
    assert [(r["selection"], r["probability"]) for r in only["markets"]["1x2"]] == list(
        out["probabilities"].items())


def test_without_markets_the_answer_is_todays(ctx: SimpleNamespace) -> None:
    r = ctx.client.post("/v1/predict", json=ctx.plain[1])
    assert r.status_code == 200
    assert list(r.json()) == list(LegacyPrediction.model_fields)
    assert r.content == LegacyPrediction.model_validate_json(r.content).model_dump_json().encode()
    batch = ctx.client.post("/v1/predict/batch", json={"matches": [ctx.with_odds[1], ctx.plain[1]]})
    assert batch.status_code == 200
    assert batch.content == LegacyBatch.model_validate_json(batch.content).model_dump_json().encode()
    # Asking for markets changes nothing else.
    priced = _predict(ctx, {**ctx.plain[1], "markets": ["btts"]})
    assert {k: v for k, v in priced.items() if k != "markets"} == r.json()


def test_offers_carry_edge_and_kelly_of_offer_value(ctx: SimpleNamespace) -> None:
    prices = [
        {"market": "1x2", "selection": "home", "price": 2.2},
        {"market": "double_chance", "selection": "X2", "price": 1.9},
        {"market": "draw_no_bet", "selection": "away", "price": 3.1},
        {"market": "btts", "selection": "yes", "price": 1.75},
        {"market": "totals", "selection": "over", "line": 2.5, "price": 1.95},
        {"market": "totals", "selection": "under", "line": 2.75, "price": 1.8},
        {"market": "asian_handicap", "selection": "home", "line": -0.25, "price": 2.05},
        {"market": "asian_handicap", "selection": "away", "line": 1.0, "price": 1.6},
        {"market": "correct_score", "selection": "1-1", "price": 7.5},
    ]
    out = _predict(ctx, {**ctx.with_odds[2], "markets": ["btts"], "prices": prices})
    assert out["model"]["variant"] == "market"
    # The markets asked for, then those only the prices named (priced anyway).
    assert list(out["markets"]) == ["btts", "1x2", "double_chance", "draw_no_bet", "totals",
                                    "asian_handicap", "correct_score"]
    assert len(out["offers"]) == len(prices)
    for want, got in zip(prices, out["offers"], strict=True):
        rec = find_selection(out["markets"], want["market"], want["selection"], want.get("line"))
        value = offer_value(rec, want["price"])
        assert got == {"market": want["market"], "selection": want["selection"], "line": want.get("line"),
                       "price": want["price"], "probability": rec["probability"], **value}
        assert got["kelly"] >= 0.0
    # Prices without markets: the default 1x2 and the offered markets.
    only = _predict(ctx, {**ctx.plain[2], "prices": [prices[4]]})
    assert list(only["markets"]) == ["1x2", "totals"] and len(only["offers"]) == 1


def test_market_model_prices_off_the_totals_odds_like_offline(ctx: SimpleNamespace,
                                                             market_with_goals: Any) -> None:
    from soccer_assets.modeling.goals.scoreline import model_grids

    r = ctx.client.post("/v1/predict/batch",
                        json={"matches": [{**b, "markets": list(MARKETS)} for b in ctx.with_odds]})
    assert r.status_code == 200, r.text
    offline = price_markets(model_grids(market_with_goals, ctx.rows).grids, MARKETS)
    for item, want, body in zip(r.json()["results"], offline, ctx.with_odds, strict=True):
        pred = item["prediction"]
        assert pred["model"] == {"name": "mk-market", "version": ctx.versions["market"],
                                 "alias": "champion", "variant": "market"}
        assert_same_records(pred["markets"], want, body["home_team"], TOL)
        _assert_consistent(pred["markets"])
    # Without the totals odds the goal model starts from its prior: another expected total.
    bare = [{k: v for k, v in b.items() if k != "totals_odds"} for b in ctx.with_odds[:3]]
    xg_bare = ctx.client.post("/v1/predict/batch", json={"matches": [
        {**b, "markets": ["expected_goals"]} for b in bare]}).json()["results"]
    for with_totals, without in zip(r.json()["results"][:3], xg_bare, strict=True):
        a = with_totals["prediction"]["markets"]["expected_goals"]
        b = without["prediction"]["markets"]["expected_goals"]
        assert abs(sum(x["value"] for x in a) - sum(x["value"] for x in b)) > 1e-6
        assert with_totals["prediction"]["probabilities"] == without["prediction"]["probabilities"]


def test_batch_items_carry_their_own_markets(ctx: SimpleNamespace) -> None:
    body = {"matches": [
        {**ctx.plain[3], "markets": ["totals", "btts"]},
        ctx.plain[4],
        {**ctx.plain[5], "home_team": "Arsenl", "markets": ["btts"]},
        {**ctx.with_odds[3], "prices": [{"market": "btts", "selection": "no", "price": 2.0}]},
    ]}
    r = ctx.client.post("/v1/predict/batch", json=body)
    assert r.status_code == 200, r.text
    first, second, third, fourth = r.json()["results"]
    assert list(first["prediction"]["markets"]) == ["totals", "btts"]
    assert "markets" not in second["prediction"] and "offers" not in second["prediction"]
    assert third["error"]["code"] == "unknown_team"
    assert list(fourth["prediction"]["markets"]) == ["1x2", "btts"]
    assert fourth["prediction"]["offers"][0]["selection"] == "no"
    single = _predict(ctx, body["matches"][0])
    assert_same_records(first["prediction"]["markets"], single["markets"], "batch vs single", TOL)


def test_invalid_markets_and_prices_are_422_and_nothing_is_logged(ctx: SimpleNamespace) -> None:
    engine = ctx.warehouse.engine
    logged, jobs = plog.count_predictions(engine), jobs_store.count_jobs(engine)
    base = ctx.plain[0]
    price = {"market": "totals", "selection": "over", "line": 2.5, "price": 1.9}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({**base, "markets": ["1x2", "corners"]}, ["corners", *MARKETS]),
        ({**base, "markets": []}, ["at least 1"]),
        ({**base, "prices": [{**price, "selection": "ovr"}]}, ["'ovr'", "over, under"]),
        ({**base, "prices": [{**price, "line": 2.6}]}, ["line 2.6", "0.5 to 5.5"]),
        ({**base, "prices": [{k: v for k, v in price.items() if k != "line"}]}, ["needs its line"]),
        ({**base, "prices": [{"market": "1x2", "selection": "draw", "line": 0.5, "price": 3.0}]},
         ["has no lines"]),
        ({**base, "prices": [{"market": "correct_score", "selection": "9-9", "price": 90.0}]},
         ["'9-9'", "6-6, other"]),
        ({**base, "prices": [{"market": "expected_goals", "selection": "home", "price": 2.0}]},
         ["takes no price"]),
        ({**base, "prices": [{**price, "price": 1.0}]}, ["greater than 1"]),
        ({**base, "prices": [{**price, "stake": 10}]}, ["stake"]),
        ({**base, "totals_odds": {"over": 0.5, "under": 1.9}}, ["greater than 1"]),
        ({**base, "totals_odds": {"over": 1.9}}, ["under"]),
    ]
    for body, words in cases:
        r = ctx.client.post("/v1/predict", json=body)
        assert r.status_code == 422, (body, r.text)
        assert all(w in r.text for w in words), (words, r.text)
        batch = ctx.client.post("/v1/predict/batch", json={"matches": [ctx.plain[1], body]})
        assert batch.status_code == 422, batch.text
        job = ctx.client.post("/v1/jobs", json={"matches": [body]}, headers=HEADERS)
        assert job.status_code == 422, job.text
    assert plog.count_predictions(engine) == logged
    assert jobs_store.count_jobs(engine) == jobs


def test_the_prediction_log_records_markets_and_offers(ctx: SimpleNamespace) -> None:
    body = {**ctx.plain[6], "markets": list(MARKETS),
            "prices": [{"market": "asian_handicap", "selection": "away", "line": 0.25, "price": 2.4}]}
    out = _predict(ctx, body)
    row = plog.read_prediction_log(ctx.warehouse.engine, limit=1)[0]
    assert (row["home_team"], row["source"]) == (out["home_team"], "api")
    assert row["markets"] == compact(out["markets"])
    assert list(row["markets"]) == list(MARKETS)
    assert row["markets"]["totals"]["over"]["2.5"] == find_selection(out["markets"], "totals", "over",
                                                                    2.5)["probability"]
    assert row["markets"]["correct_score"]["other"] > 0
    assert row["offers"] == out["offers"]
    _predict(ctx, ctx.plain[6])
    plain_row = plog.read_prediction_log(ctx.warehouse.engine, limit=1)[0]
    assert plain_row["markets"] is None and plain_row["offers"] is None


def test_a_job_carries_markets_like_the_sync_api(ctx: SimpleNamespace) -> None:
    items = [
        {**ctx.plain[7], "markets": ["1x2", "asian_handicap"]},
        {**ctx.with_odds[7], "markets": list(MARKETS),
         "prices": [{"market": "totals", "selection": "under", "line": 3.5, "price": 1.3}]},
        ctx.plain[0],
    ]
    r = ctx.client.post("/v1/jobs", json={"matches": items}, headers=HEADERS)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    runner = JobRunner(ctx.settings, Warehouse(ctx.settings.warehouse_url))
    try:
        assert runner.run(job_id) == "succeeded"
    finally:
        runner.warehouse.dispose()
    job = ctx.client.get(f"/v1/jobs/{job_id}", headers=HEADERS).json()
    results = job["results"]
    assert [x["ok"] for x in results] == [True, True, True], results
    for item, res in zip(items[:2], results[:2], strict=True):
        sync = _predict(ctx, item)
        assert res["model"]["version"] == sync["model"]["version"]
        assert_same_records(res["markets"], sync["markets"], item["home_team"], TOL)
        assert_same_records(res.get("offers"), sync.get("offers"), item["home_team"], TOL)
    assert "markets" not in results[2] and "offers" not in results[2]
    logged = [r for r in plog.read_prediction_log_rows(ctx.warehouse.engine) if r["job_id"] == job_id]
    assert sorted(r["item_index"] for r in logged) == [0, 1, 2]
    by_index = {r["item_index"]: r for r in logged}
    assert by_index[1]["markets"] == compact(results[1]["markets"])
    assert by_index[1]["offers"] == results[1]["offers"] and by_index[2]["markets"] is None


def test_openapi_documents_markets(ctx: SimpleNamespace) -> None:
    spec = ctx.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    req = schemas["MatchRequest"]
    assert any("markets" in ex for ex in req["examples"])
    assert set(json.dumps(req["properties"]["markets"]).split('"')) >= set(MARKETS)
    assert {"totals_odds", "prices"} <= set(req["properties"])
    assert schemas["OfferedPrice"].get("examples")
    assert {"markets", "offers"} <= set(schemas["PredictionResponse"]["properties"])
    assert "markets" not in schemas["PredictionResponse"]["required"]
    assert {"selection", "line", "probability", "fair_price", "outcomes", "value"} <= set(
        schemas["SelectionRecord"]["properties"])
    assert "409" in spec["paths"]["/v1/predict"]["post"]["responses"]
