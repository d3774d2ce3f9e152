"""Markets priced off grids: fixed selections, totals and Asian handicaps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.modeling.markets import (
    ASIAN_LINES,
    TOTAL_LINES,
    asian_outcome,
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
    fit_grids,
    one_x_two,
    total_outcome,
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
    np.testing.assert_allclose(under.sum(axis=-1), 1.0)
    # win, half_win, push, half_loss, loss: the under is the over's mirror, net of pushes
    np.testing.assert_allclose(over[..., 0] + over[..., 1], under[..., 4] + under[..., 3], atol=1e-15)
    np.testing.assert_allclose(over[..., 2], under[..., 2])
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
    assert np.all((home >= -1e-15) & (home <= 1 + 1e-12))
    np.testing.assert_allclose(home[..., 0] + home[..., 1], away[..., 4] + away[..., 3], atol=1e-15)
    np.testing.assert_allclose(home[..., 2], away[..., 2])
    np.testing.assert_allclose(fair_probability(home) + fair_probability(away), 1.0)
    # the away side of home line l is the home side of the mirrored match at -l
    mirrored = asian_outcomes(np.swapaxes(g, 1, 2), home_lines=-ASIAN_LINES, side="home")
    np.testing.assert_allclose(mirrored, away, atol=1e-15)
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


@FAST
@given(params, st.sampled_from(list(TOTAL_LINES)), st.sampled_from(list(ASIAN_LINES)))
def test_fair_probability_is_the_push_weighted_mean_of_y(par, total_line, home_line):
    """Scoring with (y, weight) is consistent with pricing: E[w·y] / E[w] = fair probability."""
    g = grid(*par)[0]
    h, a = np.indices(g.shape)
    y, w = total_outcome(h + a, total_line)
    assert (g * w * y).sum() / (g * w).sum() == pytest.approx(
        fair_probability(total_outcomes(g[None], lines=[total_line]))[0, 0], rel=1e-9
    )
    y, w = asian_outcome(h - a, home_line)
    if (g * w).sum() > 0:
        assert (g * w * y).sum() / (g * w).sum() == pytest.approx(
            fair_probability(asian_outcomes(g[None], home_lines=[home_line]))[0, 0], rel=1e-9
        )


def test_markets_on_fitted_grids_of_many_rows():
    rng = np.random.default_rng(3)
    ph, pd = rng.uniform(0.25, 0.6, 2000), rng.uniform(0.2, 0.3, 2000)
    fit = fit_grids(np.stack([ph, pd, 1 - ph - pd], axis=1), rng.uniform(2.0, 3.4, 2000))
    over = total_outcomes(fit.grids)
    assert over.shape == (2000, len(TOTAL_LINES), 5)
    np.testing.assert_allclose(
        fair_probability(asian_outcomes(fit.grids, home_lines=[0.0]))[:, 0], draw_no_bet(fit.grids)[:, 0]
    )
    np.testing.assert_allclose(fair_probability(asian_outcomes(fit.grids, home_lines=[-0.5]))[:, 0], ph)
