"""The pure parts of serving's markets: which markets a request prices, the selection checks, the
logged compact form, and the registry accepting the goal model's totals features."""

from __future__ import annotations

import numpy as np
import pytest

from soccer_assets.features.state import ALL_FEATURES, RATING_FEATURES, TOTALS_FEATURES
from soccer_assets.modeling.markets import fit_grids
from soccer_assets.modeling.markets.pricing import MARKETS, price_markets
from soccer_serving.markets import PriceQuery, check_price, compact, requested_markets, selection_catalogue
from soccer_serving.registry import _check_features


def test_requested_markets_default_order_and_added_price_markets() -> None:
    over = PriceQuery("totals", "over", 2.5, 1.9)
    assert requested_markets(None, ()) is None  # today's answer: no markets at all
    assert requested_markets(None, (over,)) == ("1x2", "totals")
    assert requested_markets(["btts", "btts", "totals"], (over,)) == ("btts", "totals")
    with pytest.raises(ValueError, match="choose from"):
        requested_markets(["corners"], ())


def test_the_catalogue_is_every_selection_the_pricing_gives() -> None:
    cat = selection_catalogue()
    assert list(cat) == list(MARKETS)
    assert len(cat["totals"]) == 2 * 21 and len(cat["asian_handicap"]) == 2 * 25
    for line in (-3.0, -0.25, 0.0, 3.0):
        check_price("asian_handicap", "away", line)
    check_price("correct_score", "other", None)
    for args, words in [(("btts", "maybe", None), "valid: yes, no"),
                        (("totals", "over", 6.0), "at line 6.0"),
                        (("draw_no_bet", "draw", None), "valid: home, away")]:
        with pytest.raises(ValueError, match=words):
            check_price(*args)


def test_compact_keeps_every_probability_by_selection_and_line() -> None:
    fit = fit_grids(np.array([[0.45, 0.27, 0.28]]), np.array([2.6]))
    priced = price_markets(fit.grids, MARKETS)[0]
    small = compact(priced)
    assert list(small) == list(MARKETS)
    for market in ("totals", "asian_handicap"):
        for rec in priced[market]:
            assert small[market][rec["selection"]][str(rec["line"])] == rec["probability"]
    assert small["1x2"] == {r["selection"]: r["probability"] for r in priced["1x2"]}
    assert small["expected_goals"] == {r["selection"]: r["value"] for r in priced["expected_goals"]}
    assert len(small["correct_score"]) == len(priced["correct_score"])


def test_the_registry_accepts_the_goal_models_totals_features() -> None:
    _check_features(tuple(ALL_FEATURES + TOTALS_FEATURES), "market", "goal model")
    _check_features(tuple(RATING_FEATURES), "ratings", "goal model")
    with pytest.raises(ValueError, match="ratings goal model uses market features"):
        _check_features(tuple(RATING_FEATURES + TOTALS_FEATURES), "ratings", "goal model")
    with pytest.raises(ValueError, match="cannot compute"):
        _check_features(("market_p_over35",), "market")
