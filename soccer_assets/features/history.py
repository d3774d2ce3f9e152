"""A team's rating history: its state after each of its matches (pure).

The states are replayed with :func:`soccer_assets.features.updates.update_states`, one match day at a
time, exactly as ``build_team_states`` builds the online ``team_state``; so the last row of the
history is the team's stored state when both read the same matches.
"""

from __future__ import annotations

import pandas as pd

from soccer_assets.features.match_records import iter_match_days, match_records
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.team_state import TeamKey, TeamState
from soccer_assets.features.updates import update_states

HISTORY_COLUMNS = ["date", "season", "opponent", "venue", "goals_for", "goals_against", "elo", "pi_home",
                   "pi_away"]


def rating_history(matches: pd.DataFrame, league: str, team: str, params: FeatureParams | None = None
                   ) -> pd.DataFrame:
    """:data:`HISTORY_COLUMNS` after every match of ``team`` in ``league`` (oldest first)."""
    p = params or FeatureParams()
    df = matches[matches["league"] == league] if len(matches) else matches
    recs = match_records(df)
    states: dict[TeamKey, TeamState] = {}
    rows = []
    for day, idx in iter_match_days(recs):
        today = [recs[i] for i in idx]
        states = update_states(states, today, p)
        for m in today:
            if team not in (m.home_team, m.away_team) or m.fthg != m.fthg:  # NaN: not played
                continue
            st = states[(league, team)]
            home = m.home_team == team
            rows.append({"date": day, "season": m.season, "opponent": m.away_team if home else m.home_team,
                         "venue": "H" if home else "A", "goals_for": int(m.fthg if home else m.ftag),
                         "goals_against": int(m.ftag if home else m.fthg), "elo": st.elo,
                         "pi_home": st.pi_home, "pi_away": st.pi_away})
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)
