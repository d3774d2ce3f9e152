"""Every market of a grid as records, and the edge / Kelly stake of an offered price."""

from __future__ import annotations

import numpy as np
import pytest

from soccer_assets.modeling.markets import fit_grids, one_x_two
from soccer_assets.modeling.markets.pricing import (
    MARKETS,
    check_markets,
    find_selection,
    offer_value,
    price_markets,
)


@pytest.fixture(scope="module")
def grids():
    p = np.array([[0.62, 0.22, 0.16], [0.30, 0.30, 0.40], [0.15, 0.25, 0.60]])
    return fit_grids(p, np.array([3.1, 2.2, 2.6])).grids


def test_every_market_is_priced_in_the_order_asked(grids):
    priced = price_markets(grids, list(reversed(MARKETS)))
    assert len(priced) == 3
    assert list(priced[0]) == list(reversed(MARKETS))
    counts = {m: len(v) for m, v in priced[0].items()}
    assert counts == {"1x2": 3, "double_chance": 3, "draw_no_bet": 2, "btts": 2, "totals": 42,
                      "asian_handicap": 50, "correct_score": 50, "expected_goals": 2}


def test_complementary_selections_sum_to_one_and_agree_with_the_grid(grids):
    for i, priced in enumerate(price_markets(grids, MARKETS)):
        p1 = [r["probability"] for r in priced["1x2"]]
        assert p1 == pytest.approx(one_x_two(grids)[i], abs=1e-15)
        for market in ("1x2", "btts", "draw_no_bet", "correct_score"):
            assert sum(r["probability"] for r in priced[market]) == pytest.approx(1.0, abs=1e-12)
        assert sum(r["probability"] for r in priced["double_chance"]) == pytest.approx(2.0, abs=1e-12)
        for market, sides in (("totals", ("over", "under")), ("asian_handicap", ("home", "away"))):
            lines = sorted({r["line"] for r in priced[market]})
            probs = []
            for line in lines:
                a, b = (find_selection(priced, market, s, line) for s in sides)
                assert a["probability"] + b["probability"] == pytest.approx(1.0, abs=1e-12)
                assert sum(a["outcomes"].values()) == pytest.approx(1.0, abs=1e-12)
                assert a["fair_price"] == pytest.approx(1 / a["probability"])
                probs.append(a["probability"])
            # The over (home) gets less likely as the line rises (the home line falls).
            diffs = np.diff(probs)
            assert np.all(diffs <= 1e-12) if market == "totals" else np.all(diffs >= -1e-12)
        xg = {r["selection"]: r["value"] for r in priced["expected_goals"]}
        assert set(xg) == {"home", "away"} and all(v > 0 for v in xg.values())


def test_offer_value_worked_examples():
    # 1X2: p = 0.5 at 2.2 -> edge 0.1, Kelly 0.1 / 1.2.
    assert offer_value({"selection": "home", "probability": 0.5}, 2.2) == pytest.approx(
        {"price": 2.2, "edge": 0.1, "kelly": 0.1 / 1.2})
    # Whole line: win 0.4, push 0.2, loss 0.4 at 2.5 -> edge 0.2; exact win/push/lose Kelly 1/6.
    line = {"selection": "home", "outcomes": {"win": 0.4, "half_win": 0.0, "push": 0.2,
                                               "half_loss": 0.0, "loss": 0.4}}
    assert offer_value(line, 2.5) == pytest.approx({"price": 2.5, "edge": 0.2, "kelly": 1 / 6})
    # Quarter line: a half loss loses half the stake.
    quarter = {"selection": "over", "outcomes": {"win": 0.5, "half_win": 0.0, "push": 0.0,
                                                  "half_loss": 0.25, "loss": 0.25}}
    assert offer_value(quarter, 1.9)["edge"] == pytest.approx(0.5 * 0.9 - 0.125 - 0.25)
    # No edge, no stake.
    assert offer_value({"selection": "away", "probability": 0.2}, 3.0)["kelly"] == 0.0


def test_bad_requests_get_clear_errors(grids):
    with pytest.raises(ValueError, match="unknown market"):
        check_markets(["1x2", "first_goalscorer"])
    assert check_markets(["totals", "1x2", "totals"]) == ["totals", "1x2"]
    priced = price_markets(grids[:1], ["1x2", "totals"])[0]
    with pytest.raises(KeyError, match="not priced"):
        find_selection(priced, "btts", "yes")
    with pytest.raises(KeyError, match=r"no selection 'over' at line 9\.5"):
        find_selection(priced, "totals", "over", 9.5)
    with pytest.raises(ValueError, match="above 1"):
        offer_value(find_selection(priced, "1x2", "home"), 1.0)
