"""Request and response bodies of the HTTP API (also the OpenAPI schema and its examples)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LEAGUE_PATTERN = r"^[A-Z]{1,3}\d$"
SEASON_PATTERN = r"^\d{4}-\d{2}$"
MIN_KICKOFF = dt.date(2000, 1, 1)
MAX_KICKOFF = dt.date(2100, 12, 31)
Kickoff = Annotated[dt.date, Field(ge=MIN_KICKOFF, le=MAX_KICKOFF)]


class Odds(BaseModel):
    """Pre-match (opening) decimal odds: home win, draw, away win."""

    model_config = ConfigDict(extra="forbid")

    home: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[1.85])
    draw: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[3.6])
    away: float = Field(gt=1.0, le=1000.0, allow_inf_nan=False, examples=[4.5])


class MatchRequest(BaseModel):
    """A match to predict. Team names are matched leniently (aliases, case, accents)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": "2024-05-11"},
                {
                    "league": "E0",
                    "home_team": "Man United",
                    "away_team": "Liverpool",
                    "kickoff": "2024-04-07",
                    "odds": {"home": 3.9, "draw": 4.0, "away": 1.85},
                },
            ]
        },
    )

    league: str = Field(pattern=LEAGUE_PATTERN, description="football-data division code, e.g. E0")
    home_team: str = Field(min_length=1, max_length=80)
    away_team: str = Field(min_length=1, max_length=80)
    kickoff: Kickoff | None = Field(
        default=None,
        description="Match date (default: today, UTC). Must not be before the team state's as_of.",
    )
    odds: Odds | None = Field(default=None, description="Opening odds; selects the market model.")
    season: str | None = Field(
        default=None,
        pattern=SEASON_PATTERN,
        description="Season label (default: from the kick-off date, seasons turn over on 1 July).",
    )


class Probabilities(BaseModel):
    home: float = Field(ge=0.0, le=1.0)
    draw: float = Field(ge=0.0, le=1.0)
    away: float = Field(ge=0.0, le=1.0)


class ModelRef(BaseModel):
    name: str
    version: str
    alias: str | None = None
    variant: Literal["ratings", "market"]


class TeamStateRef(BaseModel):
    as_of: dt.date = Field(description="The state holds every match dated strictly before this day.")
    updated_at: dt.datetime


class PredictionResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "league": "E0",
                    "season": "2023-24",
                    "home_team": "Arsenal",
                    "away_team": "Chelsea",
                    "kickoff": "2024-04-23",
                    "probabilities": {"home": 0.61, "draw": 0.21, "away": 0.18},
                    "predicted_outcome": "H",
                    "model": {
                        "name": "soccer-outcome-ratings",
                        "version": "3",
                        "alias": "champion",
                        "variant": "ratings",
                    },
                    "team_state": {"as_of": "2024-04-21", "updated_at": "2024-04-22T06:00:00Z"},
                }
            ]
        }
    )

    league: str
    season: str
    home_team: str = Field(description="Canonical team name used.")
    away_team: str
    kickoff: dt.date
    probabilities: Probabilities
    predicted_outcome: Literal["H", "D", "A"]
    model: ModelRef
    team_state: TeamStateRef


class ErrorBody(BaseModel):
    code: str
    message: str
    suggestions: list[str] = Field(default_factory=list)
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "matches": [
                        {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea"},
                        {"league": "SP1", "home_team": "Barcelona", "away_team": "Real Madrid"},
                    ]
                }
            ]
        },
    )

    matches: list[MatchRequest] = Field(min_length=1)


class BatchItem(BaseModel):
    index: int
    prediction: PredictionResponse | None = None
    error: ErrorBody | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    n_ok: int
    n_errors: int


class JobRequest(BaseModel):
    """Either a list of matches, or ``{"league": ..., "upcoming": true}`` for its fixtures."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"matches": [{"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea"}]},
                {"league": "E0", "upcoming": True},
            ]
        },
    )

    matches: list[MatchRequest] | None = Field(default=None, min_length=1)
    league: str | None = Field(default=None, pattern=LEAGUE_PATTERN)
    upcoming: bool | None = None

    @model_validator(mode="after")
    def _one_form(self) -> JobRequest:
        listed = self.matches is not None
        upcoming = self.upcoming is True and self.league is not None
        if listed == upcoming:
            raise ValueError('send either "matches" or {"league": ..., "upcoming": true}')
        if listed and (self.league is not None or self.upcoming is not None):
            raise ValueError('"league"/"upcoming" do not go with "matches"')
        return self


class JobAccepted(BaseModel):
    job_id: str
    status: str
    status_url: str


class JobProgress(BaseModel):
    done: int
    total: int | None
    item_errors: int


class JobItemResult(BaseModel):
    index: int
    ok: bool
    league: str | None = None
    home_team: str | None = None
    away_team: str | None = None
    kickoff: dt.date | None = None
    probabilities: Probabilities | None = None
    model: dict[str, Any] | None = None
    team_state_as_of: dt.date | None = None
    error: ErrorBody | None = None


class JobStatus(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: JobProgress
    attempts: int
    worker: str | None = Field(default=None, description="host:pid of the worker of the latest attempt")
    error: str | None = None
    models: dict[str, Any] | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    results: list[JobItemResult]
    results_offset: int
    results_total: int


class ReadyResponse(BaseModel):
    ready: bool
    checks: dict[str, Any]
