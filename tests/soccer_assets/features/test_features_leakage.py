"""Leakage and online/offline parity: hypothesis property tests on random leagues.

(a) Changing or deleting any match dated on or after a match's date (and the match's own result,
    statistics and closing odds) never changes that match's feature row.
(b) ``build_team_states(matches, as_of=D)`` + ``fixture_features`` for the matches on the first
    date >= D equal their rows of ``build_match_features`` bit for bit (the serving path).
(c) Rating features are never NaN for teams seen before (in fact never NaN at all).
A deliberately leaking build (states advanced by a day's results *before* that day's features)
is shown to fail (a) and (b), so the properties do detect leakage; so does the tempting
"seed promoted teams from the teams absent from the new season" rule.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from soccer_assets.features.build import (
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    MARKET_FEATURES,
    RATING_FEATURES,
    TOTALS_FEATURES,
    FeatureParams,
    build_match_features,
    build_team_states,
    fixture_features,
    select_open_odds,
    select_open_totals,
)
from soccer_assets.features.state import (
    iter_match_days,
    market_features_from_odds,
    match_records,
    rating_feature_vector,
    resolve_team_state,
    update_states,
)
from soccer_assets.features.totals import totals_features_from_odds
from tests.soccer_assets.features.features_gen import match_tables, mutate_from

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def row_of(feats: pd.DataFrame, match_id: str) -> np.ndarray:
    return feats.loc[feats["match_id"] == match_id, FEATURE_COLUMNS].to_numpy(dtype=np.float64)[0]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality, with NaN equal to NaN."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(nan_a, nan_b) and a[~nan_a].tobytes() == b[~nan_b].tobytes())


# -- the property checks, parameterised by the build under test --------------------------------


def future_changes_keep_row(build, df: pd.DataFrame, target: int, seed: int) -> bool:
    match_id = df["match_id"].iloc[target]
    before = row_of(build(df), match_id)
    after = row_of(build(mutate_from(df, match_id, seed)), match_id)
    return same_bits(before, after)


def serving_path_matches_offline(build, df: pd.DataFrame, cut: dt.date, params: FeatureParams | None = None
                                 ) -> bool:
    feats = build(df)
    later = df[df["date"].dt.date >= cut]
    if later.empty:
        return True
    first = later["date"].min()
    day = df[df["date"] == first].reset_index(drop=True)
    states = build_team_states(df, as_of=cut, params=params)
    odds = select_open_odds(day)
    totals = select_open_totals(day)
    for i, m in day.iterrows():
        online = fixture_features(
            states,
            league=m["league"],
            season=m["season"],
            home_team=m["home_team"],
            away_team=m["away_team"],
            kickoff=m["kickoff"],
            open_odds=None if np.isnan(odds[i]).any() else tuple(odds[i]),
            open_totals=None if np.isnan(totals[i]).any() else tuple(totals[i]),
            params=params,
        )
        assert list(online) == FEATURE_COLUMNS
        if not same_bits(np.array(list(online.values())), row_of(feats, m["match_id"])):
            return False
    return True


# -- (a) -----------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(df=match_tables(), pick=st.integers(0, 10**6), seed=st.integers(0, 2**32 - 1))
def test_future_matches_never_change_a_row(df: pd.DataFrame, pick: int, seed: int) -> None:
    assert future_changes_keep_row(build_match_features, df, pick % len(df), seed)


# -- (b) -----------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(df=match_tables(), pick=st.integers(0, 10**6), shift=st.integers(0, 2))
def test_team_states_plus_feature_vector_equal_offline_rows(
    df: pd.DataFrame, pick: int, shift: int
) -> None:
    # The cut-off is a match date or up to two days before one (a date without matches).
    cut = df["date"].iloc[pick % len(df)].date() - dt.timedelta(days=shift)
    assert serving_path_matches_offline(build_match_features, df, cut)


# -- (c) -----------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(df=match_tables())
def test_rating_features_never_nan_for_teams_seen_before(df: pd.DataFrame) -> None:
    feats = build_match_features(df)
    seen_before: list[bool] = []
    first_day: dict[tuple[str, str], pd.Timestamp] = {}
    for _, m in feats.iterrows():
        for side in ("home_team", "away_team"):
            first_day.setdefault((m["league"], m[side]), m["date"])
    for _, m in feats.iterrows():
        seen_before.append(
            first_day[(m["league"], m["home_team"])] < m["date"]
            and first_day[(m["league"], m["away_team"])] < m["date"]
        )
    mask = np.array(seen_before, dtype=bool)
    assert not feats.loc[mask, RATING_FEATURES].isna().any().any()
    # Stronger: neutral priors mean no rating feature is ever NaN.
    assert not feats[RATING_FEATURES].isna().any().any()


@PROPERTY_SETTINGS
@given(df=match_tables(max_seasons=2))
def test_output_shape_order_and_input_order_independence(df: pd.DataFrame) -> None:
    feats = build_match_features(df)
    assert list(feats.columns) == KEY_COLUMNS + FEATURE_COLUMNS
    assert len(feats) == len(df)
    assert feats["kickoff"].is_monotonic_increasing
    assert feats.index.equals(pd.RangeIndex(len(df)))
    # Reversing the input changes only the order of equal kick-offs, never a row's values.
    rev = build_match_features(df.iloc[::-1].reset_index(drop=True))
    a = feats.set_index("match_id").sort_index()[FEATURE_COLUMNS].to_numpy()
    b = rev.set_index("match_id").sort_index()[FEATURE_COLUMNS].to_numpy()
    assert same_bits(a.ravel(), b.ravel())
    # Leagues are independent: one league's features do not depend on another league's matches.
    for league, part in df.groupby("league"):
        alone = build_match_features(part.reset_index(drop=True))
        mine = feats[feats["league"] == league]
        x = mine.set_index("match_id").sort_index()[FEATURE_COLUMNS].to_numpy()
        y = alone.set_index("match_id").sort_index()[FEATURE_COLUMNS].to_numpy()
        assert same_bits(x.ravel(), y.ravel())


# -- a leaking build must fail the properties -------------------------------------------------


def leaky_build(matches: pd.DataFrame, params: FeatureParams | None = None) -> pd.DataFrame:
    """``build_match_features`` with one bug: a date's results are applied to the states before
    that date's features are computed (so every match sees its own result and its same-day
    neighbours')."""
    p = params or FeatureParams()
    df = matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
    recs = match_records(df)
    rating = np.full((len(recs), len(RATING_FEATURES)), np.nan)
    states: dict = {}
    for day, idx in iter_match_days(recs):
        states = update_states(states, [recs[i] for i in idx], p)  # BUG: update first
        for i in idx:
            m = recs[i]
            h = resolve_team_state(states, m.league, m.home_team, m.season, p)
            a = resolve_team_state(states, m.league, m.away_team, m.season, p)
            rating[i] = list(rating_feature_vector(h, a, day, p).values())
    market = market_features_from_odds(select_open_odds(df), p)
    out = df[KEY_COLUMNS].copy()
    out[RATING_FEATURES] = rating
    out[MARKET_FEATURES] = market
    out[TOTALS_FEATURES] = totals_features_from_odds(select_open_totals(df))
    return out


def test_leaky_build_fails_property_a_found_by_hypothesis() -> None:
    example = find(
        st.tuples(match_tables(max_seasons=1), st.integers(0, 10**6), st.integers(0, 2**32 - 1)),
        lambda ex: not future_changes_keep_row(leaky_build, ex[0], ex[1] % len(ex[0]), ex[2]),
        # No shrinking: any counterexample proves the point, and shrinking costs many builds.
        settings=settings(
            max_examples=200, deadline=None, database=None, derandomize=True,
            phases=[Phase.generate],
        ),
    )
    df, pick, seed = example
    assert not future_changes_keep_row(leaky_build, df, pick % len(df), seed)
    assert future_changes_keep_row(build_match_features, df, pick % len(df), seed)


def test_leaky_build_fails_properties_on_a_fixed_example() -> None:
    rng_table = match_tables(max_seasons=1)
    df = find(rng_table, lambda d: len(d) >= 4,
              settings=settings(database=None, derandomize=True, phases=[Phase.generate]))
    assert not all(future_changes_keep_row(leaky_build, df, t, 7) for t in range(len(df)))
    assert all(future_changes_keep_row(build_match_features, df, t, 7) for t in range(len(df)))
    cut = df["date"].min().date()
    assert serving_path_matches_offline(build_match_features, df, cut)
    assert not serving_path_matches_offline(leaky_build, df, cut)


def build_with_lookahead_promotion(matches: pd.DataFrame) -> pd.DataFrame:
    """The tempting alternative seeding rule: a promoted team starts at the mean of the teams
    that are absent from the new season, which is only known from the season's future matches.
    """
    # ``resolve_team_state`` looks ``entrant_state`` up in its own module, so patch it there.
    import soccer_assets.features.rollover as rollover_mod

    real_entrant = rollover_mod.entrant_state
    teams_by_season = {
        key: set(g["home_team"]) | set(g["away_team"])
        for key, g in matches.groupby(["league", "season"])
    }

    def entrant(states, league, team, season, params):
        prev = rollover_mod.previous_season_summaries(states, league, season)
        now = teams_by_season.get((league, season), set())
        left = [s for s in prev if s.team not in now]  # LOOK-AHEAD
        if not left:
            return real_entrant(states, league, team, season, params)
        elo = sum(s.elo for s in left) / len(left)
        return rollover_mod.initial_state(league, team, season, params, elo=elo, promoted=True)

    with mock.patch.object(rollover_mod, "entrant_state", entrant):
        return build_match_features(matches)


def test_lookahead_promotion_seeding_fails_property_a() -> None:
    # Why the state module seeds promoted teams from the previous table, not from "who left".
    example = find(
        st.tuples(match_tables(max_teams=5), st.integers(0, 10**6), st.integers(0, 2**32 - 1)),
        lambda ex: not future_changes_keep_row(
            build_with_lookahead_promotion, ex[0], ex[1] % len(ex[0]), ex[2]
        ),
        settings=settings(
            max_examples=1000, deadline=None, database=None, derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    df, pick, seed = example
    assert future_changes_keep_row(build_match_features, df, pick % len(df), seed)
