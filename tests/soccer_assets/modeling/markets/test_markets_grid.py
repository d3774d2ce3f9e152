"""Score grids: Dixon–Coles construction and fitting grids to a 1X2 and a total."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from soccer_assets.modeling.markets import dixon_coles_grid, fit_grids, one_x_two, rho_bounds
from soccer_assets.modeling.markets.grid import MAX_TOTAL_SHIFT

FAST = settings(derandomize=True, max_examples=40, deadline=None)


def realistic_inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1X2 from Dixon–Coles grids with realistic parameters, the draw moved ±1pp, kept in range."""
    rng = np.random.default_rng(seed)
    total = rng.uniform(1.8, 3.8, n)
    lh = total * rng.uniform(0.25, 0.75, n)
    p = one_x_two(dixon_coles_grid(lh, total - lh, rng.uniform(-0.2, 0.1, n)))
    shift = rng.normal(0, 0.01, n)
    p[:, 1] += shift
    p[:, 0] -= shift
    keep = (p[:, 0] >= 0.2) & (p[:, 0] <= 0.75) & (p[:, 1] >= 0.18) & (p[:, 1] <= 0.32) & (p[:, 2] > 0)
    return p[keep], total[keep]


def test_rho_zero_is_the_renormalised_poisson_outer_product():
    lh, la = np.array([0.7, 1.5, 3.2]), np.array([1.9, 1.1, 0.4])
    k = np.arange(11)
    expected = poisson.pmf(k, lh[:, None])[:, :, None] * poisson.pmf(k, la[:, None])[:, None, :]
    expected /= expected.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(dixon_coles_grid(lh, la, 0.0), expected, rtol=1e-12, atol=1e-15)


@FAST
@given(st.floats(0.1, 4.0), st.floats(0.1, 4.0), st.floats(-3.0, 3.0), st.integers(2, 12))
def test_dixon_coles_grid_is_a_distribution_with_rho_clipped(lh, la, rho, max_goals):
    g = dixon_coles_grid(lh, la, rho, max_goals=max_goals)
    assert g.shape == (1, max_goals + 1, max_goals + 1)
    assert g.min() >= 0
    assert g.sum() == pytest.approx(1.0, abs=1e-12)
    lo, hi = rho_bounds(np.array([lh]), np.array([la]))
    assert lo[0] <= 0 <= hi[0]


def test_low_score_correction_follows_tau():
    lh, la, rho = 1.3, 1.1, -0.1
    base = dixon_coles_grid(lh, la, 0.0)[0]
    g = dixon_coles_grid(lh, la, rho)[0]
    # Σ of the τ corrections is 0 up to truncation, so the ratios are τ up to a tiny renormalisation.
    ratio = g / base
    np.testing.assert_allclose(
        [ratio[0, 0], ratio[0, 1], ratio[1, 0], ratio[1, 1]],
        [1 - lh * la * rho, 1 + lh * rho, 1 + la * rho, 1 - rho],
        rtol=1e-6,
    )
    np.testing.assert_allclose(ratio[2:, 2:], 1.0, rtol=1e-6)


def box_inputs(n: int, seed: int = 1, min_away: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """1X2 and totals drawn independently over the realistic box (p_home 0.2–0.75, p_draw
    0.18–0.32, totals 1.8–3.8), as a classifier and a separate goal model could give them."""
    rng = np.random.default_rng(seed)
    ph, pd, total = rng.uniform(0.2, 0.75, n), rng.uniform(0.18, 0.32, n), rng.uniform(1.8, 3.8, n)
    p = np.stack([ph, pd, 1.0 - ph - pd], axis=1)
    keep = p[:, 2] >= min_away
    return p[keep], total[keep]


def test_fit_grids_reproduces_the_1x2_and_recovers_the_parameters():
    p, total = realistic_inputs(3000)
    fit = fit_grids(p, total)
    assert np.abs(one_x_two(fit.grids) - p).max() <= 1e-9
    np.testing.assert_allclose(fit.grids.sum(axis=(1, 2)), 1.0, atol=1e-12)
    np.testing.assert_allclose(fit.lam_home + fit.lam_away, total, rtol=1e-12)
    assert fit.residual.max() <= 1e-9
    assert fit.grids.min() >= 0


def test_fit_grids_on_10000_independent_rows_moves_the_total_only_where_needed():
    p, total = box_inputs(13_000)
    p, total = p[:10_000], total[:10_000]
    assert len(p) == 10_000
    fit = fit_grids(p, total)
    assert np.abs(one_x_two(fit.grids) - p).max() <= 1e-9
    assert fit.residual.max() <= 0.01
    assert np.quantile(fit.residual, 0.95) <= 1e-9
    shift = (fit.lam_home + fit.lam_away) / total - 1.0
    assert np.abs(shift).max() <= MAX_TOTAL_SHIFT + 1e-12
    assert np.mean(np.abs(shift) > 1e-9) < 0.2  # most rows keep their total exactly
    lo, hi = rho_bounds(fit.lam_home, fit.lam_away)
    moved = np.abs(shift) > 1e-9
    assert np.all(
        (fit.rho[moved] <= lo[moved] + 1e-9)
        | (np.abs(fit.rho[moved]) >= 0.5 - 1e-9)
        | (fit.rho[moved] >= hi[moved] - 1e-9)
    )  # the total moves only with ρ on a bound


def test_fit_grids_exact_on_unreachable_inputs_and_reports_the_gap():
    # A big favourite with a high draw share at a high total: no bounded grid with that total fits.
    p = np.array([[0.62, 0.30, 0.08], [0.45, 0.27, 0.28]])
    total = np.array([3.6, 2.6])
    fixed = fit_grids(p, total, max_total_shift=0.0)
    np.testing.assert_allclose(fixed.lam_home + fixed.lam_away, total, rtol=1e-12)
    assert fixed.residual[0] > 0.01 and fixed.residual[1] < 1e-9
    fit = fit_grids(p, total)
    assert fit.residual.max() < 1e-9  # the total moved instead: fewer goals, more draws
    assert 3.6 * (1 - MAX_TOTAL_SHIFT) - 1e-9 <= fit.lam_home[0] + fit.lam_away[0] < 3.6
    assert fit.lam_home[1] + fit.lam_away[1] == pytest.approx(2.6, rel=1e-12)
    for f in (fixed, fit):
        assert np.abs(one_x_two(f.grids) - p).max() <= 1e-9


@FAST
@given(st.floats(0.2, 0.75), st.floats(0.18, 0.32), st.floats(1.8, 3.8))
def test_fit_grids_1x2_is_exact_over_the_whole_box(ph, pd, total):
    pa = 1.0 - ph - pd
    if pa <= 0.0:
        return
    p = np.array([[ph, pd, pa]])
    fit = fit_grids(p, total)
    assert np.abs(one_x_two(fit.grids) - p).max() <= 1e-9
    assert np.all(fit.grids >= 0)
    if pa >= 0.1:
        assert fit.residual[0] <= 0.01


def test_fit_grids_rejects_bad_inputs():
    with pytest.raises(ValueError):
        fit_grids(np.array([[0.5, 0.3, 0.3]]), 2.5)
    with pytest.raises(ValueError):
        fit_grids(np.array([0.5, 0.3, 0.2]), 2.5)
    with pytest.raises(ValueError):
        fit_grids(np.array([[0.5, 0.3, 0.2]]), -1.0)
    with pytest.raises(ValueError):
        fit_grids(np.array([[0.5, 0.3, 0.2]]), 2.5, max_total_shift=1.0)


def test_fit_grids_accepts_no_rows():
    fit = fit_grids(np.empty((0, 3)), np.empty(0))
    assert fit.grids.shape == (0, 11, 11) and fit.residual.shape == (0,)
