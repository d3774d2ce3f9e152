"""A team's state: everything the features of its next match need (ratings, form, season table).

States are keyed by ``(league, team)`` (``TeamKey``). By default one league never influences
another: a team moving between two loaded leagues (e.g. E1 -> E0) gets a fresh state in its new
league, because ratings of different leagues are on different scales. With
``FeatureParams.country_carry`` it carries its ratings between divisions of one country, shifted
(``rollover.carried_state``). ``TeamState.to_record`` /
``states_from_records`` are the ``team_state`` table's row format.

How states evolve: ``updates.py`` (one match day at a time); what a team carries into a new season
or starts from when it enters a league: ``rollover.py``; the feature row of a match:
``feature_vector.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from soccer_assets.features.form import FormState, initial_form
from soccer_assets.features.params import FeatureParams

__all__ = [
    "SeasonSummary",
    "TeamKey",
    "TeamState",
    "initial_state",
    "season_summary",
    "states_from_records",
]

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
