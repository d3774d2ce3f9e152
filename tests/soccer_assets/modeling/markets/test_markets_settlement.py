"""Settlement on the real result, and (y, weight) for scoring two-way lines with pushes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.modeling.markets import (
    asian_outcome,
    settle_1x2,
    settle_asian,
    settle_btts,
    settle_total,
    total_outcome,
)

FAST = settings(derandomize=True, max_examples=50, deadline=None)
lines = st.integers(-12, 12).map(lambda q: q / 4)


@pytest.mark.parametrize(
    ("goals", "line", "side", "price", "profit"),
    [
        (2, 2.25, "over", 1.90, -0.5),
        (3, 2.25, "over", 1.90, 0.90),
        (2, 2.0, "over", 1.90, 0.0),
        (1, 2.25, "under", 2.0, 1.0),
        (2, 2.25, "under", 2.0, 0.5),
    ],
)
def test_settle_total_examples(goals, line, side, price, profit):
    assert settle_total(goals, line, side, price) == pytest.approx(profit)


@pytest.mark.parametrize(
    ("diff", "line", "side", "price", "profit"),
    [
        (1, -0.75, "home", 2.00, 0.5),
        (2, -0.75, "home", 2.00, 1.0),
        (0, -0.75, "home", 2.00, -1.0),
        (0, 0.25, "home", 1.80, 0.40),
        (1, -1.0, "home", 2.00, 0.0),
        (1, -0.75, "away", 2.00, -0.5),
    ],
)
def test_settle_asian_examples(diff, line, side, price, profit):
    assert settle_asian(diff, line, side, price) == pytest.approx(profit)


def test_settlement_is_vectorised():
    out = settle_total(np.array([0, 2, 3]), np.array([2.25, 2.25, 2.25]), "over", 1.9)
    np.testing.assert_allclose(out, [-1.0, -0.5, 0.9])
    np.testing.assert_allclose(settle_1x2(["H", "D", "A"], ["H", "H", "A"], [2.0, 3.0, 4.0]), [1, -1, 3])
    np.testing.assert_allclose(settle_1x2([0, 1], [0, 2], 2.5), [1.5, -1.0])
    np.testing.assert_allclose(settle_btts([1, 0, 2], [1, 3, 2], ["yes", "yes", "no"], 1.8), [0.8, -1, -1])


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        settle_total(2, 2.25, "sideways", 1.9)
    with pytest.raises(ValueError):
        settle_1x2(["X"], ["H"], 2.0)
    with pytest.raises(ValueError):
        settle_total(2, 2.3, "over", 1.9)


@FAST
@given(st.integers(0, 12), lines.map(lambda x: abs(x) + 0.5), st.floats(1.01, 10.0))
def test_over_and_under_at_even_money_mirror_each_other(goals, line, price):
    over = settle_total(goals, line, "over", 2.0)
    under = settle_total(goals, line, "under", 2.0)
    assert over == pytest.approx(-under)
    y, w = total_outcome(goals, line)
    assert w in (0.0, 0.5, 1.0) and y in (0.0, 1.0)
    # at even money the profit of the over is +w if its halves won, -w otherwise
    assert over == pytest.approx(w if y else -w)
    assert settle_total(goals, line, "over", price) >= -1.0


@FAST
@given(st.integers(-8, 8), lines, st.floats(1.01, 10.0))
def test_asian_sides_and_outcome_agree(diff, line, price):
    home = settle_asian(diff, line, "home", 2.0)
    assert home == pytest.approx(-settle_asian(diff, line, "away", 2.0))
    assert home == pytest.approx(settle_asian(-diff, -line, "away", 2.0))
    y, w = asian_outcome(diff, line)
    assert home == pytest.approx(w if y else -w)
    assert settle_asian(diff, line, "home", price) <= price - 1.0 + 1e-12


def test_outcome_examples():
    y, w = total_outcome(np.array([2, 3, 1, 2]), np.array([2.25, 2.25, 2.25, 2.0]))
    np.testing.assert_allclose(y, [0, 1, 0, 0])
    np.testing.assert_allclose(w, [0.5, 1, 1, 0])
    y, w = asian_outcome(np.array([1, 0]), -0.75)
    np.testing.assert_allclose(y, [1, 0])
    np.testing.assert_allclose(w, [0.5, 1])
