"""Totals and Asian handicap prices out of ``extra``: real files of both eras, and edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.features.market import implied_probabilities
from soccer_assets.features.market_prices import (
    AH_COLUMNS,
    TOTALS_COLUMNS,
    asian_prices,
    totals_prices,
)
from soccer_assets.sources.parser import parse_season_csv

RECENT = [("1920", "2019-20"), ("2021", "2020-21"), ("2122", "2021-22"), ("2223", "2022-23"),
          ("2324", "2023-24")]


def _parse(shared_data: Path, code: str, season: str, league: str = "E0") -> pd.DataFrame:
    path = shared_data / "mmz4281" / code / f"{league}.csv"
    return parse_season_csv(path.read_bytes(), league, season).matches


def _frame(*extras: object) -> pd.DataFrame:
    return pd.DataFrame({"extra": [e if not isinstance(e, dict) else json.dumps(e) for e in extras]})


def _p(a: float, b: float) -> float:
    return float(implied_probabilities(np.array([a, b]), method="multiplicative")[0])


# ------------------------------------------------------------------ real files


def test_e0_2023_24_first_row(shared_data: Path) -> None:
    m = _parse(shared_data, "2324", "2023-24")
    assert m.loc[0, "match_id"] == "E0|2023-24|Burnley|Man City|2023-08-11"
    t = totals_prices(m).loc[0]
    assert (t["over25_avg_open"], t["under25_avg_open"]) == (1.65, 2.27)
    assert (t["over25_avg_close"], t["under25_avg_close"]) == (1.64, 2.28)
    assert (t["over25_max_open"], t["over25_max_close"], t["under25_max_close"]) == (1.71, 1.73, 2.45)
    assert (t["over25_ps_open"], t["under25_ps_open"], t["over25_ps_close"]) == (1.68, 2.29, 1.65)
    assert t["p_over25_avg_open"] == pytest.approx((1 / 1.65) / (1 / 1.65 + 1 / 2.27))
    assert t["p_over25_ps_close"] == pytest.approx(_p(1.65, 2.35))
    a = asian_prices(m).loc[0]
    assert (a["ah_line_open"], a["ah_line_close"]) == (1.5, 1.5)
    assert (a["ahh_avg_open"], a["aha_avg_open"], a["ahh_avg_close"], a["aha_avg_close"]) == (
        1.85, 2.03, 1.92, 1.95)
    assert (a["ahh_ps_open"], a["ahh_ps_close"], a["ahh_max_open"]) == (1.86, 1.95, 1.93)
    assert np.isnan(a["ahh_max_close"]) and np.isnan(a["aha_max_close"])  # MaxCAHH absent in the file
    assert a["p_ahh_avg_open"] == pytest.approx(_p(1.85, 2.03))


def test_2016_17_betbrain_keys_and_no_closing_prices(shared_data: Path) -> None:
    m = _parse(shared_data, "1617", "2016-17")
    t, a = totals_prices(m), asian_prices(m)
    first_t, first_a = t.loc[0], a.loc[0]
    assert (first_t["over25_avg_open"], first_t["under25_avg_open"]) == (2.3, 1.61)
    assert (first_t["over25_max_open"], first_t["under25_max_open"]) == (2.4, 1.68)
    assert first_t["p_over25_avg_open"] == pytest.approx(_p(2.3, 1.61))
    assert (first_a["ah_line_open"], first_a["ahh_avg_open"], first_a["aha_avg_open"]) == (-0.25, 2.06, 1.81)
    assert (first_a["ahh_max_open"], first_a["aha_max_open"]) == (2.13, 1.86)
    # Before 2019-20: no Pinnacle totals / AH, no closing prices, no closing line (never the open one).
    close = [c for c in [*t.columns, *a.columns] if c.endswith("_close")]
    assert pd.concat([t, a], axis=1)[close].isna().all().all()
    assert t[["over25_ps_open", "under25_ps_open", "p_over25_ps_open"]].isna().all().all()
    assert a["ah_line_open"].notna().mean() > 0.99 and t["over25_avg_open"].notna().mean() > 0.99


@pytest.mark.parametrize(("code", "season"), [("1213", "2012-13"), ("1819", "2018-19")])
def test_oldest_and_last_betbrain_season(shared_data: Path, code: str, season: str) -> None:
    a = asian_prices(_parse(shared_data, code, season, "SP1"))
    assert a["ah_line_open"].notna().mean() > 0.99
    assert a["ah_line_close"].isna().all() and a["ahh_avg_close"].isna().all()


def test_recent_e0_coverage(shared_data: Path) -> None:
    m = pd.concat([_parse(shared_data, c, s) for c, s in RECENT], ignore_index=True)
    t, a = totals_prices(m), asian_prices(m)
    for col in ["over25_avg_open", "over25_avg_close", "p_over25_avg_open", "p_over25_avg_close",
                "ah_line_open", "ah_line_close", "p_ahh_avg_open", "p_ahh_avg_close"]:
        assert pd.concat([t, a], axis=1)[col].notna().mean() == 1.0, col
    assert t["p_over25_ps_open"].notna().mean() > 0.99 and a["p_ahh_ps_close"].notna().mean() > 0.99
    # Valid probabilities; the closing line is its own column (it moves in about a third of matches).
    assert t["p_over25_avg_open"].between(0, 1).all() and a["p_ahh_avg_close"].between(0, 1).all()
    assert 0.1 < (a["ah_line_open"] != a["ah_line_close"]).mean() < 0.6
    assert ((a["ah_line_open"] * 4) % 1 == 0).all()


# --------------------------------------------------------------- synthetic cases


def test_columns_dtype_and_index() -> None:
    m = _frame({"Avg>2.5": "1.9", "Avg<2.5": "1.9"}, {}).set_index(pd.Index([10, 7]))
    t, a = totals_prices(m), asian_prices(m)
    assert list(t.columns) == TOTALS_COLUMNS and list(a.columns) == AH_COLUMNS
    assert list(t.index) == [10, 7] and list(a.index) == [10, 7]
    assert (t.dtypes == np.float64).all() and (a.dtypes == np.float64).all()
    assert t.loc[10, "p_over25_avg_open"] == 0.5 and t.loc[7].isna().all()


def test_bad_values_give_nan_never_raise() -> None:
    m = _frame(
        {"Avg>2.5": "abc", "Avg<2.5": "1.9", "Max>2.5": "", "P>2.5": "1.0", "P<2.5": "0.42",
         "AvgC>2.5": "inf", "AvgC<2.5": "nan", "PC>2.5": " 1.95 ", "PC<2.5": "1.95"},
        "not json", "[1, 2]", None, np.nan, "null", {"Avg>2.5": 2.1, "Avg<2.5": True},
    )
    t = totals_prices(m)
    assert t.loc[0, ["over25_avg_open", "over25_max_open", "over25_ps_open", "under25_ps_open",
                     "over25_avg_close", "under25_avg_close"]].isna().all()
    assert t.loc[0, "under25_avg_open"] == 1.9 and np.isnan(t.loc[0, "p_over25_avg_open"])
    assert t.loc[0, "p_over25_ps_close"] == 0.5  # whitespace is tolerated
    assert t.loc[1:5].isna().all().all()
    assert t.loc[6, "over25_avg_open"] == 2.1 and np.isnan(t.loc[6, "under25_avg_open"])  # a bool is no odd
    assert asian_prices(m).loc[1:5].isna().all().all()


def test_no_extra_column_and_empty_frame() -> None:
    t = totals_prices(pd.DataFrame({"match_id": ["a", "b"]}))
    assert t.shape == (2, len(TOTALS_COLUMNS)) and t.isna().all().all()
    assert asian_prices(pd.DataFrame({"extra": pd.Series([], dtype=object)})).shape == (0, len(AH_COLUMNS))
    assert totals_prices(pd.DataFrame({"extra": pd.Series([], dtype=object)})).empty


def test_recent_keys_win_over_betbrain_and_invalid_falls_through() -> None:
    m = _frame({"Avg>2.5": "1.8", "BbAv>2.5": "1.7", "Max>2.5": "0.9", "BbMx>2.5": "1.75",
                "AHh": "x", "BbAHh": "-0.5", "AvgAHH": "1.9", "AvgAHA": "1.9"})
    t, a = totals_prices(m).loc[0], asian_prices(m).loc[0]
    assert t["over25_avg_open"] == 1.8 and t["over25_max_open"] == 1.75
    assert a["ah_line_open"] == -0.5 and a["p_ahh_avg_open"] == 0.5


def test_closing_line_never_falls_back_to_the_opening_one() -> None:
    m = _frame({"AHh": "-1", "AvgAHH": "1.9", "AvgAHA": "2.0", "AvgCAHH": "1.8", "AvgCAHA": "2.1"},
               {"AHCh": "-1.25", "AvgCAHH": "1.8", "AvgCAHA": "2.1", "AvgAHH": "1.9", "AvgAHA": "2.0"})
    a = asian_prices(m)
    assert a.loc[0, "ah_line_open"] == -1.0 and np.isnan(a.loc[0, "ah_line_close"])
    # Prices without their line are meaningless: NaN, for either phase.
    assert a.loc[0, ["ahh_avg_close", "aha_avg_close", "p_ahh_avg_close"]].isna().all()
    assert a.loc[0, "ahh_avg_open"] == 1.9
    assert a.loc[1, "ah_line_close"] == -1.25 and a.loc[1, "ahh_avg_close"] == 1.8
    assert a.loc[1, ["ah_line_open", "ahh_avg_open", "p_ahh_avg_open"]].isna().all()


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("-0.25", -0.25), ("2.75", 2.75), ("1.3", None),
                                               ("-0.5,-1", None), ("", None)])
def test_handicap_lines(raw: str, expected: float | None) -> None:
    line = asian_prices(_frame({"AHh": raw})).loc[0, "ah_line_open"]
    assert np.isnan(line) if expected is None else line == expected


_KEYS = ["Avg>2.5", "Avg<2.5", "BbAv>2.5", "P>2.5", "PC<2.5", "AHh", "AHCh", "BbAHh", "AvgAHH", "AvgAHA",
         "PCAHH", "PCAHA", "MaxCAHA"]
_VALUES = st.one_of(st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                    st.none(), st.booleans(), st.sampled_from(["1.5", "-0.75", "1.0", "0.5", "3.1"]))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=8), max_size=5))
def test_any_extra_gives_numbers_or_nan(records: list[dict]) -> None:
    m = pd.DataFrame({"extra": [json.dumps(r) for r in records]})
    both = pd.concat([totals_prices(m), asian_prices(m)], axis=1)
    prices = both[[c for c in both.columns if c.startswith(("over", "under", "ahh_", "aha_"))]]
    assert ((prices > 1) | prices.isna()).all().all()
    probs = both[[c for c in both.columns if c.startswith("p_")]]
    assert ((probs > 0) & (probs < 1) | probs.isna()).all().all()
