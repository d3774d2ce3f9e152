"""Value-betting backtest: no look-ahead in the decisions, walk-forward thresholds, worked metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soccer_assets.modeling.betting import (
    CANDIDATE_COLUMNS,
    DECISION_COLUMNS,
    DEFAULT_THRESHOLD,
    REPORT_COLUMNS,
    backtest,
    choose_threshold,
    decide,
    decisions_ignore_closing,
    equity_curve_png,
    kelly_fraction,
    max_drawdown,
    report_table,
    select_bets,
    stakes,
    thresholds_by_season,
)
from soccer_assets.modeling.betting.leakage import decision_keys

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
SELECTIONS = {"1x2": ["H", "D", "A"], "totals_2.5": ["over", "under"], "asian_handicap": ["home", "away"]}


def candidates(n_matches: int = 60, seed: int = 0, seasons: tuple[str, ...] = ("2021-22", "2022-23"),
               leagues: tuple[str, ...] = ("E0", "D1")) -> pd.DataFrame:
    """Random candidates: every market and selection of ``n_matches`` matches, settled at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_matches):
        season = seasons[i * len(seasons) // n_matches]
        kickoff = pd.Timestamp(f"20{season[2:4]}-08-01") + pd.Timedelta(days=int(i // 4))
        for market, sels in SELECTIONS.items():
            for sel in sels:
                o = float(rng.uniform(1.3, 6.0))
                won = rng.random() < 1 / o
                rows.append({"match_id": f"{season}|m{i}", "league": leagues[i % len(leagues)],
                             "season": season, "kickoff": kickoff, "market": market, "selection": sel,
                             "p_model": float(np.clip(rng.normal(1 / o, 0.05), 0.01, 0.99)),
                             "price_open": o, "price_close": o * float(rng.uniform(0.9, 1.1)),
                             "profit_per_unit": o - 1 if won else -1.0})
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


def table(rows: list[tuple], **const) -> pd.DataFrame:
    """Hand-made bets: (p_model, price_open, price_close, profit_per_unit) per row, a day apart."""
    out = pd.DataFrame(rows, columns=["p_model", "price_open", "price_close", "profit_per_unit"])
    out.insert(0, "match_id", [f"m{i}" for i in range(len(rows))])
    out.insert(1, "league", const.get("league", "E0"))
    out.insert(2, "season", const.get("season", "2022-23"))
    out.insert(3, "kickoff", pd.Timestamp("2022-08-01") + pd.to_timedelta(np.arange(len(rows)), "D"))
    out.insert(4, "market", const.get("market", "1x2"))
    out.insert(5, "selection", "H")
    return out


def at(threshold: float):
    return lambda c: select_bets(c, threshold)


# ---------------------------------------------------------------- leakage (critical)

candidate_tables = st.builds(candidates, n_matches=st.integers(1, 40), seed=st.integers(0, 10_000))


@PROPERTY
@given(cands=candidate_tables, threshold=st.sampled_from([0.0, 0.02, 0.1]), seed=st.integers(0, 10_000),
       permute=st.booleans())
def test_select_bets_ignores_closing_prices_and_results(cands, threshold, seed, permute) -> None:
    rng = np.random.default_rng(seed)
    changed = cands.copy()
    if permute:
        changed["price_close"] = rng.permutation(changed["price_close"].to_numpy())
        changed["profit_per_unit"] = rng.permutation(changed["profit_per_unit"].to_numpy())
    else:
        changed["price_close"] = rng.choice([np.nan, 1.01, 50.0], len(cands))
        changed["profit_per_unit"] = rng.normal(0, 10, len(cands))
    before, after = select_bets(cands, threshold), select_bets(changed, threshold)
    assert decision_keys(before) == decision_keys(after)
    assert list(before.index) == list(after.index)


@PROPERTY
@given(cands=candidate_tables)
def test_check_passes_select_bets(cands) -> None:
    assert decisions_ignore_closing(at(0.02), cands)


def test_check_catches_strategies_that_peek() -> None:
    cands = candidates(40, seed=3)
    assert decisions_ignore_closing(at(0.0), cands)

    def beats_the_close(c: pd.DataFrame) -> pd.DataFrame:  # the deliberately leaking strategy
        return select_bets(c[c["price_open"] > c["price_close"]], 0.0)

    def picks_winners(c: pd.DataFrame) -> pd.DataFrame:
        return select_bets(c[c["profit_per_unit"] > 0], 0.0)

    def closing_price_model(c: pd.DataFrame) -> pd.DataFrame:
        return select_bets(c.assign(p_model=1.05 / c["price_close"]), 0.0)

    for leaky in (beats_the_close, picks_winners, closing_price_model):
        assert not decisions_ignore_closing(leaky, cands), leaky.__name__


def test_decide_sees_only_the_decision_columns() -> None:
    cands = candidates(5)
    with pytest.raises(ValueError, match="DECISION_COLUMNS"):
        decide(cands, 0.0)
    assert list(decide(cands[DECISION_COLUMNS], 0.0)) == list(select_bets(cands, 0.0).sort_index().index)


# ------------------------------------------------------------------------ selection


def test_one_bet_per_match_and_market_the_highest_edge() -> None:
    cands = candidates(50, seed=1)
    bets = select_bets(cands, 0.02)
    assert not bets.duplicated(["match_id", "market"]).any()
    assert (bets["edge"] > 0.02).all()
    e = cands["p_model"] * cands["price_open"] - 1
    best = cands.assign(e=e)[e > 0.02].groupby(["match_id", "market"])["e"].max()
    assert np.allclose(bets.set_index(["match_id", "market"])["edge"].sort_index(), best.sort_index())
    assert bets["kickoff"].is_monotonic_increasing


def test_threshold_is_strict_invalid_rows_never_chosen_and_ties_deterministic() -> None:
    c = table([(0.5, 2.5, np.nan, 1.5), (0.5, 1.0, 1.0, 0.0), (np.nan, 3.0, 3.0, 2.0), (1.5, 3.0, 3.0, 2.0)])
    assert list(select_bets(c, 0.0)["match_id"]) == ["m0"]
    assert list(select_bets(c, 0.24)["match_id"]) == ["m0"]
    assert select_bets(c, 0.25).empty  # edge exactly 0.25 (0.5 * 2.5 - 1) is not above 0.25
    tie = pd.concat([table([(0.5, 2.4, 2.0, 1.4)]), table([(0.5, 2.4, 2.0, -1.0)])], ignore_index=True)
    tie["selection"] = ["D", "A"]
    assert list(select_bets(tie, 0.0)["selection"]) == ["A"]
    assert select_bets(table([]), 0.0).empty


# ---------------------------------------------------------------------- threshold


def test_choose_threshold_worked_example() -> None:
    # Three matches, edges 0.01 (lost), 0.05 (lost), 0.11 (won at 3.0).
    hist = table([(0.505, 2.0, 2.0, -1.0), (0.35, 3.0, 3.0, -1.0), (0.37, 3.0, 3.0, 2.0)])
    # t in {0.0}: 3 bets, ROI 0; t in {0.02, 0.04}: 2 bets, ROI 0.5; t >= 0.06: 1 bet, ROI 2; t >= 0.12: 0.
    assert choose_threshold(hist, min_bets=1) == 0.06
    assert choose_threshold(hist, min_bets=2) == 0.02  # ties go to the smaller threshold
    assert choose_threshold(hist, min_bets=3) == 0.0
    assert choose_threshold(hist, min_bets=4) == DEFAULT_THRESHOLD == 0.05
    assert choose_threshold(hist.iloc[:0]) == DEFAULT_THRESHOLD
    assert choose_threshold(None, default=0.08) == 0.08


def test_walk_forward_threshold_uses_earlier_seasons_only() -> None:
    cands = candidates(90, seed=5, seasons=("2020-21", "2021-22", "2022-23"))
    base = thresholds_by_season(cands, min_bets=5)
    for row in base.itertuples():
        hist = cands[(cands["season"] < row.season) & (cands["market"] == row.market)]
        assert row.threshold == choose_threshold(hist, min_bets=5)
    assert (base.loc[base["season"] == "2020-21", "threshold"] == DEFAULT_THRESHOLD).all()
    # Rewriting the evaluated season and adding future rows changes nothing for that season.
    evaluated = "2021-22"
    future = candidates(40, seed=9, seasons=("2021-22", "2023-24"))
    future["profit_per_unit"] = np.where(future["p_model"] * future["price_open"] > 1.15, 100.0, -1.0)
    changed = cands.copy()
    now = changed["season"] == evaluated
    changed.loc[now, "profit_per_unit"] = -changed.loc[now, "profit_per_unit"]
    after = thresholds_by_season(pd.concat([changed, future], ignore_index=True), min_bets=5)
    for season in ("2020-21", evaluated):
        pd.testing.assert_frame_equal(base[base["season"] == season].reset_index(drop=True),
                                      after[after["season"] == season].reset_index(drop=True))


# ------------------------------------------------------------------------- staking


def test_kelly_formula_fraction_and_cap() -> None:
    assert kelly_fraction(0.55, 2.0)[()] == pytest.approx(0.1)
    assert kelly_fraction(0.5, 3.0)[()] == pytest.approx(0.25)
    assert kelly_fraction(0.4, 2.0)[()] == 0.0 and kelly_fraction(0.5, 1.0)[()] == 0.0
    bets = table([(0.55, 2.0, 2.0, 1.0), (0.5, 3.0, 3.0, -1.0), (0.55, 2.0, 2.0, 1.0)])
    s = stakes(bets, "kelly")
    assert s["stake"].iloc[0] == pytest.approx(0.025)  # 0.25 * 0.1 of a bankroll of 1
    assert s["stake"].iloc[1] == pytest.approx(1.025 * 0.05)  # 0.25 * 0.25 = 0.0625, capped at 5 %
    assert s["bankroll_before"].iloc[2] == pytest.approx(1.025 * 0.95)
    assert s["stake"].iloc[2] == pytest.approx(1.025 * 0.95 * 0.025)
    assert s["profit"].iloc[1] == pytest.approx(-1.025 * 0.05)
    assert stakes(bets, "kelly", fraction=1.0, cap=1.0)["stake"].iloc[0] == pytest.approx(0.1)
    assert (stakes(bets, "flat")["stake"] == 1.0).all()
    with pytest.raises(ValueError):
        stakes(bets, "martingale")


def test_simultaneous_kelly_bets_share_the_bankroll() -> None:
    bets = table([(0.55, 2.0, 2.0, 1.0), (0.55, 2.0, 2.0, -1.0), (0.55, 2.0, 2.0, 1.0)])
    bets["kickoff"] = pd.Timestamp("2022-08-01")
    s = stakes(bets, "kelly")
    assert np.allclose(s["stake"], 0.025) and np.allclose(s["bankroll_before"], 1.0)


# ------------------------------------------------------------------------- metrics


def test_roi_hit_rate_drawdown_clv_worked_example() -> None:
    bets = table([(0.6, 2.0, 1.8, 1.0), (0.6, 2.0, 2.2, -1.0), (0.4, 3.0, np.nan, -1.0),
                  (0.4, 3.0, 2.5, 2.0), (0.6, 2.0, 2.0, 0.0)])
    r = backtest(bets, "flat")
    o = r.overall
    assert (o["n_bets"], o["staked"], o["profit"]) == (5, 5.0, 1.0)
    assert o["roi"] == pytest.approx(0.2)
    assert o["hit_rate"] == pytest.approx(0.4)  # the push (profit 0) is no hit
    assert o["max_drawdown"] == pytest.approx(2.0)  # cumulative 0, 1, 0, -1, 1, 1
    assert o["clv_n"] == 4
    assert o["clv_mean"] == pytest.approx(np.mean(np.log([2 / 1.8, 2 / 2.2, 3 / 2.5, 1.0])))
    assert o["clv_beat_rate"] == pytest.approx(0.5)
    assert o["roi_ci95"][0] <= o["roi"] <= o["roi_ci95"][1]
    assert list(r.equity["cum_profit"]) == [1.0, 0.0, -1.0, 1.0, 1.0]


@pytest.mark.parametrize(("profits", "expected"), [([], 0.0), ([1, 2], 0.0), ([-1], 1.0),
                                                   ([1, -1, -1, 2, -3], 3.0), ([2, -0.5, 1, -3.5], 3.5)])
def test_max_drawdown(profits: list[float], expected: float) -> None:
    assert max_drawdown(profits) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("staking", ["flat", "kelly"])
def test_roi_within_its_bootstrap_interval(seed: int, staking: str) -> None:
    bets = select_bets(candidates(120, seed=seed), 0.0)
    o = backtest(bets, staking, n_boot=500).overall
    assert o["n_bets"] > 20
    assert o["roi_ci95_lo"] <= o["roi"] <= o["roi_ci95_hi"]
    assert o["roi_ci95_hi"] - o["roi_ci95_lo"] > 0


def test_report_table_groups_and_determinism() -> None:
    bets = select_bets(candidates(80, seed=2), 0.02)
    r1, r2 = backtest(bets, "kelly"), backtest(bets, "kelly")
    pd.testing.assert_frame_equal(r1.table, r2.table)
    t = r1.table
    assert list(t.columns) == REPORT_COLUMNS
    assert set(t["level"]) == {"overall", "market", "league", "season", "market_league_season"}
    for level in ("market", "league", "season", "market_league_season"):
        part = t[t["level"] == level]
        assert part["n_bets"].sum() == len(bets)
        assert part["profit"].sum() == pytest.approx(t.loc[t["level"] == "overall", "profit"].iloc[0])
    assert set(t.loc[t["level"] == "market", "market"]) == set(bets["market"])
    assert (t.loc[t["level"] == "market", ["league", "season"]] == "all").all().all()
    assert report_table(r1.bets, seed=1)["roi_ci95_lo"].iloc[0] != t["roi_ci95_lo"].iloc[0]


def test_zero_bets_give_a_complete_report() -> None:
    none = select_bets(candidates(10), 10.0)
    for staking in ("flat", "kelly"):
        r = backtest(none, staking)
        o = r.overall
        assert (o["n_bets"], o["staked"], o["profit"], o["max_drawdown"], o["clv_n"]) == (0, 0.0, 0.0, 0.0, 0)
        assert all(math.isnan(o[k]) for k in ("roi", "hit_rate", "clv_mean", "clv_beat_rate"))
        assert all(math.isnan(x) for x in o["roi_ci95"])
        assert list(r.table["level"]) == ["overall"] and r.equity.empty
    assert equity_curve_png({"none": r.equity}).startswith(b"\x89PNG")


def test_unsettled_bets_are_left_out() -> None:
    bets = table([(0.6, 2.0, 2.0, 1.0), (0.6, 2.0, 2.0, np.nan)])
    r = backtest(bets)
    assert r.n_unsettled == 1 and r.overall["n_bets"] == 1


def test_equity_curve_png() -> None:
    bets = select_bets(candidates(30), 0.0)
    png = equity_curve_png({"flat": backtest(bets).equity, "kelly": backtest(bets, "kelly").equity,
                            "series": pd.Series([0.5, -1.0])})
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert equity_curve_png({}).startswith(b"\x89PNG")
