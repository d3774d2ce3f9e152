"""Request and response bodies of the HTTP API (also the OpenAPI schema and its examples)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from soccer_assets.core.seasons import season_bounds, season_from_start_year
from soccer_serving.market_schemas import (
    MARKETS_DESCRIPTION,
    MarketName,
    Markets,
    Offer,
    OfferedPrice,
    TotalsOdds,
    drop_absent,
)

# [0-9], not \d: the regex engine reads \d as any Unicode digit ("E١" would pass).
LEAGUE_PATTERN = r"^(?:[A-Z]{1,3}[0-9]|[A-Z]{2,3})$"  # soccer_assets.core.seasons.validate_league
MIN_KICKOFF = dt.date(2000, 1, 1)
MAX_KICKOFF = dt.date(2100, 12, 31)
# Every season that can hold a kickoff in the bounds, spelled out: "two consecutive years" is not
# a shape a regular expression can check otherwise, and the contract should say what is refused.
# A calendar-year season (the extra leagues: "2025") is any year in the bounds.
SEASON_PATTERN = "^(?:" + "|".join(
    season_from_start_year(y) for y in range(MIN_KICKOFF.year - 1, MAX_KICKOFF.year + 1)
) + r"|20[0-9]{2}|2100)$"
# JSON Schema has no minimum for a date: the year range as a pattern documents the bounds.
Kickoff = Annotated[dt.date, Field(ge=MIN_KICKOFF, le=MAX_KICKOFF, json_schema_extra={
    "pattern": r"^(?:20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"})]


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
                {
                    "league": "E0",
                    "home_team": "Arsenal",
                    "away_team": "Chelsea",
                    "kickoff": "2024-04-23",
                    "markets": ["1x2", "totals", "btts"],
                    "prices": [
                        {"market": "1x2", "selection": "home", "price": 1.7},
                        {"market": "totals", "selection": "over", "line": 2.5, "price": 1.8},
                    ],
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
        description="Season label, 2023-24 or (calendar-year leagues such as ARG, USA) 2025; default "
        "from the kick-off date (split seasons turn over on 1 July).",
    )
    totals_odds: TotalsOdds | None = Field(
        default=None,
        description="Opening over/under 2.5 odds: inputs of the market model's goal model.",
    )
    markets: list[MarketName] | None = Field(default=None, min_length=1, max_length=20,
                                             description=MARKETS_DESCRIPTION)
    prices: list[OfferedPrice] | None = Field(
        default=None, min_length=1, max_length=100,
        description="Offered prices: each gets its edge and Kelly stake in `offers` (its market is "
        "priced even when not in `markets`).",
    )

    @model_validator(mode="after")
    def _season_holds_the_kickoff(self) -> MatchRequest:
        # A season that does not hold the kick-off would roll the team state to the wrong season
        # (ratings regressed, form reset) without a word.
        if self.season is not None and self.kickoff is not None:
            first, last = season_bounds(self.season)
            if not first <= self.kickoff <= last:
                raise ValueError(f"season {self.season} runs from {first} to {last}; the kickoff "
                                 f"{self.kickoff} is not in it (leave season out to derive it)")
        return self


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
    age_days: int = Field(default=0, description="Days from as_of to the kickoff.")
    stale: bool = Field(
        default=False,
        description="The kickoff is more than SOCCER_STATE_HORIZON_DAYS after as_of: the state "
        "misses every match played since, so the prediction rests on old form and ratings.",
    )


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
                    "team_state": {"as_of": "2024-04-21", "updated_at": "2024-04-22T06:00:00Z",
                                   "age_days": 2, "stale": False},
                },
                {
                    "league": "E0",
                    "season": "2023-24",
                    "home_team": "Chelsea",
                    "away_team": "Arsenal",
                    "kickoff": "2023-10-21",
                    "probabilities": {"home": 0.2911, "draw": 0.2705, "away": 0.4385},
                    "predicted_outcome": "A",
                    "model": {"name": "soccer-outcome-market", "version": "1", "alias": "champion",
                              "variant": "market"},
                    "team_state": {"as_of": "2023-10-21", "updated_at": "2023-10-21T06:00:00Z",
                                   "age_days": 0, "stale": False},
                    "markets": {
                        "1x2": [{"selection": "home", "probability": 0.2911, "fair_price": 3.4354},
                                {"selection": "draw", "probability": 0.2705, "fair_price": 3.6975},
                                {"selection": "away", "probability": 0.4385, "fair_price": 2.2807}],
                        "totals": [
                            {"selection": "over", "line": 2.5, "probability": 0.4989, "fair_price": 2.0045,
                             "outcomes": {"win": 0.4989, "half_win": 0.0, "push": 0.0, "half_loss": 0.0,
                                          "loss": 0.5011}},
                            {"selection": "under", "line": 2.5, "probability": 0.5011, "fair_price": 1.9955,
                             "outcomes": {"win": 0.5011, "half_win": 0.0, "push": 0.0, "half_loss": 0.0,
                                          "loss": 0.4989}},
                        ],
                        "expected_goals": [{"selection": "home", "value": 1.175},
                                           {"selection": "away", "value": 1.4945}],
                    },
                    "offers": [{"market": "1x2", "selection": "away", "line": None, "price": 2.3,
                                "probability": 0.4385, "edge": 0.0084, "kelly": 0.0065}],
                },
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
    markets: Markets | None = Field(
        default=None,
        description="Only when the request had `markets` or `prices`: per market, its selections "
        "(`totals`: both sides at every line 0.5 to 5.5, `asian_handicap`: both sides at every home "
        "line -3 to +3, in quarter goals; the example shows one line). From the match's score grid, "
        "whose 1X2 is `probabilities` to rounding; `1x2` alone is `probabilities` itself.",
    )
    offers: list[Offer] | None = Field(default=None, description="Only when the request had `prices`.")

    @model_serializer(mode="wrap")
    def _without_absent_markets(self, handler: SerializerFunctionWrapHandler):
        # Unannotated return: pydantic would document the annotation instead of the fields.
        return drop_absent(handler(self))


class ErrorBody(BaseModel):
    code: str
    message: str
    suggestions: list[str] = Field(default_factory=list)
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ValidationIssue(BaseModel):
    """One reason a body or parameter did not validate (FastAPI's own shape)."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None
    url: str | None = None


class ValidationErrorResponse(BaseModel):
    """A request that does not validate: ``detail`` names every field and why."""

    detail: list[ValidationIssue]


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


def _job_forms(schema: dict[str, Any]) -> None:
    """The two forms of a job body as ``oneOf``, so the contract says what ``_one_form`` checks."""
    schema["oneOf"] = [
        {"title": "listed matches", "required": ["matches"],
         "properties": {"matches": {"type": "array"}, "league": {"type": "null"},
                        "upcoming": {"type": "null"}}},
        {"title": "a league's upcoming fixtures", "required": ["league", "upcoming"],
         "properties": {"matches": {"type": "null"}, "league": {"type": "string"},
                        "upcoming": {"const": True}}},
    ]
    schema["examples"] = [
        {"matches": [{"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea"}]},
        {"league": "E0", "upcoming": True},
    ]


class JobRequest(BaseModel):
    """Either a list of matches, or ``{"league": ..., "upcoming": true}`` for its fixtures."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_job_forms)

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
    markets: Markets | None = Field(default=None, description="When the item asked for markets.")
    offers: list[Offer] | None = Field(default=None, description="When the item offered prices.")

    @model_serializer(mode="wrap")
    def _without_absent_markets(self, handler: SerializerFunctionWrapHandler):
        # Unannotated return: pydantic would document the annotation instead of the fields.
        return drop_absent(handler(self))


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

    @field_validator("created_at", "started_at", "finished_at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        # The job store writes UTC; SQLite hands it back without an offset. RFC 3339 (the schema's
        # `date-time`) requires one, so the answer carries it.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class ReadyResponse(BaseModel):
    ready: bool
    checks: dict[str, Any]
