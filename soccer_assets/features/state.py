"""Per-team state (ratings + form) and the functions that evolve it one match day at a time.

These are the functions the online API calls on ``team_state``; the offline feature build
(``build.py``) uses exactly the same ones, so online and offline features are bit-for-bit equal.

Leakage: features of a match on date D are computed from the states after all matches dated
strictly before D. Same-day matches never see each other (kick-off times are unknown before
2019-20); ``update_states`` takes a whole match day at once.

Keys and leagues: states are keyed by ``(league, team)``; one league never influences another.
A team moving between two loaded leagues (e.g. E1 -> E0) gets a fresh state in its new league,
because ratings of different leagues are on different scales.

Season carry-over: ratings and form carry across seasons. At a team's first match of a new season
its Elo is shrunk towards ``EloParams.base`` and its pi-ratings towards 0 by the configured
``season_regression`` fractions (default 0: on 2012-24 a 0.1-0.33 regression made Elo's RPS
slightly worse and pi's slightly better, both by < 0.0005), and its season counters (points,
goal difference, matches) are reset. The roll-over is applied lazily by ``resolve_team_state``,
so a state read before the team's first match of the season gives the same features online and
offline.

Promoted / new teams: a team without a state in a league that already has history (an earlier
season) starts from the mean ratings of the teams that left the league at the end of its latest
completed season, approximated by its final table (points, then goal difference, then goals
scored, then name): the bottom ``FeatureParams.relegation_slots`` (default 3) teams, plus, in
leagues with a higher division (``promotion_slots``, e.g. 3 for E1), the top teams that went up.
Why a table proxy rather than "teams absent from the new season": which teams are absent is only
visible by looking at the new season's future fixtures, which would let later matches change
earlier features (and break the leakage property). The bottom three *are* the relegated teams in
E0, SP1 and I1, and nearly so in D1 (two plus a play-off) and F1. The same rule is applied to a
team returning after missing one or more seasons (its old ratings are stale). In a league's first
loaded season every team starts at the base rating (Elo 1500, pi 0). A newly initialised team
gets neutral form priors and the ``promoted`` flag for that season.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from soccer_assets.features.elo import elo_expected_home, elo_update, regress
from soccer_assets.features.form import (
    FormState,
    form_features,
    initial_form,
    rest_days,
    update_form,
)
from soccer_assets.features.market import implied_probabilities, overround
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.pi_ratings import expected_goal_diff, pi_update

TeamKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SeasonSummary:
    """A team's end-of-season table line and ratings (used to seed promoted teams)."""

    team: str
    season: str
    points: float
    goal_diff: float
    goals_for: float
    elo: float
    pi_home: float
    pi_away: float


@dataclass(frozen=True, slots=True)
class TeamState:
    """Everything the features of a team's next match need. Immutable."""

    league: str
    team: str
    season: str  # season of the team's latest match (or of its initialisation)
    elo: float
    pi_home: float
    pi_away: float
    form: FormState
    last_date: dt.date | None
    matches_played: int
    season_matches: int
    season_points: float
    season_goal_diff: float
    season_goals_for: float
    promoted: bool  # initialised from the relegation zone this season
    prev: SeasonSummary | None  # summary of the team's previous season in this league

    def to_record(self) -> dict[str, Any]:
        """JSON-serialisable dict (floats round-trip exactly through JSON's repr)."""
        return {
            "league": self.league,
            "team": self.team,
            "season": self.season,
            "elo": self.elo,
            "pi_home": self.pi_home,
            "pi_away": self.pi_away,
            "form": {
                "ewm": list(self.form.ewm),
                "home_ewm": list(self.form.home_ewm),
                "away_ewm": list(self.form.away_ewm),
                "last": [list(x) for x in self.form.last],
            },
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "matches_played": self.matches_played,
            "season_matches": self.season_matches,
            "season_points": self.season_points,
            "season_goal_diff": self.season_goal_diff,
            "season_goals_for": self.season_goals_for,
            "promoted": self.promoted,
            "prev": None
            if self.prev is None
            else {f: getattr(self.prev, f) for f in SeasonSummary.__slots__},
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> TeamState:
        """Inverse of ``to_record``."""
        f = rec["form"]
        form = FormState(
            ewm=tuple(float(x) for x in f["ewm"]),
            home_ewm=(float(f["home_ewm"][0]), float(f["home_ewm"][1])),
            away_ewm=(float(f["away_ewm"][0]), float(f["away_ewm"][1])),
            last=tuple((float(a), float(b), float(c)) for a, b, c in f["last"]),
        )
        prev = rec.get("prev")
        return cls(
            league=rec["league"],
            team=rec["team"],
            season=rec["season"],
            elo=float(rec["elo"]),
            pi_home=float(rec["pi_home"]),
            pi_away=float(rec["pi_away"]),
            form=form,
            last_date=dt.date.fromisoformat(rec["last_date"]) if rec["last_date"] else None,
            matches_played=int(rec["matches_played"]),
            season_matches=int(rec["season_matches"]),
            season_points=float(rec["season_points"]),
            season_goal_diff=float(rec["season_goal_diff"]),
            season_goals_for=float(rec["season_goals_for"]),
            promoted=bool(rec["promoted"]),
            prev=None if prev is None else SeasonSummary(**prev),
        )


def states_from_records(records: Iterable[Mapping[str, Any]]) -> dict[TeamKey, TeamState]:
    """``TeamState.to_record`` dicts (e.g. rows of the ``team_state`` table) -> states dict.

    Load *every* stored team of a league, including teams no longer in it: their end-of-season
    summaries seed promoted teams and date the league's latest completed season.
    """
    out: dict[TeamKey, TeamState] = {}
    for rec in records:
        st = TeamState.from_record(rec)
        out[(st.league, st.team)] = st
    return out


class MatchRecord(NamedTuple):
    """The fields of a canonical match row that update a state (NaN where missing)."""

    league: str
    season: str
    date: dt.date
    kickoff_ns: int  # kick-off as integer nanoseconds since the epoch (orders same-day matches)
    home_team: str
    away_team: str
    fthg: float
    ftag: float
    hs: float
    as_: float
    hst: float
    ast: float


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _float_col(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def match_records(matches: pd.DataFrame) -> list[MatchRecord]:
    """Canonical match rows -> ``MatchRecord`` list (input order kept)."""
    n = len(matches)
    if n == 0:
        return []
    day = pd.to_datetime(matches["date"]).to_numpy(dtype="datetime64[ns]")
    dates = day.astype("datetime64[D]").astype(object).tolist()
    ko = pd.to_datetime(matches["kickoff"]).to_numpy(dtype="datetime64[ns]") if (
        "kickoff" in matches
    ) else day
    kickoff = ko.astype(np.int64).tolist()
    cols = [_float_col(matches, c).tolist() for c in ("fthg", "ftag", "hs", "as", "hst", "ast")]
    return [
        MatchRecord(*row)
        for row in zip(
            matches["league"].astype(str).tolist(),
            matches["season"].astype(str).tolist(),
            dates,
            kickoff,
            matches["home_team"].astype(str).tolist(),
            matches["away_team"].astype(str).tolist(),
            *cols,
            strict=True,
        )
    ]


def initial_state(
    league: str,
    team: str,
    season: str,
    params: FeatureParams | None = None,
    *,
    elo: float | None = None,
    pi_home: float | None = None,
    pi_away: float | None = None,
    promoted: bool = False,
) -> TeamState:
    """A team's state before its first match in ``league`` (base ratings unless given)."""
    p = params or FeatureParams()
    return TeamState(
        league=league,
        team=team,
        season=season,
        elo=p.elo.base if elo is None else elo,
        pi_home=0.0 if pi_home is None else pi_home,
        pi_away=0.0 if pi_away is None else pi_away,
        form=initial_form(p.form),
        last_date=None,
        matches_played=0,
        season_matches=0,
        season_points=0.0,
        season_goal_diff=0.0,
        season_goals_for=0.0,
        promoted=promoted,
        prev=None,
    )


def season_summary(state: TeamState) -> SeasonSummary:
    """The state's current season as a table line plus ratings."""
    return SeasonSummary(
        team=state.team,
        season=state.season,
        points=state.season_points,
        goal_diff=state.season_goal_diff,
        goals_for=state.season_goals_for,
        elo=state.elo,
        pi_home=state.pi_home,
        pi_away=state.pi_away,
    )


def roll_to_season(state: TeamState, season: str, params: FeatureParams) -> TeamState:
    """The state as seen at the start of a later ``season``: ratings regressed, counters reset."""
    if state.season == season:
        return state
    if state.season > season:
        raise ValueError(f"state of {state.team} is from {state.season}, after {season}")
    return replace(
        state,
        season=season,
        elo=regress(state.elo, params.elo.base, params.elo.season_regression),
        pi_home=regress(state.pi_home, 0.0, params.pi.season_regression),
        pi_away=regress(state.pi_away, 0.0, params.pi.season_regression),
        season_matches=0,
        season_points=0.0,
        season_goal_diff=0.0,
        season_goals_for=0.0,
        promoted=False,
        prev=season_summary(state),
    )


def latest_previous_season(
    states: Mapping[TeamKey, TeamState], league: str, season: str
) -> str | None:
    """The latest season of ``league`` before ``season`` that any state remembers, or None."""
    latest: str | None = None
    for st in states.values():
        if st.league != league:
            continue
        if st.season < season:
            s = st.season
        elif st.season == season:
            if st.prev is None:
                continue
            s = st.prev.season
        else:
            raise ValueError(
                f"state of {st.team} ({league}) is from {st.season}, after the requested {season}"
            )
        if latest is None or s > latest:
            latest = s
    return latest


def previous_season_summaries(
    states: Mapping[TeamKey, TeamState], league: str, season: str
) -> list[SeasonSummary]:
    """End-of-season summaries of ``league``'s latest season before ``season`` (may be empty).

    Depends only on matches before the current season, so it cannot leak.
    """
    latest = latest_previous_season(states, league, season)
    if latest is None:
        return []
    found: list[SeasonSummary] = []
    for st in states.values():
        if st.league != league:
            continue
        if st.season == latest:
            found.append(season_summary(st))
        elif st.season == season and st.prev is not None and st.prev.season == latest:
            found.append(st.prev)
    return found


def entrant_state(
    states: Mapping[TeamKey, TeamState],
    league: str,
    team: str,
    season: str,
    params: FeatureParams,
) -> TeamState:
    """Initial state of a team entering ``league`` in ``season`` (promoted, returning or new)."""
    prev = previous_season_summaries(states, league, season)
    if not prev:
        return initial_state(league, team, season, params)
    table = sorted(prev, key=lambda s: (s.points, s.goal_diff, s.goals_for, s.team))
    leavers = table[: max(1, params.relegation_slots)]
    up = dict(params.promotion_slots).get(league, 0)
    if up > 0:
        leavers += table[len(leavers) :][-up:]
    n = float(len(leavers))
    elo = sum(s.elo for s in leavers) / n
    pi_h = sum(s.pi_home for s in leavers) / n
    pi_a = sum(s.pi_away for s in leavers) / n
    return initial_state(
        league,
        team,
        season,
        params,
        elo=regress(elo, params.elo.base, params.elo.season_regression),
        pi_home=regress(pi_h, 0.0, params.pi.season_regression),
        pi_away=regress(pi_a, 0.0, params.pi.season_regression),
        promoted=True,
    )


def resolve_team_state(
    states: Mapping[TeamKey, TeamState],
    league: str,
    team: str,
    season: str,
    params: FeatureParams | None = None,
) -> TeamState:
    """The state a team takes into a match of ``season``: existing (rolled over) or entrant."""
    p = params or FeatureParams()
    st = states.get((league, team))
    if st is not None:
        if st.season == season:
            return st
        if st.season > season:
            raise ValueError(f"state of {team} ({league}) is from {st.season}, after {season}")
        if latest_previous_season(states, league, season) == st.season:
            return roll_to_season(st, season, p)
        # The team skipped the league's latest completed season: ratings are stale.
    return entrant_state(states, league, team, season, p)


def apply_match(
    home: TeamState, away: TeamState, match: MatchRecord, params: FeatureParams
) -> tuple[TeamState, TeamState]:
    """Both teams' states after one played match (states already resolved for its season)."""
    hg, ag = match.fthg, match.ftag
    elo_h, elo_a = elo_update(home.elo, away.elo, hg, ag, params.elo)
    hh, ha, ah, aa = pi_update(home.pi_home, home.pi_away, away.pi_home, away.pi_away, hg, ag,
                               params.pi)
    form_h = update_form(
        home.form,
        goals_for=hg,
        goals_against=ag,
        shots_for=match.hs,
        shots_against=match.as_,
        sot_for=match.hst,
        sot_against=match.ast,
        at_home=True,
        params=params.form,
    )
    form_a = update_form(
        away.form,
        goals_for=ag,
        goals_against=hg,
        shots_for=match.as_,
        shots_against=match.hs,
        sot_for=match.ast,
        sot_against=match.hst,
        at_home=False,
        params=params.form,
    )
    pts_h = 3.0 if hg > ag else (1.0 if hg == ag else 0.0)
    pts_a = 3.0 if ag > hg else (1.0 if hg == ag else 0.0)
    # Positional construction: ``dataclasses.replace`` dominated the build time.
    new_home = TeamState(
        home.league,
        home.team,
        home.season,
        elo_h,
        hh,
        ha,
        form_h,
        match.date,
        home.matches_played + 1,
        home.season_matches + 1,
        home.season_points + pts_h,
        home.season_goal_diff + (hg - ag),
        home.season_goals_for + hg,
        home.promoted,
        home.prev,
    )
    new_away = TeamState(
        away.league,
        away.team,
        away.season,
        elo_a,
        ah,
        aa,
        form_a,
        match.date,
        away.matches_played + 1,
        away.season_matches + 1,
        away.season_points + pts_a,
        away.season_goal_diff + (ag - hg),
        away.season_goals_for + ag,
        away.promoted,
        away.prev,
    )
    return new_home, new_away


def _day_order(m: MatchRecord) -> tuple[Any, ...]:
    return (m.kickoff_ns, m.league, m.home_team, m.away_team)


def update_states(
    states: Mapping[TeamKey, TeamState],
    matches_on_one_day: pd.DataFrame | Iterable[MatchRecord],
    params: FeatureParams | None = None,
) -> dict[TeamKey, TeamState]:
    """States after one match day (all matches share one date). The input is not modified.

    Matches without a result (NaN goals, e.g. fixtures) are skipped. Updates are applied in
    (kick-off, league, home, away) order, which only matters if a team plays twice in one day.
    """
    p = params or FeatureParams()
    recs = (
        match_records(matches_on_one_day)
        if isinstance(matches_on_one_day, pd.DataFrame)
        else list(matches_on_one_day)
    )
    if len({m.date for m in recs}) > 1:
        raise ValueError("update_states takes the matches of one date at a time")
    new = dict(states)
    for m in sorted(recs, key=_day_order):
        if math.isnan(m.fthg) or math.isnan(m.ftag):
            continue
        h = resolve_team_state(new, m.league, m.home_team, m.season, p)
        a = resolve_team_state(new, m.league, m.away_team, m.season, p)
        new[(m.league, m.home_team)], new[(m.league, m.away_team)] = apply_match(h, a, m, p)
    return new


def iter_match_days(records: list[MatchRecord]) -> Iterator[tuple[dt.date, list[int]]]:
    """(date, indices into ``records``) per distinct date, in date order."""
    by_date: dict[dt.date, list[int]] = {}
    for i, m in enumerate(records):
        by_date.setdefault(m.date, []).append(i)
    for d in sorted(by_date):
        yield d, by_date[d]


def build_team_states(
    matches: pd.DataFrame,
    as_of: dt.date | pd.Timestamp | str | None = None,
    params: FeatureParams | None = None,
) -> dict[TeamKey, TeamState]:
    """States after every match dated strictly before ``as_of`` (all matches when None).

    This is the ``team_state`` the API reads: the features of a match on date D are
    ``match_feature_vector`` of ``resolve_team_state`` of ``build_team_states(matches, D)``.
    """
    p = params or FeatureParams()
    recs = match_records(matches)
    if as_of is not None:
        cutoff = _to_date(as_of)
        recs = [m for m in recs if m.date < cutoff]
    states: dict[TeamKey, TeamState] = {}
    for _, idx in iter_match_days(recs):
        states = update_states(states, [recs[i] for i in idx], p)
    return states


# ---------------------------------------------------------------------------------------------
# Feature vectors
# ---------------------------------------------------------------------------------------------

_SIDE_EXTRA = ("rest_days", "season_matches", "season_ppg", "promoted")


def _side_names(prefix: str) -> list[str]:
    form = form_features(initial_form(FeatureParams().form), prefix, "home", FeatureParams().form)
    return [*form, *(f"{prefix}_{x}" for x in _SIDE_EXTRA)]


RATING_FEATURES: list[str] = [
    "elo_home",
    "elo_away",
    "elo_diff",
    "elo_expected_home",
    "pi_home_rating",
    "pi_away_rating",
    "pi_home_expected_gd",
    "pi_away_expected_gd",
    "pi_expected_gd",
    *_side_names("home"),
    *_side_names("away"),
]
MARKET_PROB_FEATURES: list[str] = ["market_p_home", "market_p_draw", "market_p_away"]
MARKET_FEATURES: list[str] = [*MARKET_PROB_FEATURES, "market_overround"]
ALL_FEATURES: list[str] = RATING_FEATURES + MARKET_FEATURES
ELO_DIFF_FEATURE = "elo_diff"


def _side_extra(state: TeamState, prefix: str, match_date: dt.date, params: FeatureParams,
                out: dict[str, float]) -> None:
    out[f"{prefix}_rest_days"] = rest_days(state.last_date, match_date, params.form)
    out[f"{prefix}_season_matches"] = float(state.season_matches)
    out[f"{prefix}_season_ppg"] = (
        state.season_points / state.season_matches
        if state.season_matches
        else params.form.priors.pts
    )
    out[f"{prefix}_promoted"] = 1.0 if state.promoted else 0.0


def rating_feature_vector(
    home_state: TeamState,
    away_state: TeamState,
    match_date: dt.date | pd.Timestamp | str,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """Ratings, form and rest features (``RATING_FEATURES``) of one match from resolved states."""
    p = params or FeatureParams()
    d = _to_date(match_date)
    g_home = expected_goal_diff(home_state.pi_home, p.pi)
    g_away = expected_goal_diff(away_state.pi_away, p.pi)
    out: dict[str, float] = {
        "elo_home": home_state.elo,
        "elo_away": away_state.elo,
        "elo_diff": home_state.elo - away_state.elo,
        "elo_expected_home": elo_expected_home(home_state.elo, away_state.elo, p.elo),
        "pi_home_rating": home_state.pi_home,
        "pi_away_rating": away_state.pi_away,
        "pi_home_expected_gd": g_home,
        "pi_away_expected_gd": g_away,
        "pi_expected_gd": g_home - g_away,
    }
    out.update(form_features(home_state.form, "home", "home", p.form))
    _side_extra(home_state, "home", d, p, out)
    out.update(form_features(away_state.form, "away", "away", p.form))
    _side_extra(away_state, "away", d, p, out)
    return out


def market_features_from_odds(odds: np.ndarray, params: FeatureParams | None = None) -> np.ndarray:
    """(n, 3) open odds -> (n, 4) [p_home, p_draw, p_away, overround] (NaN rows when invalid).

    One vectorised implementation for the batch build and the single online match.
    """
    p = params or FeatureParams()
    arr = np.asarray(odds, dtype=np.float64).reshape(-1, 3)
    return np.column_stack([implied_probabilities(arr, p.market_method), overround(arr)])


def market_feature_vector(
    open_odds: tuple[float, float, float] | np.ndarray | None,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """``MARKET_FEATURES`` of one match from its opening (h, d, a) decimal odds, NaN if None."""
    if open_odds is None:
        return dict.fromkeys(MARKET_FEATURES, math.nan)
    row = market_features_from_odds(np.asarray(open_odds, dtype=np.float64), params)[0]
    return {k: float(v) for k, v in zip(MARKET_FEATURES, row, strict=True)}


def match_feature_vector(
    home_state: TeamState,
    away_state: TeamState,
    *,
    kickoff: dt.date | pd.Timestamp | str,
    open_odds: tuple[float, float, float] | np.ndarray | None = None,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """All features (``ALL_FEATURES`` order) of one match from states resolved for its season.

    ``open_odds`` are the pre-match (never closing) odds: Pinnacle, else the market average.
    """
    out = rating_feature_vector(home_state, away_state, kickoff, params)
    out.update(market_feature_vector(open_odds, params))
    return out


def fixture_features(
    states: Mapping[TeamKey, TeamState],
    *,
    league: str,
    season: str,
    home_team: str,
    away_team: str,
    kickoff: dt.date | pd.Timestamp | str,
    open_odds: tuple[float, float, float] | np.ndarray | None = None,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """Features of one (upcoming or past) match from the states before its date (serving path).

    ``states`` must hold no match on or after the fixture's date for the result to equal the
    offline row (``build_team_states(matches, as_of=date)`` guarantees that).
    """
    p = params or FeatureParams()
    h = resolve_team_state(states, league, home_team, season, p)
    a = resolve_team_state(states, league, away_team, season, p)
    d = _to_date(kickoff)
    for st in (h, a):
        if st.last_date is not None and st.last_date >= d:
            raise ValueError(
                f"state of {st.team} already includes a match on {st.last_date}, not before {d}"
            )
    return match_feature_vector(h, a, kickoff=kickoff, open_odds=open_odds, params=p)
