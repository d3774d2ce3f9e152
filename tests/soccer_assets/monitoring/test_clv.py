"""Live closing-line value: value picks at the opening price, scored by the closing price (hand-made
rows, hand-computed figures; a property: closing prices never move a pick)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, odds_triplet
from soccer_assets.modeling.betting.report import summarize
from soccer_assets.monitoring import clv, live, report

NAN = float("nan")
CLOSE_COLUMNS = [c for c in CORE_ODDS_COLUMNS if "_close_" in c]
DECISION = ["pick", "id", "selection", "p_model", "price_open", "price_source", "edge"]


def _match(league: str, home: str, away: str, ftr: str, **odds: tuple[float, float, float]) -> dict:
    """A played match; ``odds`` maps ``<book>_<phase>`` to its H/D/A prices (others NaN)."""
    row = {"match_id": f"{league}|2023-24|{home}|{away}", "league": league, "season": "2023-24",
           "date": pd.Timestamp("2023-09-02"), "home_team": home, "away_team": away, "ftr": ftr,
           **dict.fromkeys(CORE_ODDS_COLUMNS, NAN)}
    for key, prices in odds.items():
        book, phase = key.split("_")
        row.update(zip(odds_triplet(book, phase), prices, strict=True))
    return row


def _pred(i: int, league: str, home: str, away: str, p, version: str, odds=(None, None, None)) -> dict:
    return {"id": i, "league": league, "season": "2023-24", "home_team": home, "away_team": away,
            "kickoff": dt.date(2023, 9, 2), "p_home": p[0], "p_draw": p[1], "p_away": p[2],
            "model_name": "m", "model_version": version,
            **dict(zip(clv.REQUEST_COLUMNS, odds, strict=True))}


@pytest.fixture
def matches() -> pd.DataFrame:
    return pd.DataFrame([
        _match("E0", "A", "B", "H", max_open=(2.10, 3.50, 4.00), max_close=(1.90, 3.60, 4.50),
               avg_open=(2.00, 3.30, 3.80), avg_close=(1.85, 3.40, 4.20), ps_close=(1.95, 3.55, 4.30)),
        # No best price: the average is used; no Pinnacle close either.
        _match("E0", "C", "D", "D", max_open=(NAN, 3.4, 3.2), avg_open=(2.50, 3.20, 3.00),
               avg_close=(2.60, 3.10, 2.90)),
        _match("E0", "E", "F", "A"),  # no odds at all
        _match("SP1", "G", "H", "H", max_open=(1.50, 4.20, 6.50), max_close=(1.45, 4.40, 7.50)),
    ])


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame([
        # edges at max open 2.10/3.50/4.00: +0.05, -0.125, 0 (not > 0) -> H
        _pred(1, "E0", "A", "B", (0.50, 0.25, 0.25), "1"),
        # edges at avg open 2.50/3.20/3.00: -0.25, +0.12, +0.05 -> D
        _pred(2, "E0", "C", "D", (0.30, 0.35, 0.35), "1"),
        _pred(3, "E0", "E", "F", (0.20, 0.30, 0.50), "1"),  # unpriced: no pick
        # edges at 1.50/4.20/6.50: -0.1, -0.076, +0.17 -> A
        _pred(4, "SP1", "G", "H", (0.60, 0.22, 0.18), "1"),
        # the request's odds 2.20/3.40/3.60 win over the warehouse's: -0.12, +0.02, +0.08 -> A
        _pred(5, "E0", "A", "B", (0.40, 0.30, 0.30), "2", odds=(2.20, 3.40, 3.60)),
        # 2.40/3.10/3.10: -0.184, +0.023, +0.023, a tie -> D (first)
        _pred(6, "E0", "C", "D", (0.34, 0.33, 0.33), "2", odds=(2.40, 3.10, 3.10)),
    ])


def _picks(log: pd.DataFrame, matches: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    scored = live.join_outcomes(log, matches).scored
    return scored, clv.value_picks(scored, log, matches)


def test_value_picks_and_their_closing_prices(log: pd.DataFrame, matches: pd.DataFrame) -> None:
    _, picks = _picks(log, matches)
    value = picks[picks["pick"] == "value"].set_index("id")
    assert list(value.index) == [1, 2, 4, 5, 6]
    assert list(value["selection"]) == ["H", "D", "A", "A", "D"]
    assert list(value["price_source"]) == ["max", "avg", "max", "request", "request"]
    np.testing.assert_allclose(value["edge"], [0.05, 0.12, 0.17, 0.08, 0.023], atol=1e-12)
    # Same book's close; the client's price closes at Pinnacle, else (C-D has none) the average.
    assert list(value["close_book"]) == ["max", "avg", "max", "ps", "avg"]
    np.testing.assert_allclose(value["price_close"], [1.90, 3.10, 7.50, 4.30, 3.10])
    np.testing.assert_allclose(value["clv"], [0.1000834586, 0.0317486983, -0.1431008436, -0.1776811772,
                                              0.0], atol=1e-9)
    fav = picks[picks["pick"] == "favourite"].set_index("id")
    assert list(fav.index) == [1, 2, 4, 5, 6] and list(fav["selection"]) == ["H", "H", "H", "H", "H"]
    np.testing.assert_allclose(fav["clv"], [math.log(2.1 / 1.9), math.log(2.5 / 2.6), math.log(1.5 / 1.45),
                                            math.log(2.2 / 1.95), math.log(2.4 / 2.6)])
    assert list(fav["close_book"]) == ["max", "avg", "max", "ps", "avg"]


def test_clv_table_per_version_and_league(log: pd.DataFrame, matches: pd.DataFrame) -> None:
    scored, picks = _picks(log, matches)
    t = clv.clv_table(scored, picks).set_index(["pick", "model_version", "league"])
    v1 = t.loc[("value", "1", "E0")]
    assert (v1["scored"], v1["priced"], v1["picks"], v1["clv_bets"]) == (3, 2, 2, 2)
    assert v1["clv_mean"] == pytest.approx((math.log(2.1 / 1.9) + math.log(3.2 / 3.1)) / 2)
    assert v1["clv_mean"] == pytest.approx(0.0659160785, abs=1e-9)
    assert v1["clv_beat_rate"] == 1.0
    assert v1["mean_edge"] == pytest.approx((0.05 + 0.12) / 2)
    everywhere = t.loc[("value", "1", "ALL")]
    assert everywhere["clv_bets"] == 3 and everywhere["scored"] == 4
    assert everywhere["clv_mean"] == pytest.approx((0.1000834586 + 0.0317486983 - 0.1431008436) / 3)
    assert everywhere["clv_beat_rate"] == pytest.approx(2 / 3)
    v2 = t.loc[("value", "2", "E0")]
    # A price equal to the close is no beat: 0 of 2.
    assert v2["clv_bets"] == 2 and v2["clv_beat_rate"] == 0.0
    assert v2["clv_mean"] == pytest.approx(math.log(3.6 / 4.3) / 2)
    assert t.loc[("favourite", "2", "E0"), "clv_bets"] == 2
    assert set(t.index.get_level_values("league")) == {"E0", "SP1", "ALL"}


def test_clv_equals_the_offline_backtest_definition() -> None:
    o = np.array([2.0, 3.1, 1.8, 2.5, 4.0])
    c = np.array([1.9, 3.3, NAN, 2.5, 0.0])  # a missing and an invalid close are left out
    mine = clv.clv_summary(o, c)
    bets = pd.DataFrame({"stake": 1.0, "profit": 0.0, "profit_per_unit": 0.0, "price_open": o,
                         "price_close": c})
    offline = summarize(bets, n_boot=0)
    assert mine["clv_bets"] == offline["clv_n"] == 3
    assert mine["clv_mean"] == pytest.approx(offline["clv_mean"], abs=1e-15)
    assert mine["clv_beat_rate"] == pytest.approx(offline["clv_beat_rate"], abs=1e-15) == 1 / 3
    none = clv.clv_summary([2.0], [NAN])
    assert none["clv_bets"] == 0 and math.isnan(none["clv_mean"]) and math.isnan(none["clv_beat_rate"])


def test_choices_on_edge_cases() -> None:
    probs = np.array([[0.3, 0.3, 0.4], [0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    prices = np.array([[3.0, 3.0, 2.4], [2.0, NAN, 4.0], [NAN, NAN, NAN]])
    # Row 0: every edge <= 0 (-0.1, -0.1, -0.04); row 1: edges 0, -, -0.2; row 2 unpriced.
    assert list(clv.choose_value(probs, prices)) == [-1, -1, -1]
    assert list(clv.choose_value(probs, prices, min_edge=-0.05)) == [2, 0, -1]
    assert list(clv.choose_favourite(prices)) == [2, -1, -1]  # only complete triplets
    req = np.array([[2.0, 3.0, 0.9], [NAN, NAN, NAN]])
    got, source = clv.opening_prices(req, {"max": np.array([[2.1, 3.1, 4.1], [2.2, 3.2, 4.2]])})
    assert list(source) == ["max", "max"]  # an invalid request price falls back as a whole
    np.testing.assert_array_equal(got[0], [2.1, 3.1, 4.1])


def test_closing_prices_score_but_never_pick(log: pd.DataFrame, matches: pd.DataFrame) -> None:
    _, picks = _picks(log, matches)
    rng = np.random.default_rng(0)
    for variant in ("double", "missing", "random"):
        moved = matches.copy()
        if variant == "double":
            moved[CLOSE_COLUMNS] = moved[CLOSE_COLUMNS] * 2.0
        elif variant == "missing":
            moved[CLOSE_COLUMNS] = NAN
        else:
            moved[CLOSE_COLUMNS] = rng.uniform(1.05, 9.0, (len(moved), len(CLOSE_COLUMNS)))
        _, again = _picks(log, moved)
        pd.testing.assert_frame_equal(again[DECISION], picks[DECISION])
        assert not np.allclose(again["clv"].fillna(99), picks["clv"].fillna(99))
    # Opening prices, by contrast, do move a pick: the check above could fail.
    cheaper = matches.copy()
    cheaper.loc[0, "odds_max_open_h"] = 1.5
    _, moved = _picks(log, cheaper)
    # edges at 1.50/3.50/4.00: -0.25, -0.125, 0: no value pick left for prediction 1.
    assert 1 not in set(moved.loc[moved["pick"] == "value", "id"])


price = st.floats(1.01, 15.0)
triplet = st.tuples(price, price, price)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(st.floats(0.05, 0.9), st.floats(0.05, 0.9), triplet, triplet,
                               st.booleans()), min_size=1, max_size=6))
def test_property_closing_prices_never_change_the_picks(rows) -> None:
    """Random forecasts, opening and closing prices: any other closing prices give the same picks."""
    matches, preds = [], []
    for i, (a, b, opening, closing, by_request) in enumerate(rows):
        p = np.array([a, b, 1.0]) / (a + b + 1.0)
        matches.append(_match("E0", f"H{i}", f"A{i}", "H", max_open=opening, max_close=closing,
                              ps_close=closing))
        preds.append(_pred(i, "E0", f"H{i}", f"A{i}", p, "1", odds=opening if by_request else (None,) * 3))
    matches_df, log = pd.DataFrame(matches), pd.DataFrame(preds)
    _, picks = _picks(log, matches_df)
    flipped = matches_df.copy()
    flipped[CLOSE_COLUMNS] = 16.0 - flipped[CLOSE_COLUMNS].fillna(8.0)
    _, again = _picks(log, flipped)
    pd.testing.assert_frame_equal(again[DECISION], picks[DECISION])
    valid = picks["clv"].notna()
    assert valid.all()  # both books close every pick here
    changed = ~np.isclose(again["clv"], picks["clv"])
    # The CLV moves wherever the closing price moved (not where 16 - c == c, i.e. c = 8).
    np.testing.assert_array_equal(changed, ~np.isclose(picks["price_close"], 8.0))


def test_gauge_rows_and_league_tables(log: pd.DataFrame, matches: pd.DataFrame) -> None:
    scored, picks = _picks(log, matches)
    table = clv.clv_table(scored, picks)
    rows = report.gauge_rows(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, {}, {},
                             window_label="last_10", clv_table=table)
    got = {(r["metric"], r["labels"]["version"], r["labels"]["league"], r["labels"]["pick"]): r["value"]
           for r in rows}
    assert {r["metric"] for r in rows} == {"clv_bets", "clv_mean", "clv_beat_rate"}
    assert {tuple(sorted(r["labels"])) for r in rows} == {("league", "model", "pick", "version")}
    assert got[("clv_bets", "1", "ALL", "value")] == 3
    assert got[("clv_beat_rate", "2", "E0", "value")] == 0.0
    by_vl = live.aggregate(scored, [*live.MODEL_KEYS, "league"])
    tables = report.league_tables(clv.with_clv(by_vl, table))
    assert "clv_mean" in tables["E0"] and "0.0659" in tables["E0"]
    summary = clv.summary_by_version(table)
    assert summary["m v1"]["clv_bets"] == 3 and summary["m v2"]["clv_beat_rate"] == 0.0


def test_without_closing_odds_nothing_breaks(log: pd.DataFrame, matches: pd.DataFrame) -> None:
    bare = matches[live.MATCH_COLUMNS]  # an old warehouse, or odds not loaded: no odds column at all
    scored, picks = _picks(log, bare)
    # Only the client's prices are known: version 2's two picks, without a closing price.
    assert list(picks.loc[picks["pick"] == "value", "id"]) == [5, 6]
    assert picks["price_close"].isna().all() and picks["clv"].isna().all()
    table = clv.clv_table(scored, picks)
    assert (table["clv_bets"] == 0).all() and table["clv_mean"].isna().all()
    rows = report.gauge_rows(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, {}, {},
                             window_label="last_10", clv_table=table)
    assert {r["metric"] for r in rows} == {"clv_bets"}  # NaN means and rates are left out
    assert clv.summary_by_version(table)["m v1"] == {"clv_bets": 0.0, "clv_mean": None, "clv_beat_rate": None}
    empty = live.join_outcomes(pd.DataFrame(columns=live.LOG_COLUMNS), matches).scored
    no_picks = clv.value_picks(empty, log, matches)
    assert no_picks.empty and list(no_picks.columns) == clv.PICK_COLUMNS
    assert clv.clv_table(empty, no_picks).empty
    assert clv.with_clv(live.aggregate(empty, ["league"]), clv.clv_table(empty, no_picks)).empty
