"""Minimal reference server for ``bench/serving.py``: the fastest the stack can serve one prediction.

FastAPI, a pydantic body (league, home_team, away_team, kickoff), two in-memory team vectors looked
up in a dict built at start from the warehouse's ``team_state`` (the same pure functions as the API:
``states_from_records`` → ``resolve_team_state`` → ``rating_feature_vector``), the feature row
assembled in numpy and ``booster.inplace_predict`` on the registered champion. No log, metrics, auth.

Run: ``python bench/reference_server.py --warehouse-url sqlite:///…/warehouse.db
--tracking-uri sqlite:///…/mlflow.db [--port 8002]``. Routes: ``GET /ping``, ``POST /predict``,
``POST /predict/batch`` (``{"matches": [...]}``). Only the ``ratings`` variant (no base margin).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import orjson
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, Field

from soccer_assets.core.names import CHAMPION_ALIAS, REGISTERED_NAMES
from soccer_assets.core.seasons import season_of_date
from soccer_assets.features.elo import elo_expected_home
from soccer_assets.features.form import rest_days
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import (
    TeamKey,
    TeamState,
    rating_feature_vector,
    resolve_team_state,
    states_from_records,
)


class Match(BaseModel):
    league: str = Field(min_length=1, max_length=8)
    home_team: str = Field(min_length=1, max_length=80)
    away_team: str = Field(min_length=1, max_length=80)
    kickoff: dt.date


class Batch(BaseModel):
    matches: list[Match] = Field(min_length=1, max_length=1000)


@dataclass(frozen=True)
class Side:
    """One team's half of a feature row in one role (home or away) of one season."""

    vector: np.ndarray  # zeros outside this role's columns
    elo: float
    expected_gd: float
    last_date: dt.date | None


class Reference:
    """Team vectors per (league, team, season, role) and the booster; ``predict`` is numpy only."""

    def __init__(self, features: list[str], booster: object, n_iter: int, temperature: float,
                 team_state: Mapping[str, tuple[dict[TeamKey, TeamState], dt.date]],
                 params: FeatureParams | None = None):
        self.params = params or FeatureParams()
        self.features = list(features)
        self.booster = booster
        self.iteration_range = (0, n_iter)
        self.temperature = temperature
        col = {c: i for i, c in enumerate(self.features)}
        self.i_diff, self.i_exp = col["elo_diff"], col["elo_expected_home"]
        self.i_gd = col["pi_expected_gd"]
        self.i_rest_h, self.i_rest_a = col["home_rest_days"], col["away_rest_days"]
        shared = {"elo_diff", "elo_expected_home", "pi_expected_gd"}
        own = {"home": ("elo_home", "pi_home_rating", "pi_home_expected_gd"),
               "away": ("elo_away", "pi_away_rating", "pi_away_expected_gd")}
        self.home_mask, self.away_mask = (
            np.array([c not in shared and (c.startswith(f"{role}_") or c in own[role])
                      for c in self.features])
            for role in ("home", "away"))
        self.states = {lg: s for lg, (s, _) in team_state.items()}
        self.as_of = {lg: a for lg, (_, a) in team_state.items()}
        self.sides: dict[tuple[str, str, str], tuple[Side, Side]] = {}
        for league, states in self.states.items():
            season = season_of_date(self.as_of[league])
            for lg, team in states:
                if states[(lg, team)].season == season:
                    self._side(league, team, season)

    def _side(self, league: str, team: str, season: str) -> tuple[Side, Side] | None:
        key = (league, team, season)
        if (got := self.sides.get(key)) is not None:
            return got
        states = self.states.get(league)
        if states is None or (league, team) not in states:
            return None
        st = resolve_team_state(states, league, team, season, self.params)
        # The row of the team against itself holds both of its roles' columns.
        row = rating_feature_vector(st, st, self.as_of[league], self.params)
        full = np.array([row[c] for c in self.features], dtype=np.float64)
        home = Side(np.where(self.home_mask, full, 0.0), st.elo, row["pi_home_expected_gd"], st.last_date)
        away = Side(np.where(self.away_mask, full, 0.0), st.elo, row["pi_away_expected_gd"], st.last_date)
        self.sides[key] = (home, away)
        return home, away

    def row(self, m: Match) -> np.ndarray:
        as_of = self.as_of.get(m.league)
        if as_of is None:
            raise HTTPException(404, f"unknown league {m.league}")
        if m.kickoff < as_of:
            raise HTTPException(422, f"kickoff {m.kickoff} is before the team state's as_of {as_of}")
        season = season_of_date(m.kickoff)
        h, a = self._side(m.league, m.home_team, season), self._side(m.league, m.away_team, season)
        if h is None or a is None:
            raise HTTPException(404, "unknown team")
        home, away = h[0], a[1]
        x = home.vector + away.vector
        x[self.i_diff] = home.elo - away.elo
        x[self.i_exp] = elo_expected_home(home.elo, away.elo, self.params.elo)
        x[self.i_gd] = home.expected_gd - away.expected_gd
        x[self.i_rest_h] = rest_days(home.last_date, m.kickoff, self.params.form)
        x[self.i_rest_a] = rest_days(away.last_date, m.kickoff, self.params.form)
        return x

    def predict(self, rows: np.ndarray) -> np.ndarray:
        margin = self.booster.inplace_predict(  # type: ignore[attr-defined]
            np.ascontiguousarray(rows, dtype=np.float32), iteration_range=self.iteration_range,
            predict_type="margin", missing=np.nan)
        z = np.asarray(margin, dtype=np.float64).reshape(-1, 3) / self.temperature
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _body(m: Match, p: np.ndarray) -> dict[str, object]:
    return {"league": m.league, "home_team": m.home_team, "away_team": m.away_team,
            "kickoff": m.kickoff.isoformat(),
            "probabilities": {"home": float(p[0]), "draw": float(p[1]), "away": float(p[2])}}


def create_app(ref: Reference) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> Response:
        return Response(b"ok")

    @app.post("/predict")
    async def predict(m: Match) -> Response:
        p = ref.predict(ref.row(m)[None, :])[0]
        return Response(orjson.dumps(_body(m, p)), media_type="application/json")

    @app.post("/predict/batch")
    async def predict_batch(b: Batch) -> Response:
        proba = ref.predict(np.stack([ref.row(m) for m in b.matches]))
        results = [_body(m, p) for m, p in zip(b.matches, proba, strict=True)]
        return Response(orjson.dumps({"results": results}), media_type="application/json")

    return app


def load(warehouse_url: str, tracking_uri: str, model_uri: str) -> Reference:
    """The champion (``soccer_assets.storage.model_store``) and every league's team state."""
    import mlflow

    from soccer_assets.storage.model_store import load_outcome_model
    from soccer_assets.storage.warehouse import Warehouse

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    model = load_outcome_model(model_uri)
    if model.base_margin_columns:
        raise SystemExit(f"{model_uri} has a base margin: the reference serves the ratings variant only")
    # One thread: a single row gains nothing from OpenMP, whose idle threads would spin on a core.
    model.booster.set_param({"nthread": 1})
    wh = Warehouse(warehouse_url, create_schema=False)
    try:
        rows = wh.read_team_state()
    finally:
        wh.dispose()
    by_league: dict[str, list[dict]] = {}
    as_of: dict[str, dt.date] = {}
    for r in rows:
        by_league.setdefault(r["league"], []).append(r["state"])
        a = r["as_of"]
        as_of[r["league"]] = a if isinstance(a, dt.date) else dt.date.fromisoformat(str(a)[:10])
    team_state = {lg: (states_from_records(recs), as_of[lg]) for lg, recs in by_league.items()}
    return Reference(model.features, model.booster, model.best_iteration + 1, model.temperature, team_state)


def main() -> int:
    ap = argparse.ArgumentParser(description="Minimal FastAPI + inplace_predict reference server.")
    ap.add_argument("--warehouse-url", required=True)
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--model-uri", default=f"models:/{REGISTERED_NAMES['ratings']}@{CHAMPION_ALIAS}")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8002)
    args = ap.parse_args()

    import uvicorn

    app = create_app(load(args.warehouse_url, args.tracking_uri, args.model_uri))
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
