"""Markets priced off grids: fixed selections, totals and Asian handicaps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.modeling.markets import (
    ASIAN_LINES,
    TOTAL_LINES,
    asian_outcomes,
    btts,
    correct_score,
    dixon_coles_grid,
    double_chance,
    draw_no_bet,
    expected_goals,
    expected_profit,
    fair_price,
    fair_probability,
    one_x_two,
    total_outcomes,
)

FAST = settings(derandomize=True, max_examples=30, deadline=None)
params = st.tuples(st.floats(0.2, 3.5), st.floats(0.2, 3.5), st.floats(-0.3, 0.3))


def grid(lh: float, la: float, rho: float) -> np.ndarray:
    return dixon_coles_grid(lh, la, rho)


@FAST
@given(params)
def test_fixed_selections_are_probabilities_and_complementary(par):
    g = grid(*par)
    p = one_x_two(g)
    for arr in (p, double_chance(g), draw_no_bet(g), btts(g), expected_goals(g) / 10):
        assert np.all((arr >= -1e-15) & (arr <= 1 + 1e-12))
    assert p.sum() == pytest.approx(1.0)
    assert draw_no_bet(g).sum() == pytest.approx(1.0)
    assert btts(g).sum() == pytest.approx(1.0)
    assert double_chance(g).sum() == pytest.approx(2.0)
    labels, cs = correct_score(g)
    assert labels[0] == "0-0" and labels[-2] == "6-6" and labels[-1] == "other" and len(labels) == 50
    assert cs.sum() == pytest.approx(1.0) and cs.min() >= 0


def test_expected_goals_matches_poisson_means():
    g = dixon_coles_grid([1.3, 2.2], [0.9, 1.6], 0.0, max_goals=15)
    np.testing.assert_allclose(expected_goals(g), [[1.3, 0.9], [2.2, 1.6]], rtol=1e-6)


@FAST
@given(params)
def test_totals_are_consistent(par):
    g = grid(*par)
    over, under = total_outcomes(g, side="over"), total_outcomes(g, side="under")
    assert over.shape == (1, len(TOTAL_LINES), 5)
    assert np.all((over >= -1e-15) & (over <= 1 + 1e-12))
    np.testing.assert_allclose(over.sum(axis=-1), 1.0)
    np.testing.assert_allclose(fair_probability(over) + fair_probability(under), 1.0)
    fair = fair_probability(over)[0]
    assert np.all(np.diff(fair) <= 1e-12)
    np.testing.assert_allclose(expected_profit(over, fair_price(over)), 0.0, atol=1e-12)


@FAST
@given(params)
def test_asian_handicap_is_consistent(par):
    g = grid(*par)
    home, away = asian_outcomes(g, side="home"), asian_outcomes(g, side="away")
    assert home.shape == (1, len(ASIAN_LINES), 5)
    np.testing.assert_allclose(home.sum(axis=-1), 1.0)
    np.testing.assert_allclose(fair_probability(home) + fair_probability(away), 1.0)
    assert np.all(np.diff(fair_probability(home)[0]) >= -1e-12)
    np.testing.assert_allclose(expected_profit(home, fair_price(home)), 0.0, atol=1e-12)


def test_asian_zero_line_is_draw_no_bet_and_half_lines_are_1x2():
    g = grid(1.5, 1.1, -0.05)
    p = one_x_two(g)[0]
    ah = asian_outcomes(g, home_lines=[0.0, -0.5, 0.5])[0]
    assert fair_probability(ah[0]) == pytest.approx(draw_no_bet(g)[0, 0])
    assert ah[0, 2] == pytest.approx(p[1])  # push = draw
    assert ah[1, 0] == pytest.approx(p[0])
    assert ah[2, 0] == pytest.approx(p[0] + p[1])


def test_quarter_total_is_two_half_stakes():
    g = grid(1.4, 1.2, 0.0)
    o = total_outcomes(g, lines=[2.0, 2.25, 2.5])[0]
    # over 2.25: win = P(T >= 3), half loss = P(T = 2), loss = P(T <= 1).
    assert o[1, 0] == pytest.approx(o[2, 0])
    assert o[1, 3] == pytest.approx(o[0, 2])
    assert o[1, 1] == pytest.approx(0.0) and o[1, 2] == pytest.approx(0.0)


def test_bad_line_is_rejected():
    with pytest.raises(ValueError):
        total_outcomes(grid(1.0, 1.0, 0.0), lines=[2.1])
