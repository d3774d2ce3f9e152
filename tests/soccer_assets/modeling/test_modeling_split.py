"""Leakage contract of the temporal split (hypothesis property tests)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from soccer_assets.core.seasons import season_bounds, season_from_start_year, season_start_year
from soccer_assets.modeling.split import temporal_split

LEAGUES = ["E0", "E1", "SP1", "D1", "I1", "F1", "N1", "SC0"]


@st.composite
def match_tables(draw):
    """Random leagues x seasons with dates anywhere in each season's window (which overlaps the
    next season's start), some league-seasons missing, rows shuffled; plus a test season."""
    leagues = draw(st.lists(st.sampled_from(LEAGUES), min_size=1, max_size=4, unique=True))
    first = draw(st.integers(2000, 2030))
    n_seasons = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = []
    for league in leagues:
        for year in range(first, first + n_seasons):
            if year != first and rng.random() < 0.3:
                continue
            season = season_from_start_year(year)
            lo, hi = season_bounds(season)
            for i, off in enumerate(rng.integers(0, (hi - lo).days + 1, size=rng.integers(1, 9))):
                rows.append(
                    {
                        "match_id": f"{league}|{season}|{i}",
                        "league": league,
                        "season": season,
                        "date": pd.Timestamp(lo + dt.timedelta(days=int(off))),
                        "x": float(off),
                    }
                )
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=int(rng.integers(0, 2**16)))
    years = sorted({season_start_year(s) for s in df["season"]})
    test_year = draw(st.sampled_from([*years[1:], years[-1] + 1]))
    return df.reset_index(drop=True), season_from_start_year(test_year)


def _check_contract(df: pd.DataFrame, test_season: str, split) -> None:
    s_year = season_start_year(test_season)
    cutoff = pd.Timestamp(season_bounds(test_season)[0])
    for part in (split.train, split.validation):
        assert len(part) > 0
        # never a row of S or a later season, never a row dated in S's window or later
        assert (part["season"].map(season_start_year) < s_year).all()
        assert (part["date"] < cutoff).all()
    # validation is strictly after all training rows
    assert split.train["date"].max() < split.validation["date"].min()
    # test rows are exactly season S
    expected = set(df.loc[df["season"] == test_season, "match_id"])
    assert set(split.test["match_id"]) == expected
    assert len(split.test) == len(expected)
    # nothing duplicated across parts, and every pre-S row is either used or counted as dropped
    ids = [*split.train["match_id"], *split.validation["match_id"], *split.test["match_id"]]
    assert len(ids) == len(set(ids))
    b = split.boundaries
    n_before = int((df["season"].map(season_start_year) < s_year).sum())
    assert b["n_train"] + b["n_validation"] + b["n_dropped_late"] == n_before
    assert b["n_test"] == len(expected)
    assert b["validation_first_date"] >= b["validation_start"] > b["train_last_date"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(match_tables(), st.integers(1, 3))
def test_split_by_validation_seasons_never_leaks(table, n_val):
    df, test_season = table
    try:
        split = temporal_split(df, test_season, validation_seasons=n_val)
    except ValueError as exc:
        # the only legitimate refusal: too little history before S for train + validation
        pre = df[df["season"].map(season_start_year) < season_start_year(test_season)]
        assert pre["season"].nunique() <= n_val + 1 or "validation window" in str(exc)
        assume(False)
    _check_contract(df, test_season, split)
    val_seasons = set(split.validation["season"])
    pool_seasons = sorted(
        {s for s in pd.concat([split.train, split.validation])["season"]}, key=season_start_year
    )
    assert set(pool_seasons[-n_val:]) <= val_seasons


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(match_tables(), st.floats(0.05, 0.5))
def test_split_by_fraction_never_leaks(table, fraction):
    df, test_season = table
    try:
        split = temporal_split(df, test_season, validation_seasons=None, validation_fraction=fraction)
    except ValueError:
        assume(False)  # too few distinct dates before S to cut a window
    _check_contract(df, test_season, split)


def test_split_on_a_concrete_table_records_boundaries():
    rows = []
    for year in (2018, 2019, 2020, 2021, 2022):
        season = season_from_start_year(year)
        for k, day in enumerate(pd.date_range(f"{year}-08-10", f"{year + 1}-05-20", freq="7D")):
            rows.append({"match_id": f"E0|{season}|{k}", "league": "E0", "season": season, "date": day})
    # a COVID-style late match of 2019-20 played on 2020-08-01, after 2020-21's first possible day
    rows.append(
        {
            "match_id": "E0|2019-20|late",
            "league": "E0",
            "season": "2019-20",
            "date": pd.Timestamp("2020-08-01"),
        }
    )
    df = pd.DataFrame(rows)
    split = temporal_split(df, "2022-23")
    b = split.boundaries
    assert b["train_seasons"] == ["2018-19", "2019-20", "2020-21"]
    assert b["validation_seasons"] == ["2021-22"]
    assert b["cutoff_date"] == "2022-07-01"
    assert b["n_test"] == (df["season"] == "2022-23").sum()
    assert b["n_dropped_late"] == 0 and b["n_excluded_future"] == 0
    # For S = 2020-21 the late 2019-20 match is on/after the cutoff and must not be used.
    s21 = temporal_split(df, "2020-21")
    assert "E0|2019-20|late" not in set(s21.fit["match_id"])
    assert s21.boundaries["n_dropped_late"] == 1
    assert s21.boundaries["n_excluded_future"] == (df["season"] > "2020-21").sum()
    assert s21.boundaries["validation_seasons"] == ["2019-20"]
    with pytest.raises(ValueError):
        temporal_split(df, "2018-19")  # nothing before the first season
    with pytest.raises(ValueError):
        temporal_split(df, "2019-20")  # one earlier season: no room for a validation window
    frac = temporal_split(df, "2019-20", validation_seasons=None, validation_fraction=0.25)
    assert frac.boundaries["n_validation"] == pytest.approx(0.25 * 41, abs=1)


def test_split_is_input_order_invariant():
    rng = np.random.default_rng(1)
    rows = [
        {
            "match_id": f"{lg}|{s}|{i}",
            "league": lg,
            "season": s,
            "date": pd.Timestamp(f"{2018 + j}-09-01") + pd.Timedelta(days=int(rng.integers(0, 250))),
        }
        for lg in ("E0", "D1")
        for j, s in enumerate(["2018-19", "2019-20", "2020-21"])
        for i in range(20)
    ]
    df = pd.DataFrame(rows)
    a = temporal_split(df, "2020-21")
    b = temporal_split(df.sample(frac=1.0, random_state=3), "2020-21")
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.validation, b.validation)
    pd.testing.assert_frame_equal(a.test, b.test)


def test_with_calendar_years_the_window_starts_at_the_last_season_of_either_kind():
    """E0 (split seasons) pooled with USA (calendar years): for 2023-24 the last season before it
    is 2022-23 for E0 and 2023 for USA. The window starts with the earlier (August 2022), as it
    would for E0 alone, not with USA's 2023 (which would leave February to June 2023)."""
    rows = []
    for year in (2020, 2021, 2022, 2023):
        season = season_from_start_year(year)
        for k, day in enumerate(pd.date_range(f"{year}-08-10", f"{year + 1}-05-20", freq="14D")):
            rows.append({"match_id": f"E0|{season}|{k}", "league": "E0", "season": season, "date": day})
        for k, day in enumerate(pd.date_range(f"{year}-02-25", f"{year}-11-30", freq="14D")):
            rows.append({"match_id": f"USA|{year}|{k}", "league": "USA", "season": str(year), "date": day})
    df = pd.DataFrame(rows)
    split = temporal_split(df, "2023-24")
    b = split.boundaries
    assert b["validation_start"] == "2022-08-10"
    assert b["validation_seasons"] == ["2022", "2022-23", "2023"]
    assert set(split.validation["league"]) == {"E0", "USA"}
    alone = temporal_split(df[df["league"] == "E0"], "2023-24").boundaries
    assert alone["validation_start"] == b["validation_start"]
    # USA's 2023 matches from 1 July on are in 2023-24's window: dropped, never trained on.
    assert b["n_dropped_late"] == int(((df["season"] == "2023") & (df["date"] >= "2023-07-01")).sum()) > 0
    # A calendar test season: the last split season (2022-23) and the last year (2022) before 2023.
    s23 = temporal_split(df, "2023").boundaries
    assert s23["validation_start"] == "2022-02-25" and s23["test_season"] == "2023"
