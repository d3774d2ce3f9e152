"""``POST /v1/predict`` and ``POST /v1/predict/batch``: synchronous, in-process predictions.

The router is built per app (:func:`build_router`) because the settings shape it: the key check
(and its documented 401) applies only with ``SOCCER_PROTECT_PREDICT``, and the batch limit is part
of the documentation.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from soccer_serving.deps import SettingsDep, StateDep, require_api_key
from soccer_serving.errors import AUTH_ERRORS, COMMON_ERRORS, ApiError, err, request_id, unprocessable
from soccer_serving.predictor import NoModel, Prediction, PredictionError, match_query
from soccer_serving.schemas import (
    BatchItem,
    BatchRequest,
    BatchResponse,
    ErrorBody,
    MatchRequest,
    ModelRef,
    PredictionResponse,
    Probabilities,
    TeamStateRef,
)
from soccer_serving.settings import ServingSettings


def prediction_body(p: Prediction) -> PredictionResponse:
    return PredictionResponse(
        league=p.league,
        season=p.season,
        home_team=p.home_team,
        away_team=p.away_team,
        kickoff=p.kickoff,
        probabilities=Probabilities(home=p.p_home, draw=p.p_draw, away=p.p_away),
        predicted_outcome=p.outcome,  # type: ignore[arg-type]
        model=ModelRef(name=p.model.name, version=p.model.version, alias=p.model.alias,
                       variant=p.model.variant),  # type: ignore[arg-type]
        team_state=TeamStateRef(as_of=p.team_state_as_of, updated_at=p.team_state_updated_at,
                                age_days=p.team_state_age_days, stale=p.stale),
        markets=p.markets,  # type: ignore[arg-type]
        offers=p.offers,  # type: ignore[arg-type]
    )


@functools.lru_cache(maxsize=256)
def _model_json(name: str, version: str, alias: str | None, variant: str) -> dict[str, Any]:
    return ModelRef(name=name, version=version, alias=alias, variant=variant).model_dump(mode="json")  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def _team_state_json(as_of: dt.date, updated_at: dt.datetime) -> dict[str, Any]:
    return TeamStateRef(as_of=as_of, updated_at=updated_at).model_dump(mode="json")


def prediction_json(p: Prediction) -> dict[str, Any]:
    """``prediction_body(p).model_dump(mode="json")`` without building and validating the model.

    The values come from the pipeline's functions and the served booster, so there is nothing to
    validate; the parts that need pydantic's formatting (model and team-state references, dates)
    are formatted by pydantic once per value and reused. A prediction with markets goes through
    the schema (its nested records are many and the grid fit dwarfs the validation).
    """
    if p.markets is not None or p.offers is not None:
        return prediction_body(p).model_dump(mode="json")
    m = p.model
    return {
        "league": p.league,
        "season": p.season,
        "home_team": p.home_team,
        "away_team": p.away_team,
        "kickoff": p.kickoff.isoformat(),
        "probabilities": {"home": p.p_home, "draw": p.p_draw, "away": p.p_away},
        "predicted_outcome": p.outcome,
        "model": _model_json(m.name, m.version, m.alias, m.variant),
        "team_state": {**_team_state_json(p.team_state_as_of, p.team_state_updated_at),
                       "age_days": p.team_state_age_days, "stale": p.stale},
    }


def _json(content: Any) -> Response:
    # orjson writes a NaN as null, as pydantic's JSON mode does.
    return Response(orjson.dumps(content), media_type="application/json")


async def predict(body: MatchRequest, request: Request, state: StateDep) -> Response:
    q = match_query(body)
    [res] = await state.predict_async([q], "api", request_id(request))
    if isinstance(res, PredictionError):
        raise ApiError.from_prediction(res)
    return _json(prediction_json(res))


async def predict_batch(body: BatchRequest, request: Request, state: StateDep,
                        settings: SettingsDep) -> Response:
    if len(body.matches) > settings.batch_max_items:
        raise ApiError(422, "batch_too_large",
                       f"{len(body.matches)} matches; at most {settings.batch_max_items} per batch "
                       "(use /v1/jobs for more)")
    queries = [match_query(m) for m in body.matches]
    results = await state.predict_async(queries, "batch", request_id(request))
    if results and all(isinstance(r, NoModel) for r in results):
        raise ApiError.from_prediction(results[0])  # type: ignore[arg-type]
    items: list[dict[str, Any]] = []
    for i, r in enumerate(results):
        if isinstance(r, Prediction):
            items.append({"index": i, "prediction": prediction_json(r), "error": None})
        else:
            items.append(BatchItem(index=i, error=ErrorBody(code=r.code, message=r.message,
                                                            suggestions=r.suggestions)
                                   ).model_dump(mode="json"))
    n_ok = sum(1 for r in results if isinstance(r, Prediction))
    return _json({"results": items, "n_ok": n_ok, "n_errors": len(results) - n_ok})


def build_router(settings: ServingSettings) -> APIRouter:
    """The predict routes as ``settings`` configure them (key check, documented errors)."""
    protected = settings.protect_predict
    auth = [Depends(require_api_key)] if protected else []
    errors = {
        **COMMON_ERRORS,
        **(AUTH_ERRORS if protected and settings.api_key_list() else {}),
        404: err("Unknown league or team; `suggestions` lists the closest known names."),
        409: err("`markets_unavailable`: markets beyond `1x2` asked of a served model without a "
                 "goal model; `kickoff_before_team_state`: the team state already holds matches "
                 "after the kickoff (it only predicts forward)."),
        503: err("No model is loaded, or the warehouse is unreachable."),
        **unprocessable("`invalid_match` (the same team twice), "
                        "`stale_team_state` (a kickoff more than SOCCER_STATE_HORIZON_DAYS after the "
                        "team state, with SOCCER_STALE_STATE=refuse) or `batch_too_large`."),
    }
    router = APIRouter()
    router.add_api_route(
        "/v1/predict",
        predict,
        methods=["POST"],
        tags=["predict"],
        response_model=PredictionResponse,
        responses=errors,
        dependencies=auth,
        summary="Predict one match",
        description="Features from `team_state` as of the kick-off date, then the champion booster. "
        "`team_state.age_days` says how far the kickoff is past the state; beyond "
        f"SOCCER_STATE_HORIZON_DAYS (now {settings.state_horizon_days}) `team_state.stale` is true"
        + (" (refused: SOCCER_STALE_STATE=refuse). " if settings.stale_state == "refuse" else ". ") +
        "With odds and a `market` champion the market model answers, otherwise the ratings model. "
        "With `markets` and/or `prices` the answer also has `markets` (priced off the match's score "
        "grid, whose 1X2 is the answer's `probabilities`) and `offers` (edge and Kelly stake).",
    )
    router.add_api_route(
        "/v1/predict/batch",
        predict_batch,
        methods=["POST"],
        tags=["predict"],
        response_model=BatchResponse,
        responses={**errors, 404: err("Not used: per-match errors are items."),
                   409: err("Not used: per-match errors are items.")},
        dependencies=auth,
        summary="Predict several matches synchronously",
        description=f"At most SOCCER_BATCH_MAX_ITEMS (now {settings.batch_max_items}) matches; "
        "each item carries a prediction or its own error.",
    )
    return router
