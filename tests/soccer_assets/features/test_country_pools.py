"""One rating scale per country (``FeatureParams.country_carry``): a promoted or relegated team
keeps its rating, shifted onto its new division's scale, and the carried rating uses only matches
played before its first match in the new division."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from soccer_assets.core.seasons import division_ladder
from soccer_assets.features.build import FeatureParams, build_match_features, build_team_states
from soccer_assets.features.rollover import carried_state, division_movers
from tests.soccer_assets.features.features_gen import ladder_tables, make_match
from tests.soccer_assets.features.test_features_leakage import (
    PROPERTY_SETTINGS,
    future_changes_keep_row,
    same_bits,
    serving_path_matches_offline,
)

CARRY = FeatureParams(country_carry=1.0)


def _round_robin(league: str, season: str, teams: list[str], start: dt.date, strength: dict[str, int]):
    """Every pairing home and away; the stronger side (``strength``) wins 2-0, equals draw 1-1."""
    rng = np.random.default_rng(0)
    rows, day = [], start
    for home in teams:
        for away in teams:
            if home == away:
                continue
            m = make_match(rng, league, season, day, home, away)
            diff = strength[home] - strength[away]
            hg, ag = (2, 0) if diff > 0 else (0, 2) if diff < 0 else (1, 1)
            m.update(fthg=hg, ftag=ag, ftr="H" if hg > ag else "A" if ag > hg else "D")
            rows.append(m)
            day += dt.timedelta(days=7)
    return rows


def _two_seasons() -> pd.DataFrame:
    """2016-17: E0 (A best … D worst) over E1 (W best … Z worst). 2017-18: W up, D down."""
    strength = {"A": 4, "B": 3, "C": 2, "D": 1, "W": 4, "X": 3, "Y": 2, "Z": 1}
    rows = _round_robin("E0", "2016-17", ["A", "B", "C", "D"], dt.date(2016, 8, 6), strength)
    rows += _round_robin("E1", "2016-17", ["W", "X", "Y", "Z"], dt.date(2016, 8, 6), strength)
    rows += _round_robin("E0", "2017-18", ["A", "B", "C", "W"], dt.date(2017, 8, 5), strength)
    rows += _round_robin("E1", "2017-18", ["D", "X", "Y", "Z"], dt.date(2017, 8, 5), strength)
    df = pd.DataFrame(rows)
    df["fthg"] = df["fthg"].astype("Int64")
    df["ftag"] = df["ftag"].astype("Int64")
    return df


def _first_rating(feats: pd.DataFrame, league: str, team: str) -> float:
    rows = feats[(feats["league"] == league) & ((feats["home_team"] == team) | (feats["away_team"] == team))]
    first = rows.iloc[0]
    return float(first["elo_home"] if first["home_team"] == team else first["elo_away"])


def test_a_promoted_and_a_relegated_team_carry_their_ratings_onto_the_new_scale():
    df = _two_seasons()
    end = build_team_states(df[df["season"] == "2016-17"], params=CARRY)
    elo = {team: st.elo for (_lg, team), st in end.items()}
    # E0's bottom three (B, C, D) went down in the proxy's view; E1's top three (W, X, Y) up.
    e0_bottom, e1_top = np.mean([elo["B"], elo["C"], elo["D"]]), np.mean([elo["W"], elo["X"], elo["Y"]])
    assert elo["W"] > e1_top and elo["D"] < e0_bottom  # the champion and the last, both off the means
    for carry in (1.0, 0.5):
        feats = build_match_features(df, FeatureParams(country_carry=carry))
        np.testing.assert_allclose(_first_rating(feats, "E0", "W"), e0_bottom + carry * (elo["W"] - e1_top),
                                   rtol=0, atol=1e-9)
        # Relegated: E1's proxy (its bottom three and the three that went up: all four here) plus
        # D's gap to E0's bottom three, the teams it went down with.
        e1_proxy = np.mean([elo["W"], elo["X"], elo["Y"], elo["Z"]])
        np.testing.assert_allclose(_first_rating(feats, "E1", "D"), e1_proxy + carry * (elo["D"] - e0_bottom),
                                   rtol=0, atol=1e-9)
    # Off (the default): the table proxy, one mean for every entrant of a division.
    off = build_match_features(df)
    proxy_e0 = _first_rating(off, "E0", "W")
    np.testing.assert_allclose(proxy_e0, e0_bottom, rtol=0, atol=1e-9)
    assert _first_rating(build_match_features(df, CARRY), "E0", "W") > proxy_e0 + 1.0


def test_movers_need_one_completed_season_of_both_divisions_of_one_country():
    df = _two_seasons()
    first = build_team_states(df[df["season"] == "2016-17"], params=CARRY)
    e1_top = sorted((st for (lg, _t), st in first.items() if lg == "E1"), key=lambda st: st.elo)[1:]
    np.testing.assert_allclose(division_movers(first, "E1", "E0", "2017-18", CARRY),
                               [np.mean([st.elo for st in e1_top]), np.mean([st.pi_home for st in e1_top]),
                                np.mean([st.pi_away for st in e1_top])], rtol=0, atol=1e-12)
    assert division_movers(first, "E1", "E0", "2016-17", CARRY) is None  # nothing completed before
    assert division_movers(first, "E1", "SP1", "2017-18", CARRY) is None  # another country
    only_e1 = {k: v for k, v in first.items() if k[0] == "E1"}
    assert division_movers(only_e1, "E1", "E0", "2017-18", CARRY) is None
    assert carried_state(only_e1, "E0", "W", "2017-18", CARRY) is None
    # A team that skipped the latest completed season carries nothing (its rating is stale).
    assert carried_state(first, "E0", "NEW", "2017-18", CARRY) is None
    assert division_ladder("EC") == ("E0", "E1", "E2", "E3", "EC") and division_ladder("ARG") == ("ARG",)


def _first_matches_in_a_new_division(df: pd.DataFrame) -> list[str]:
    """match_id of every team's first match in a division it did not play the season before."""
    ordered = df.sort_values(["kickoff", "match_id"])
    seen: dict[str, tuple[str, str]] = {}
    firsts = []
    for _, m in ordered.iterrows():
        for side in ("home_team", "away_team"):
            before = seen.get(m[side])
            if before is not None and before[0] != m["league"] and before[1] != m["season"]:
                firsts.append(m["match_id"])
            seen[m[side]] = (m["league"], m["season"])
    return firsts


@PROPERTY_SETTINGS
@given(df=ladder_tables(), pick=st.integers(0, 10**6), seed=st.integers(0, 2**32 - 1))
def test_a_carried_rating_depends_only_on_matches_before_the_first_match_in_the_new_division(
    df: pd.DataFrame, pick: int, seed: int
) -> None:
    """Rewriting or deleting the mover's first match in its new division and everything after it
    (in both divisions) never changes that match's row."""
    firsts = _first_matches_in_a_new_division(df)
    assert firsts  # the generator always moves a team
    target = int(np.flatnonzero(df["match_id"].to_numpy() == firsts[pick % len(firsts)])[0])
    assert future_changes_keep_row(functools.partial(build_match_features, params=CARRY), df, target, seed)


@PROPERTY_SETTINGS
@given(df=ladder_tables(), pick=st.integers(0, 10**6))
def test_carried_ratings_are_the_same_online_and_offline(df: pd.DataFrame, pick: int) -> None:
    cut = df["date"].iloc[pick % len(df)].date()
    assert serving_path_matches_offline(functools.partial(build_match_features, params=CARRY), df, cut,
                                        params=CARRY)


@PROPERTY_SETTINGS
@given(df=ladder_tables())
def test_off_by_default_each_division_is_built_from_itself_alone(df: pd.DataFrame) -> None:
    together = build_match_features(df)
    for _league, part in df.groupby("league"):
        alone = build_match_features(part.reset_index(drop=True))
        mine = together[together["match_id"].isin(alone["match_id"])].set_index("match_id").sort_index()
        theirs = alone.set_index("match_id").sort_index()
        assert same_bits(mine.select_dtypes("number").to_numpy().ravel(),
                         theirs.select_dtypes("number").to_numpy().ravel())
    # ... and carrying does change the movers' rows (so the properties above are not vacuous).
    carried = build_match_features(df, CARRY).set_index("match_id")
    firsts = _first_matches_in_a_new_division(df)
    assert not same_bits(carried.loc[firsts, "elo_diff"].to_numpy(),
                         together.set_index("match_id").loc[firsts, "elo_diff"].to_numpy())
