"""Online features and predictions: ``team_state`` → the pipeline's pure feature functions → booster.

The features of a request (league, home, away, kick-off date D, optional opening odds) are exactly
what the offline build computes for a match on D: the league's states (all matches before
``as_of`` ≤ D), ``resolve_team_state`` for D's season (season roll-over, promoted and new teams),
then ``match_feature_vector``. Used by the API (sync and batch) and by the job worker.

Markets (:mod:`soccer_serving.markets`) are priced here too, per model group in one grid fit, so a
match whose markets cannot be priced is an error like any other and never a logged prediction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soccer_assets.core.seasons import season_of_date
from soccer_assets.core.teams import UnknownTeamError, resolve_team
from soccer_assets.features.state import (
    FEATURE_COLUMNS,
    TeamState,
    match_feature_vector,
    resolve_team_state,
)
from soccer_assets.storage.prediction_log import finite_or_none
from soccer_serving import markets as mk
from soccer_serving.registry import (
    OUTCOMES,
    LoadedModel,
    feature_params_hash,
    serving_feature_params,
)
from soccer_serving.schemas import MatchRequest
from soccer_serving.settings import ServingSettings
from soccer_serving.team_states import MEMO_LIMIT, LeagueStates, NoTeamState, TeamStateStore


class PredictionError(Exception):
    """A request that cannot be answered; ``status`` is the HTTP status it maps to."""

    status = 422
    code = "invalid_request"

    def __init__(self, message: str, *, suggestions: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions or []

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.suggestions:
            out["suggestions"] = self.suggestions
        return out


class UnknownLeague(PredictionError):
    status = 404
    code = "unknown_league"


class UnknownTeam(PredictionError):
    status = 404
    code = "unknown_team"


class InvalidMatch(PredictionError):
    status = 422
    code = "invalid_match"


class NoModel(PredictionError):
    status = 503
    code = "model_unavailable"


class FeatureStoreMismatch(PredictionError):
    status = 503
    code = "feature_params_mismatch"


class KickoffBeforeState(PredictionError):
    """The team state already holds matches after the kickoff: a body that is valid in itself but
    conflicts with the current state (409, not 422)."""

    status = 409
    code = "kickoff_before_team_state"


class StaleTeamState(PredictionError):
    """The kickoff is further after the team state than the horizon allows (refuse mode)."""

    status = 422
    code = "stale_team_state"


class MarketsUnavailable(PredictionError):
    """Markets beyond 1X2 asked of a served model that has no goal model (so no score grid)."""

    status = 409
    code = "markets_unavailable"


@dataclass(frozen=True)
class MatchQuery:
    """One match to predict (names as the user wrote them)."""

    league: str
    home_team: str
    away_team: str
    kickoff: dt.date | None = None
    odds: tuple[float, float, float] | None = None
    season: str | None = None
    totals_odds: tuple[float, float] | None = None
    # Markets to price (None: the request asked for none) and the offered prices.
    markets: tuple[str, ...] | None = None
    prices: tuple[mk.PriceQuery, ...] = ()


def match_query(m: MatchRequest) -> MatchQuery:
    """An API request body (or a validated job item) → ``MatchQuery``."""
    odds = (m.odds.home, m.odds.draw, m.odds.away) if m.odds is not None else None
    totals = (m.totals_odds.over, m.totals_odds.under) if m.totals_odds is not None else None
    prices = tuple(mk.PriceQuery(p.market, p.selection, p.line, p.price) for p in m.prices or ())
    return MatchQuery(m.league, m.home_team, m.away_team, m.kickoff, odds, m.season, totals,
                      mk.requested_markets(m.markets, prices), prices)


@dataclass(frozen=True)
class Prediction:
    league: str
    season: str
    home_team: str
    away_team: str
    kickoff: dt.date
    odds: tuple[float, float, float] | None
    p_home: float
    p_draw: float
    p_away: float
    model: LoadedModel
    team_state_as_of: dt.date
    team_state_updated_at: dt.datetime
    # The model's input features (logged for drift monitoring).
    features: Mapping[str, float] | None = None
    # {market: [selection record]} and the offers, when the request asked for them.
    markets: dict[str, list[dict[str, Any]]] | None = None
    offers: list[dict[str, Any]] | None = None
    # Days from the team state's as_of to the kickoff, and whether that is past the horizon.
    team_state_age_days: int = 0
    stale: bool = False

    @property
    def outcome(self) -> str:
        # np.argmax's answer (the first of equal maxima) without building an array per call.
        h, d, a = self.p_home, self.p_draw, self.p_away
        return OUTCOMES[0 if h >= d and h >= a else 1 if d >= a else 2]

    def log_row(self) -> dict[str, Any]:
        """Columns of ``prediction_log`` for this prediction."""
        o = self.odds or (None, None, None)
        return {
            "league": self.league,
            "season": self.season,
            "home_team": self.home_team,
            "away_team": self.away_team,
            "kickoff": self.kickoff,
            "odds_home": o[0],
            "odds_draw": o[1],
            "odds_away": o[2],
            "p_home": self.p_home,
            "p_draw": self.p_draw,
            "p_away": self.p_away,
            "model_name": self.model.name,
            "model_version": self.model.version,
            "model_alias": self.model.alias,
            "team_state_as_of": self.team_state_as_of,
            "team_state_updated_at": self.team_state_updated_at,
            # JSON has no NaN (PostgreSQL refuses it): a missing feature is logged as null.
            "features": None if self.features is None else finite_or_none(self.features),
            "markets": None if self.markets is None else mk.compact(self.markets),
            "offers": self.offers,
        }


@dataclass(frozen=True)
class _Prepared:
    query: MatchQuery
    league: LeagueStates
    season: str
    kickoff: dt.date
    home: str
    away: str
    features: dict[str, float]
    variant: str
    age_days: int
    stale: bool


class Predictor:
    """Features + model → probabilities for a list of matches (errors per match)."""

    @classmethod
    def from_settings(cls, store: TeamStateStore, settings: ServingSettings) -> Predictor:
        return cls(store, horizon_days=settings.state_horizon_days,
                   refuse_stale=settings.stale_state == "refuse")

    def __init__(self, store: TeamStateStore, today: Any = None, *, horizon_days: int = 120,
                 refuse_stale: bool = False):
        """``horizon_days`` / ``refuse_stale``: settings ``state_horizon_days`` / ``stale_state``."""
        self.store = store
        self.horizon_days = horizon_days
        self.refuse_stale = refuse_stale
        self.params = serving_feature_params()
        self.params_hash = feature_params_hash(self.params)
        self._today = today or (lambda: dt.datetime.now(dt.UTC).date())

    # -- teams ---------------------------------------------------------------------------
    def resolve(self, name: str, league: LeagueStates, *, io: bool = True) -> str:
        """Canonical name of a team of ``league``; a team known elsewhere enters as a newcomer."""
        found = league.names.get(name)
        if found is not None:
            return found
        found = self._resolve(name, league, io)
        if len(league.names) < MEMO_LIMIT:  # names are user input: bound the memo
            league.names[name] = found
        return found

    def _resolve(self, name: str, league: LeagueStates, io: bool) -> str:
        try:
            return resolve_team(name, league.teams)
        except UnknownTeamError as in_league:
            try:
                return resolve_team(name, self.store.known_teams(io=io), n=1)
            except UnknownTeamError:
                suggestions = in_league.suggestions
                raise UnknownTeam(
                    f"unknown team {name!r} in {league.league}"
                    + (f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""),
                    suggestions=suggestions,
                ) from None

    # -- features ------------------------------------------------------------------------
    def _prepare(self, q: MatchQuery, models: Mapping[str, LoadedModel], io: bool = True) -> _Prepared:
        try:
            league = self.store.league(q.league, io=io)
        except NoTeamState as exc:
            raise UnknownLeague(str(exc), suggestions=exc.known) from None
        if self.params_hash not in league.feature_params_hashes:
            raise FeatureStoreMismatch(
                f"team_state of {q.league} was built with other feature parameters "
                f"({sorted(league.feature_params_hashes)[0][:12]}…, serving {self.params_hash[:12]}…)"
            )
        home = self.resolve(q.home_team, league, io=io)
        away = self.resolve(q.away_team, league, io=io)
        if home == away:
            raise InvalidMatch(f"home and away are the same team ({home})")
        kickoff = q.kickoff or self._today()
        if kickoff < league.as_of:
            raise KickoffBeforeState(
                f"kickoff {kickoff} is before the team state's as_of {league.as_of} "
                f"(the state already holds matches up to {league.as_of - dt.timedelta(days=1)})"
            )
        age = (kickoff - league.as_of).days
        stale = age > self.horizon_days
        if stale and self.refuse_stale:
            raise StaleTeamState(
                f"kickoff {kickoff} is {age} days after the team state of {q.league} (as_of "
                f"{league.as_of}), more than the horizon of {self.horizon_days} days "
                "(SOCCER_STATE_HORIZON_DAYS): the state misses every match since"
            )
        season = q.season or season_of_date(kickoff)
        try:
            h = self._team_state(league, home, season)
            a = self._team_state(league, away, season)
        except ValueError as exc:
            raise InvalidMatch(f"season {season}: {exc}") from None
        variant = self._variant(q, models)
        feats = match_feature_vector(h, a, kickoff=kickoff, open_odds=q.odds, open_totals=q.totals_odds,
                                     params=self.params)
        return _Prepared(q, league, season, kickoff, home, away, feats, variant, age, stale)

    def _team_state(self, league: LeagueStates, team: str, season: str) -> TeamState:
        key = (team, season)
        st = league.resolved.get(key)
        if st is None:
            st = resolve_team_state(league.states, league.league, team, season, self.params)
            if len(league.resolved) < MEMO_LIMIT:  # seasons are user input too
                league.resolved[key] = st
        return st

    @staticmethod
    def _variant(q: MatchQuery, models: Mapping[str, LoadedModel]) -> str:
        if q.odds is not None and "market" in models:
            return "market"
        if "ratings" in models:
            return "ratings"
        if "market" in models:
            raise NoModel("only the market model is loaded and it needs odds: send odds")
        raise NoModel("no model is loaded (see /ready)")

    # -- predictions ---------------------------------------------------------------------
    def predict(
        self, queries: Sequence[MatchQuery], models: Mapping[str, LoadedModel], *, io: bool = True
    ) -> list[Prediction | PredictionError]:
        """One result per query, in order: a ``Prediction`` or the ``PredictionError`` it raised.

        ``io=False``: from memory only; raises ``NeedsIO`` (before any work is kept) when a
        league's states or the known-team list would have to be read from the warehouse.
        """
        out: list[Prediction | PredictionError | None] = [None] * len(queries)
        groups: dict[str, list[tuple[int, _Prepared]]] = {}
        for i, q in enumerate(queries):
            try:
                p = self._prepare(q, models, io)
            except PredictionError as exc:
                out[i] = exc
                continue
            groups.setdefault(p.variant, []).append((i, p))
        for variant, items in groups.items():
            model = models[variant]
            proba = model.predict_rows([p.features for _, p in items])
            priced = self._price(model, items, proba)
            for (i, p), row, market in zip(items, proba, priced, strict=True):
                ph, pd_, pa = (float(x) for x in row)
                if not all(math.isfinite(x) for x in (ph, pd_, pa)):
                    out[i] = InvalidMatch("the model returned non-finite probabilities")
                    continue
                if isinstance(market, PredictionError):
                    out[i] = market
                    continue
                if market is None and p.query.markets is not None:  # 1x2 alone: the classifier's
                    market = mk.one_x_two_market((ph, pd_, pa))
                try:
                    offers = mk.offers(market or {}, p.query.prices) if p.query.prices else None
                except (KeyError, ValueError) as exc:  # the request was checked: should not happen
                    out[i] = InvalidMatch(f"cannot price the offer: {exc.args[0]}")
                    continue
                out[i] = Prediction(
                    league=p.query.league,
                    season=p.season,
                    home_team=p.home,
                    away_team=p.away,
                    kickoff=p.kickoff,
                    odds=p.query.odds,
                    p_home=ph,
                    p_draw=pd_,
                    p_away=pa,
                    model=model,
                    team_state_as_of=p.league.as_of,
                    team_state_updated_at=p.league.updated_at,
                    features=p.features,
                    markets=market,
                    offers=offers,
                    team_state_age_days=p.age_days,
                    stale=p.stale,
                )
        return [r for r in out if r is not None]

    @staticmethod
    def _price(model: LoadedModel, items: Sequence[tuple[int, _Prepared]], proba: np.ndarray
               ) -> list[dict[str, list[dict[str, Any]]] | PredictionError | None]:
        """Per item, its grid-priced markets, the error why not, or None (no grid needed)."""
        # Rows whose 1X2 is not finite are refused anyway; they must not fail the others' grid fit.
        finite = np.all(np.isfinite(proba), axis=1)
        wanted = [k for k, (_, p) in enumerate(items) if finite[k] and mk.needs_grid(p.query.markets)]
        out: list[dict[str, list[dict[str, Any]]] | PredictionError | None] = [None] * len(items)
        if not wanted:
            return out
        if not mk.has_goal_model(model.trained):
            err = MarketsUnavailable(
                f"the served {model.variant} model ({model.name} v{model.version}) has no goal model, "
                "so it prices only the 1x2 market; ask for markets [\"1x2\"]"
            )
            for k in wanted:
                out[k] = err
            return out
        rows = [items[k][1].features for k in wanted]
        markets = [items[k][1].query.markets or () for k in wanted]
        try:
            priced: list[Any] = mk.grid_markets(model.trained, rows, FEATURE_COLUMNS, markets)
        except ValueError as exc:  # e.g. a goal model predicting a non-positive total
            priced = [InvalidMatch(f"cannot fit the score grid: {exc}")] * len(wanted)
        for k, one in zip(wanted, priced, strict=True):
            out[k] = one
        return out
