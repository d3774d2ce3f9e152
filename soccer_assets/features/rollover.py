"""The state a team takes into a match of a season: its own state rolled over, or an entrant's.

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

One scale per country (``FeatureParams.country_carry`` = w > 0): a team entering a division
straight from another division of its country (it played that division's latest completed season)
starts at the table proxy plus w times its own rating's gap to the mean of the teams it moved with
(the source's top ``promotion_slots`` for a promoted team, its bottom ``relegation_slots`` for a
relegated one), in that completed season's final table. So a team as strong as the movers' average
enters at the proxy, and the champion of the lower division above it. Why around the proxy rather
than a plain shift between the two tables' means: measured on 2022-23 and 2023-24 (pooled, 15
divisions), starting relegated teams at the top of the lower table made entrants' matches worse
(the teams a table ranks at the extremes got there partly by luck). Only completed seasons are
read, so the carried rating cannot leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from soccer_assets.core.seasons import division_ladder, season_key
from soccer_assets.features.elo import regress
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.team_state import (
    SeasonSummary,
    TeamKey,
    TeamState,
    initial_state,
    season_summary,
)

__all__ = [
    "carried_state",
    "division_movers",
    "entrant_state",
    "latest_previous_season",
    "previous_season_summaries",
    "resolve_team_state",
    "roll_to_season",
]


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


def _table(summaries: list[SeasonSummary]) -> list[SeasonSummary]:
    """A final table, bottom first (points, then goal difference, goals scored, name)."""
    return sorted(summaries, key=lambda s: (s.points, s.goal_diff, s.goals_for, s.team))


def _mean_ratings(group: list[SeasonSummary]) -> tuple[float, float, float]:
    n = float(len(group))
    return (sum(s.elo for s in group) / n, sum(s.pi_home for s in group) / n,
            sum(s.pi_away for s in group) / n)


def division_movers(
    states: Mapping[TeamKey, TeamState], source: str, target: str, season: str, params: FeatureParams
) -> tuple[float, float, float] | None:
    """Mean (Elo, pi-home, pi-away) of the teams ``source`` lost towards ``target`` in its final
    table of the latest season before ``season``: its top ``promotion_slots`` (the relegation count
    if unset) when ``target`` is above, its bottom ``relegation_slots`` when below.

    None when the two are not divisions of one country, or their latest completed seasons differ
    (either has none).
    """
    ladder = division_ladder(source)
    if source == target or target not in ladder:
        return None
    src = previous_season_summaries(states, source, season)
    tgt = previous_season_summaries(states, target, season)
    if not src or not tgt or src[0].season != tgt[0].season:
        return None
    table = _table(src)
    if ladder.index(source) > ladder.index(target):  # promoted
        k = dict(params.promotion_slots).get(source, 0) or params.relegation_slots
        return _mean_ratings(table[-max(1, k):])
    return _mean_ratings(table[: max(1, params.relegation_slots)])


def _proxy(states: Mapping[TeamKey, TeamState], league: str, season: str, params: FeatureParams
           ) -> tuple[float, float, float] | None:
    """The table proxy of an entrant's ratings: the mean of the teams ``league`` lost (None in its
    first loaded season)."""
    prev = previous_season_summaries(states, league, season)
    if not prev:
        return None
    table = _table(prev)
    leavers = table[: max(1, params.relegation_slots)]
    up = dict(params.promotion_slots).get(league, 0)
    if up > 0:
        leavers += table[len(leavers) :][-up:]
    return _mean_ratings(leavers)


def _entrant(league: str, team: str, season: str, params: FeatureParams,
             ratings: tuple[float, float, float]) -> TeamState:
    elo, pi_h, pi_a = ratings
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


def carried_state(
    states: Mapping[TeamKey, TeamState], league: str, team: str, season: str, params: FeatureParams
) -> TeamState | None:
    """The state of a team entering ``league`` from another division of its country that it played
    in the latest completed season: the table proxy plus ``params.country_carry`` times the team's
    gap to the teams it moved with. None for any other entrant."""
    proxy = _proxy(states, league, season, params)
    if proxy is None:
        return None
    ladder = division_ladder(league)
    here = ladder.index(league)
    # The nearest division first: a team is promoted or relegated one level at a time.
    for other in sorted((d for d in ladder if d != league), key=lambda d: abs(ladder.index(d) - here)):
        st = states.get((other, team))
        if st is None or season_key(st.season) >= season_key(season):
            continue
        try:
            latest = latest_previous_season(states, other, season)
        except ValueError:  # that division is already past ``season``: no common completed season
            continue
        movers = division_movers(states, other, league, season, params) if latest == st.season else None
        if movers is None:
            continue
        w = params.country_carry
        own = (st.elo, st.pi_home, st.pi_away)
        return _entrant(league, team, season, params,
                        tuple(p + w * (o - m) for p, o, m in zip(proxy, own, movers, strict=True)))
    return None


def entrant_state(
    states: Mapping[TeamKey, TeamState],
    league: str,
    team: str,
    season: str,
    params: FeatureParams,
) -> TeamState:
    """Initial state of a team entering ``league`` in ``season`` (promoted, returning or new)."""
    if params.country_carry > 0.0:
        carried = carried_state(states, league, team, season, params)
        if carried is not None:
            return carried
    proxy = _proxy(states, league, season, params)
    if proxy is None:
        return initial_state(league, team, season, params)
    return _entrant(league, team, season, params, proxy)


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
