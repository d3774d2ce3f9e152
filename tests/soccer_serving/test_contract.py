"""The request schemas the OpenAPI document publishes accept exactly what the API's validators accept.

Each body below is judged twice, by a JSON Schema validator on the published schema and by the
pydantic model the route validates with, and the two verdicts must agree. (The live API under
``schemathesis --checks all`` is ``test_e2e.py``; this is the cheap, exhaustive part.)
"""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from soccer_serving.market_schemas import OfferedPrice
from soccer_serving.markets import selection_catalogue
from soccer_serving.schemas import JobRequest, MatchRequest


def _verdicts(model: type[BaseModel], body: Any) -> tuple[bool, bool]:
    schema_ok = jsonschema.Draft202012Validator(model.model_json_schema()).is_valid(body)
    try:
        model.model_validate(body)
        model_ok = True
    except ValidationError:
        model_ok = False
    return schema_ok, model_ok


def test_offered_prices_schema_and_validator_agree_on_every_market_selection_and_line():
    selections = sorted({r["selection"] for recs in selection_catalogue().values() for r in recs})
    lines = [None, -3.25, -3.0, -0.25, 0.0, 0.3, 0.5, 2.5, 3.0, 5.5, 5.75]
    markets = [*selection_catalogue(), "corners"]
    disagree, accepted = [], 0
    for market, selection, line in itertools.product(markets, selections, lines):
        body = {"market": market, "selection": selection, "price": 2.0}
        if line is not None:
            body["line"] = line
        schema_ok, model_ok = _verdicts(OfferedPrice, body)
        accepted += model_ok
        if schema_ok != model_ok:
            disagree.append((body, schema_ok, model_ok))
    assert disagree == []
    assert accepted > 70  # many valid offers (line markets too), not only refusals


@pytest.mark.parametrize("body", [
    {},
    {"matches": [{"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea"}]},
    {"league": "E0", "upcoming": True},
    {"league": "E0", "upcoming": False},
    {"league": "E0"},
    {"upcoming": True},
    {"matches": [{"league": "E0", "home_team": "A", "away_team": "B"}], "league": "E0"},
    {"matches": [{"league": "E0", "home_team": "A", "away_team": "B"}], "league": "E0", "upcoming": True},
    {"matches": None, "league": "E0", "upcoming": True},
    {"matches": [], "league": None, "upcoming": None},
])
def test_the_job_body_alternatives_are_in_the_schema(body):
    schema_ok, model_ok = _verdicts(JobRequest, body)
    assert schema_ok == model_ok, body


@pytest.mark.parametrize("season", ["1998-99", "1999-00", "2023-24", "2099-00", "2100-01", "2101-02",
                                    "0000-00", "2023-25", "2023-23", "2023", "1999", "2000", "2100",
                                    "2101", "٢٠٢٣-٢٤", "٢٠٢٣"])
def test_the_season_pattern_is_the_validator_s_rule(season):
    # Without a kickoff the only rule on a season is its own shape.
    body = {"league": "E0", "home_team": "A", "away_team": "B", "season": season}
    schema_ok, model_ok = _verdicts(MatchRequest, body)
    assert schema_ok == model_ok, season


@pytest.mark.parametrize("kickoff", ["1999-12-31", "2000-01-01", "2100-12-31", "2101-01-01"])
def test_the_kickoff_bounds_are_in_the_schema(kickoff):
    body = {"league": "E0", "home_team": "A", "away_team": "B", "kickoff": kickoff}
    schema_ok, model_ok = _verdicts(MatchRequest, body)
    assert schema_ok == model_ok, kickoff


@pytest.mark.parametrize("league", ["E0", "SP1", "SC0", "EC", "ARG", "E01", "e0", "ABCD", "E\u0661"])
def test_league_codes_follow_the_pipeline_s_rule(league):
    from soccer_assets.core.seasons import SeasonError, validate_league

    try:
        validate_league(league)
        pipeline_ok = True
    except SeasonError:
        pipeline_ok = False
    schema_ok, model_ok = _verdicts(MatchRequest, {"league": league, "home_team": "A", "away_team": "B"})
    assert schema_ok == model_ok == pipeline_ok, league
