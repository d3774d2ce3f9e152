"""A team's rating history replays the states the online team state is built from."""

from __future__ import annotations

import pandas as pd

from soccer_assets.features.history import HISTORY_COLUMNS, rating_history
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.updates import build_team_states
from soccer_assets.sources.parser import parse_season_csv


def test_the_last_row_is_the_team_state(shared_data):
    frames = [parse_season_csv((shared_data / f"mmz4281/{c}/E0.csv").read_bytes(), "E0", s).matches
              for c, s in (("2122", "2021-22"), ("2223", "2022-23"))]
    matches = pd.concat(frames, ignore_index=True)
    p = FeatureParams()
    history = rating_history(matches, "E0", "Arsenal", p)
    assert list(history.columns) == HISTORY_COLUMNS
    assert len(history) == 76  # 38 matches a season
    assert history["date"].is_monotonic_increasing
    state = build_team_states(matches, None, p)[("E0", "Arsenal")]
    last = history.iloc[-1]
    assert (last["elo"], last["pi_home"], last["pi_away"]) == (state.elo, state.pi_home, state.pi_away)
    assert rating_history(matches, "E0", "Nobody", p).empty
    # Before the last match, the state of the day before it.
    earlier = build_team_states(matches, history["date"].iloc[-1], p)[("E0", "Arsenal")]
    assert history.iloc[-2]["elo"] == earlier.elo
