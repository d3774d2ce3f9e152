"""Market evaluation and the betting backtest: settlement, the report's keys, leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soccer_assets.modeling.betting import CANDIDATE_COLUMNS, decisions_ignore_closing
from soccer_assets.modeling.betting.selection import walk_forward_bets
from soccer_assets.modeling.evaluate import run_backtest
from soccer_assets.modeling.market_eval import (
    BETTING_MARKETS,
    betting_candidates,
    betting_report,
    correct_score_index,
    market_reliability_png,
)
from soccer_assets.modeling.markets import fit_grids
from tests.soccer_assets.modeling.conftest import E2E_TEST_SEASON

BET_KEYS = {"n_bets", "staked", "profit", "roi", "roi_ci95", "clv_mean", "clv_beat_rate", "max_drawdown"}


def _frame() -> pd.DataFrame:
    """Two played matches with hand-checkable prices: 2-1 (line -0.75) and 1-1 (line 0)."""
    return pd.DataFrame({
        "match_id": ["a", "b"], "league": "E0", "season": "2023-24",
        "kickoff": pd.to_datetime(["2023-08-12 15:00", "2023-08-13 15:00"]),
        "fthg": [2, 1], "ftag": [1, 1],
        "odds_max_open_h": [2.0, 2.5], "odds_max_open_d": [3.5, 3.2], "odds_max_open_a": [4.0, 3.0],
        "odds_max_close_h": [1.9, 2.6], "odds_max_close_d": [3.6, 3.1], "odds_max_close_a": [4.2, 2.9],
        "over25_max_open": [1.9, 2.1], "under25_max_open": [2.0, 1.8],
        "over25_max_close": [1.8, 2.2], "under25_max_close": [2.1, 1.7],
        "ah_line_open": [-0.75, 0.0], "ah_line_close": [-0.75, -0.25],
        "ahh_max_open": [2.0, 1.95], "aha_max_open": [1.9, 1.95],
        "ahh_max_close": [1.95, 2.1], "aha_max_close": [1.95, 1.8],
    })


def test_candidates_are_settled_at_the_opening_price():
    frame = _frame()
    grids = fit_grids(np.array([[0.5, 0.25, 0.25], [0.4, 0.3, 0.3]]), np.array([2.6, 2.4])).grids
    c = betting_candidates(frame, grids).set_index(["match_id", "market", "selection"])
    assert list(betting_candidates(frame, grids).columns) == CANDIDATE_COLUMNS
    ppu = c["profit_per_unit"]
    assert ppu[("a", "1x2", "home")] == pytest.approx(1.0) and ppu[("a", "1x2", "away")] == -1.0
    assert ppu[("b", "1x2", "draw")] == pytest.approx(2.2)
    assert ppu[("a", "totals_2.5", "over")] == pytest.approx(0.9)  # 3 goals
    assert ppu[("b", "totals_2.5", "under")] == pytest.approx(0.8)  # 2 goals
    # Home -0.75 winning by one: half won at -0.5, half pushed at -1 -> (2.0 - 1) / 2.
    assert ppu[("a", "asian_handicap", "home")] == pytest.approx(0.5)
    assert ppu[("a", "asian_handicap", "away")] == pytest.approx(-0.5)
    assert ppu[("b", "asian_handicap", "home")] == 0.0  # level-ball draw: push
    # Closing prices of an Asian bet count only at the same line (b's moved from 0 to -0.25).
    assert c.loc[("a", "asian_handicap", "home"), "price_close"] == 1.95
    assert np.isnan(c.loc[("b", "asian_handicap", "home"), "price_close"])
    # The model's probabilities come from the grid (1X2 exact, totals complementary).
    p = c["p_model"]
    assert p[("a", "1x2", "home")] == pytest.approx(0.5, abs=1e-12)
    assert p[("a", "totals_2.5", "over")] + p[("a", "totals_2.5", "under")] == pytest.approx(1.0)


def test_correct_score_classes():
    hg, ag = np.array([0, 6, 7, 3]), np.array([0, 6, 0, 2])
    assert correct_score_index(hg, ag).tolist() == [0, 48, 49, 23]


@pytest.fixture(scope="module")
def backtest(small_features, small_matches):
    return run_backtest(small_features, small_matches, E2E_TEST_SEASON, "ratings", markets=True)


def test_report_has_every_market_and_bet_key(backtest):
    markets, betting = backtest.report["markets"], backtest.report["betting"]
    for market in ("totals_2.5", "asian_handicap"):
        for who in ("model", "market_open", "market_close"):
            assert {"n", "log_loss", "brier"} <= set(markets[market][who])
        # One set of rows for the model and both market references.
        assert markets[market]["model"]["n"] == markets[market]["market_open"]["n"] \
            == markets[market]["market_close"]["n"] > 300
    assert {"n", "log_loss", "brier"} <= set(markets["btts"]["model"])
    assert {"n", "log_loss"} <= set(markets["correct_score"]["model"])
    assert markets["grid_1x2_max_abs_diff"] <= 0.002
    # Sanity of the figures: the market and the model beat climatology.
    tot = markets["totals_2.5"]
    for who in ("market_open", "market_close", "model"):
        assert tot[who]["log_loss"] < tot["climatology"]["log_loss"]
    assert markets["correct_score"]["model"]["log_loss"] < markets["correct_score"]["climatology"]["log_loss"]
    assert set(betting) == set(BETTING_MARKETS)
    for entry in betting.values():
        assert set(entry) >= BET_KEYS
        if entry["n_bets"]:
            lo, hi = entry["roi_ci95"]
            assert lo <= entry["roi"] <= hi
    assert backtest.markets.grids.shape == (len(backtest.predictions), 11, 11)
    png = market_reliability_png(markets["reliability"], "test")
    assert png.startswith(b"\x89PNG")


def test_bets_come_from_the_test_season_with_thresholds_from_the_season_before(backtest):
    cands = backtest.markets.candidates
    assert set(cands["season"]) == {"2021-22", "2022-23"}
    bets = backtest.markets.bets["flat"].bets
    assert set(bets["season"]) <= {E2E_TEST_SEASON}
    summary, _ = betting_report(cands, E2E_TEST_SEASON)
    assert summary == backtest.report["betting"]
    # Moving every test-season edge would not move a threshold: it is fixed by the earlier season.
    shifted = cands.copy()
    test_rows = shifted["season"] == E2E_TEST_SEASON
    shifted.loc[test_rows, "profit_per_unit"] = -1.0
    assert (walk_forward_bets(shifted).groupby("market")["threshold"].first()
            == walk_forward_bets(cands).groupby("market")["threshold"].first()).all()


def test_the_bet_decision_ignores_closing_prices_and_a_peeking_one_is_caught(backtest):
    cands = backtest.markets.candidates
    earlier = cands[cands["season"] != E2E_TEST_SEASON]
    test = cands[cands["season"] == E2E_TEST_SEASON]

    # The earlier season's results are known when the test season is bet (they set its threshold);
    # the check replaces the test season's closing prices and results only.
    def strategy(c: pd.DataFrame) -> pd.DataFrame:
        bets = walk_forward_bets(pd.concat([earlier, c]))
        return bets[bets["season"] == E2E_TEST_SEASON]

    def peeking(c: pd.DataFrame) -> pd.DataFrame:
        # "Bet only where the price will drift": reads the closing price.
        return strategy(c[~(c["price_close"] < c["price_open"])])

    assert len(strategy(test)) > 50
    assert decisions_ignore_closing(strategy, test, n_random=1)
    assert not decisions_ignore_closing(peeking, test, n_random=1)
