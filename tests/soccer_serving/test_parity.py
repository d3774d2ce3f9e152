"""Online == offline: every 2023-24 Premier League match, served from ``team_state`` as of its match
day, gets the probabilities of the offline feature table run through the same model (1e-9).

Both packagings are covered: the ratings champion is registered the way the Dagster pipeline does
it (``soccer_assets.storage.model_store`` pyfunc, offline = ``modeling.train.predict_proba``), the market
champion as an ``mlflow.xgboost`` Booster (offline = ``booster.predict(DMatrix(X))``).

The ratings champion carries a goal model, so every match is also asked for every market: the
served records equal ``price_markets(model_grids(model, offline_rows).grids, MARKETS)``. The
market champion has none: markets beyond 1X2 are refused (409), the 1X2 market alone is served.

Real pieces: the shared E0 files (2012-13 … 2023-24), the repo's feature build and trainer, an MLflow
tracking server with the models registered per the contract, PostgreSQL for the warehouse, Redis.
The API runs in-process (its lifespan, then httpx over ASGI) to keep the ~750 requests fast.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from fastapi import FastAPI

from soccer_assets.core.seasons import code_to_season
from soccer_assets.features.build import select_open_odds
from soccer_assets.features.state import ALL_FEATURES
from soccer_assets.sources.parser import parse_season_csv
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from soccer_serving.main import create_app
from soccer_serving.settings import ServingSettings
from tests.soccer_serving.conftest import REDIS_URL, TEST_SEASON
from tests.soccer_serving.support import (
    assert_same_records,
    data_root,
    register_model,
    register_pipeline_model,
    write_team_state,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOL = 1e-9


@pytest.fixture(scope="module")
def parity_app(pg_module_url: str, mlflow_uri: str, redis_namespace: str, ratings_with_goals: Any,
               market_booster: xgb.Booster, e0_features: pd.DataFrame) -> Iterator[tuple[FastAPI, dict]]:
    feats = e0_features
    versions = {
        "ratings": register_pipeline_model(mlflow_uri, "parity-ratings", ratings_with_goals,
                                           feats.head(50)),
        "market": register_model(mlflow_uri, "parity-market", market_booster, feats[ALL_FEATURES].head(50)),
    }
    w = Warehouse(pg_module_url)
    jobs_store.create_serving_schema(w.engine)
    # The teams promoted into E0 for 2023-24 are known to the warehouse from their E1 matches
    # (the pipeline loads E1 too); the API lets them enter E0 as newcomers.
    e1 = parse_season_csv((data_root() / "mmz4281" / "2223" / "E1.csv").read_bytes(), "E1",
                          code_to_season("2223")).matches
    w.replace_partition("E1", "2022-23", e1, source_sha256="test")
    settings = ServingSettings(
        warehouse_url=pg_module_url,
        mlflow_tracking_uri=mlflow_uri,
        model_name_ratings="parity-ratings",
        model_name_market="parity-market",
        redis_url=REDIS_URL,
        broker_namespace=redis_namespace,
        team_state_ttl_seconds=0,
        registry_poll_seconds=3600,
        startup_load_timeout_seconds=180,
        batch_max_items=50,
    )
    yield create_app(settings), {"versions": versions, "warehouse": w}
    w.dispose()


def test_served_probabilities_equal_offline_for_every_match_of_the_season(
    parity_app: tuple[FastAPI, dict],
    e0_matches: pd.DataFrame,
    e0_features: pd.DataFrame,
    ratings_with_goals: Any,
    market_booster: xgb.Booster,
) -> None:
    app, ctx = parity_app
    asyncio.run(_check_season(app, ctx, e0_matches, e0_features, ratings_with_goals, market_booster))


async def _check_season(app: FastAPI, ctx: dict[str, Any], e0_matches: pd.DataFrame,
                        e0_features: pd.DataFrame, ratings_trained: Any,
                        market_booster: xgb.Booster) -> None:
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://parity"
    ) as client:
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        served = (await client.get("/v1/model")).json()["variants"]
        assert served["ratings"]["loaded"]["format"] == "outcome_pyfunc"
        assert served["ratings"]["loaded"]["small_requests"] == "numpy trees"
        assert "assumed" in served["ratings"]["loaded"]["feature_params"]  # the pipeline logs none yet
        assert served["market"]["loaded"]["format"] == "xgboost"
        assert served["market"]["loaded"]["feature_params"] == "match the serving parameters"
        await _compare(client, ctx, e0_matches, e0_features, ratings_trained, market_booster)
        await _no_goal_model(client, ctx)


async def _compare(client: httpx.AsyncClient, ctx: dict[str, Any], e0_matches: pd.DataFrame,
                   e0_features: pd.DataFrame, ratings_trained: Any,
                   market_booster: xgb.Booster) -> None:
    from soccer_assets.modeling.goals.scoreline import model_grids
    from soccer_assets.modeling.markets.pricing import MARKETS, price_markets
    from soccer_assets.modeling.train import predict_proba

    w: Warehouse = ctx["warehouse"]

    # Offline: the feature table of the whole league history, through the same boosters.
    matches = e0_matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
    feats = e0_features.set_index("match_id").loc[matches["match_id"]]
    off_ratings = predict_proba(ratings_trained, feats.reset_index())
    off_market = market_booster.predict(xgb.DMatrix(feats[ALL_FEATURES]))
    odds = select_open_odds(matches)
    season_idx = np.flatnonzero((matches["season"] == TEST_SEASON).to_numpy())
    assert len(season_idx) == 380
    season_rows = feats.reset_index().iloc[season_idx]
    off_markets = dict(zip(season_idx, price_markets(model_grids(ratings_trained, season_rows).grids,
                                                     MARKETS), strict=True))

    served = 0
    max_diff = 0.0
    for day in sorted(matches.loc[season_idx, "date"].dt.date.unique()):
        write_team_state(w, "E0", e0_matches, day)
        idx = [i for i in season_idx if matches.at[i, "date"].date() == day]
        batch, priced = [], []
        for i in idx:
            m = matches.loc[i]
            body = {"league": "E0", "home_team": m.home_team, "away_team": m.away_team,
                    "kickoff": day.isoformat()}
            priced.append({**body, "markets": list(MARKETS)})
            r = await client.post("/v1/predict", json=body)
            assert r.status_code == 200, (body, r.text)
            out = r.json()
            got = [out["probabilities"][k] for k in ("home", "draw", "away")]
            diff = float(np.max(np.abs(np.asarray(got) - off_ratings[i])))
            max_diff = max(max_diff, diff)
            assert diff <= TOL, (m.match_id, got, off_ratings[i])
            assert out["model"] == {"name": "parity-ratings", "version": ctx["versions"]["ratings"],
                                    "alias": "champion", "variant": "ratings"}
            assert out["team_state"]["as_of"] == day.isoformat()
            assert out["season"] == TEST_SEASON
            served += 1
            if np.all(np.isfinite(odds[i])):
                batch.append((i, {**body, "odds": dict(zip(("home", "draw", "away"), map(float, odds[i]),
                                                           strict=True))}))
        # With opening odds the market champion answers: the whole day in one batch call.
        r = await client.post("/v1/predict/batch", json={"matches": [b for _, b in batch]})
        assert r.status_code == 200, r.text
        for (i, _), item in zip(batch, r.json()["results"], strict=True):
            pred = item["prediction"]
            assert pred is not None, item
            assert pred["model"]["variant"] == "market"
            got = [pred["probabilities"][k] for k in ("home", "draw", "away")]
            diff = float(np.max(np.abs(np.asarray(got) - off_market[i])))
            max_diff = max(max_diff, diff)
            assert diff <= TOL, (matches.at[i, "match_id"], got, off_market[i])
            served += 1
        # Every market of the day's matches in one batch call (one grid fit): the offline prices.
        r = await client.post("/v1/predict/batch", json={"matches": priced})
        assert r.status_code == 200, r.text
        for i, item in zip(idx, r.json()["results"], strict=True):
            got = item["prediction"]["markets"]
            assert list(got) == list(MARKETS)
            assert_same_records(got, off_markets[i], str(matches.at[i, "match_id"]), TOL)
            served += 1

    assert served >= 2 * 380 + 370
    # Every served prediction was logged with the model version and the state timestamp.
    assert plog.count_predictions(w.engine) == served
    last = plog.read_prediction_log(w.engine, limit=1)[0]
    assert last["model_version"] in ctx["versions"].values()
    assert last["team_state_as_of"] == dt.date.fromisoformat(str(last["kickoff"]))


async def _no_goal_model(client: httpx.AsyncClient, ctx: dict[str, Any]) -> None:
    """The market champion (an ``mlflow.xgboost`` booster) has no goal model: with odds, markets
    beyond 1X2 are a 409 (batch: an item error), the 1X2 market alone is its probabilities."""
    w: Warehouse = ctx["warehouse"]
    logged = plog.count_predictions(w.engine)
    state = (await client.get("/ready")).json()["checks"]["warehouse"]["team_state"][0]
    body = {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": state["as_of"],
            "odds": {"home": 1.9, "draw": 3.6, "away": 4.2}}
    r = await client.post("/v1/predict", json={**body, "markets": ["1x2", "btts"]})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "markets_unavailable" and "goal model" in err["message"]
    assert "parity-market" in err["message"] and err["request_id"]
    r = await client.post("/v1/predict", json={**body, "markets": ["1x2"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model"]["variant"] == "market"
    assert [(x["selection"], x["probability"]) for x in out["markets"]["1x2"]] == list(
        out["probabilities"].items())
    batch = await client.post("/v1/predict/batch", json={"matches": [
        {**body, "prices": [{"market": "totals", "selection": "over", "line": 2.5, "price": 1.9}]},
        {**body, "prices": [{"market": "1x2", "selection": "draw", "price": 3.8}]},
    ]})
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["results"]
    assert first["error"]["code"] == "markets_unavailable" and first["prediction"] is None
    assert second["prediction"]["offers"][0]["selection"] == "draw"
    # Refused items are not logged; the two answered ones are.
    assert plog.count_predictions(w.engine) == logged + 2

