"""The feature build on the 72 shared football-data files (6 leagues, 2012-13..2023-24)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soccer_assets.features.build import (
    FEATURE_COLUMNS,
    MARKET_FEATURES,
    RATING_FEATURES,
    build_team_states,
    fixture_features,
    select_open_odds,
    select_open_totals,
)
from soccer_assets.features.state import resolve_team_state

pytestmark = pytest.mark.slow


def test_one_row_per_match_and_no_nan_ratings(
    real_matches: pd.DataFrame, real_features: pd.DataFrame
) -> None:
    f = real_features
    assert len(f) == len(real_matches)
    assert f["match_id"].is_unique
    first_season = f.groupby("league")["season"].transform("min")
    later = f[f["season"] != first_season]
    elo_pi = [c for c in RATING_FEATURES if c.startswith(("elo_", "pi_"))]
    assert len(later) > 25_000
    assert not later[elo_pi].isna().any().any()
    assert not f[RATING_FEATURES].isna().any().any()  # priors: never NaN at all


def test_market_features_are_probabilities_and_sensible(real_features: pd.DataFrame) -> None:
    f = real_features
    p = f[MARKET_FEATURES[:3]].to_numpy()
    ok = ~np.isnan(p).any(axis=1)
    assert ok.mean() > 0.999
    np.testing.assert_allclose(p[ok].sum(axis=1), 1.0, atol=1e-12)
    assert f.loc[ok, "market_overround"].between(-0.05, 0.25).all()


def test_ratings_carry_signal(real_matches: pd.DataFrame, real_features: pd.DataFrame) -> None:
    # Joined on match_id: home wins are much likelier when the pre-match Elo expectation is high.
    df = real_features.merge(real_matches[["match_id", "ftr"]], on="match_id")
    top = df[df["elo_expected_home"] > 0.7]
    bottom = df[df["elo_expected_home"] < 0.4]
    assert (top["ftr"] == "H").mean() > 0.6 > 0.3 > (bottom["ftr"] == "H").mean()
    assert np.corrcoef(df["pi_expected_gd"], df["elo_diff"])[0, 1] > 0.8


@pytest.mark.parametrize("cut", ["2013-08-17", "2019-08-09", "2020-06-16", "2023-08-12"])
def test_serving_path_equals_offline_on_real_dates(
    real_matches: pd.DataFrame, real_features: pd.DataFrame, cut: str
) -> None:
    states = build_team_states(real_matches, as_of=cut)
    later = real_matches[real_matches["date"] >= pd.Timestamp(cut)]
    day = later[later["date"] == later["date"].min()].reset_index(drop=True)
    odds = select_open_odds(day)
    totals = select_open_totals(day)
    offline = real_features.set_index("match_id")
    assert len(day) > 0
    for i, m in day.iterrows():
        online = fixture_features(
            states, league=m["league"], season=m["season"], home_team=m["home_team"],
            away_team=m["away_team"], kickoff=m["kickoff"],
            open_odds=None if np.isnan(odds[i]).any() else tuple(odds[i]),
            open_totals=None if np.isnan(totals[i]).any() else tuple(totals[i]),
        )
        got = np.array(list(online.values()))
        want = offline.loc[m["match_id"], FEATURE_COLUMNS].to_numpy(dtype=np.float64)
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan)
        assert got[~nan].tobytes() == want[~nan].tobytes()


def test_premier_league_2023_24_promoted_teams(real_matches: pd.DataFrame) -> None:
    states = build_team_states(real_matches, as_of="2023-07-01")
    e0 = {t: s for (lg, t), s in states.items() if lg == "E0" and s.season == "2022-23"}
    table = sorted(e0.values(), key=lambda s: (s.season_points, s.season_goal_diff))
    assert {s.team for s in table[:3]} == {"Leicester", "Leeds", "Southampton"}  # relegated
    mean_elo = sum(s.elo for s in table[:3]) / 3
    for team in ("Burnley", "Sheffield United", "Luton"):
        st = resolve_team_state(states, "E0", team, "2023-24")
        assert st.promoted and st.elo == pytest.approx(mean_elo, abs=1e-9)
    assert states[("E0", "Man City")].elo > 1700
