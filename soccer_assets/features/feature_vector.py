"""The feature row of one match: ratings, form, rest and market features from resolved states.

``rating_feature_vector`` is what the offline build (``build.py``) computes per match, and
``fixture_features`` / ``match_feature_vector`` what the serving path computes for one fixture;
both read the same states, so the rows are bit-for-bit equal. ``*_FEATURES`` name the columns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from soccer_assets.features.elo import elo_expected_home
from soccer_assets.features.form import form_features, initial_form, rest_days
from soccer_assets.features.market import implied_probabilities, overround
from soccer_assets.features.match_records import to_date
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.pi_ratings import expected_goal_diff
from soccer_assets.features.rollover import resolve_team_state
from soccer_assets.features.team_state import TeamKey, TeamState
from soccer_assets.features.totals import TOTALS_FEATURES, totals_features_from_odds

__all__ = [
    "ALL_FEATURES",
    "ELO_DIFF_FEATURE",
    "FEATURE_COLUMNS",
    "MARKET_FEATURES",
    "MARKET_PROB_FEATURES",
    "RATING_FEATURES",
    "TOTALS_FEATURES",
    "fixture_features",
    "market_feature_vector",
    "market_features_from_odds",
    "match_feature_vector",
    "rating_feature_vector",
]

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
# Every column of a feature row: the outcome models read ALL_FEATURES, the goal model's market
# variant also reads TOTALS_FEATURES (from the opening over/under 2.5 odds).
FEATURE_COLUMNS: list[str] = ALL_FEATURES + TOTALS_FEATURES


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
    d = to_date(match_date)
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


def totals_feature_vector(open_totals: tuple[float, float] | np.ndarray | None) -> dict[str, float]:
    """``TOTALS_FEATURES`` of one match from its opening (over 2.5, under 2.5) odds, NaN if None."""
    if open_totals is None:
        return dict.fromkeys(TOTALS_FEATURES, math.nan)
    row = totals_features_from_odds(np.asarray(open_totals, dtype=np.float64))[0]
    return {k: float(v) for k, v in zip(TOTALS_FEATURES, row, strict=True)}


def match_feature_vector(
    home_state: TeamState,
    away_state: TeamState,
    *,
    kickoff: dt.date | pd.Timestamp | str,
    open_odds: tuple[float, float, float] | np.ndarray | None = None,
    open_totals: tuple[float, float] | np.ndarray | None = None,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """All features (``FEATURE_COLUMNS`` order) of one match from states resolved for its season.

    ``open_odds`` are the pre-match (never closing) 1X2 odds: Pinnacle, else the market average;
    ``open_totals`` the pre-match over/under 2.5 odds (market average, else Pinnacle).
    """
    out = rating_feature_vector(home_state, away_state, kickoff, params)
    out.update(market_feature_vector(open_odds, params))
    out.update(totals_feature_vector(open_totals))
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
    open_totals: tuple[float, float] | np.ndarray | None = None,
    params: FeatureParams | None = None,
) -> dict[str, float]:
    """Features of one (upcoming or past) match from the states before its date (serving path).

    ``states`` must hold no match on or after the fixture's date for the result to equal the
    offline row (``build_team_states(matches, as_of=date)`` guarantees that).
    """
    p = params or FeatureParams()
    h = resolve_team_state(states, league, home_team, season, p)
    a = resolve_team_state(states, league, away_team, season, p)
    d = to_date(kickoff)
    for st in (h, a):
        if st.last_date is not None and st.last_date >= d:
            raise ValueError(
                f"state of {st.team} already includes a match on {st.last_date}, not before {d}"
            )
    return match_feature_vector(h, a, kickoff=kickoff, open_odds=open_odds, open_totals=open_totals,
                                params=p)
