"""Evolving team states: one played match, one match day, or every match before a date.

These are the functions the online API calls on ``team_state``; the offline feature build
(``build.py``) uses exactly the same ones, so online and offline features are bit-for-bit equal.

Leakage: features of a match on date D are computed from the states after all matches dated
strictly before D. Same-day matches never see each other (kick-off times are unknown before
2019-20); ``update_states`` takes a whole match day at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from soccer_assets.features.elo import elo_update
from soccer_assets.features.form import update_form
from soccer_assets.features.match_records import (
    MatchRecord,
    iter_match_days,
    match_records,
    to_date,
)
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.pi_ratings import pi_update
from soccer_assets.features.rollover import resolve_team_state
from soccer_assets.features.team_state import TeamKey, TeamState

__all__ = ["apply_match", "build_team_states", "update_states"]


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
        cutoff = to_date(as_of)
        recs = [m for m in recs if m.date < cutoff]
    states: dict[TeamKey, TeamState] = {}
    for _, idx in iter_match_days(recs):
        states = update_states(states, [recs[i] for i in idx], p)
    return states
