"""Margin removal: published reference values and properties of every method."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from soccer_assets.features.market import METHODS, implied_probabilities, overround

# Example odds of the R package `implied` (J. C. Lindstrøm), README / vignette "Introduction to the
# implied package": three football matches, columns home / draw / away.
IMPLIED_ODDS = np.array([[4.20, 3.70, 1.95], [2.45, 3.70, 2.90], [2.05, 3.20, 3.80]])


def test_multiplicative_and_overround_match_implied_package() -> None:
    # implied README, `res1$probabilities` / `res1$margin` (method = "basic"), printed to 7 digits.
    # Row 1 by hand: 1/4.2 + 1/3.7 + 1/1.95 = 0.2380952 + 0.2702703 + 0.5128205 = 1.0211860;
    # 0.2380952 / 1.0211860 = 0.2331556.
    expected = np.array(
        [
            [0.2331556, 0.2646631, 0.5021813],
            [0.3988848, 0.2641264, 0.3369888],
            [0.4586948, 0.2938514, 0.2474538],
        ]
    )
    np.testing.assert_allclose(
        implied_probabilities(IMPLIED_ODDS, "multiplicative"), expected, atol=6e-8
    )
    np.testing.assert_allclose(
        overround(IMPLIED_ODDS), [0.02118602, 0.02326112, 0.06346277], atol=6e-9
    )


def test_shin_matches_implied_package() -> None:
    # implied README, `res2$probabilities` (method = "shin"; z = 0.0106, 0.0116, 0.0318).
    # The package stops its root search at a loose tolerance, so its 7th digit is not exact: the
    # exact roots (this implementation, checked with scipy.optimize.brentq at xtol=1e-15) differ
    # from the printed values by up to 2.1e-6 (row 3); hence atol=3e-6.
    expected = np.array(
        [
            [0.2315716, 0.2635742, 0.5048542],
            [0.4000221, 0.2629271, 0.3370508],
            [0.4645882, 0.2919788, 0.2434331],
        ]
    )
    np.testing.assert_allclose(implied_probabilities(IMPLIED_ODDS, "shin"), expected, atol=3e-6)


def test_shin_matches_python_shin_package_to_high_precision() -> None:
    # PyPI package `shin` (M. Berk) README: shin.calculate_implied_probabilities([2.6, 2.4, 4.3])
    # -> [0.37299406033208965, 0.4047794109200184, 0.2222265287474275], z = 0.01694251276407055,
    # converged to |Δz| < 1e-12.
    got = implied_probabilities(np.array([2.6, 2.4, 4.3]), "shin")
    np.testing.assert_allclose(
        got, [0.37299406033208965, 0.4047794109200184, 0.2222265287474275], atol=1e-10
    )
    # Check z independently: with r = 1/o, B = sum(r), Shin's p_i(z) must reproduce `got`.
    r = 1 / np.array([2.6, 2.4, 4.3])
    z = 0.01694251276407055
    p = (np.sqrt(z * z + 4 * (1 - z) * r**2 / r.sum()) - z) / (2 * (1 - z))
    np.testing.assert_allclose(got, p, atol=1e-10)


def test_power_matches_implied_package() -> None:
    # implied README, `res4$probabilities` (method = "power"; exponents 1/k = 0.9798, 0.9788,
    # 0.9420). Same loose-tolerance caveat as Shin: exact roots differ by up to 2.6e-6.
    expected = np.array(
        [
            [0.2311414, 0.2630644, 0.5057942],
            [0.4003156, 0.2627189, 0.3369655],
            [0.4667139, 0.2908985, 0.2423876],
        ]
    )
    np.testing.assert_allclose(implied_probabilities(IMPLIED_ODDS, "power"), expected, atol=3e-6)
    # The defining equation holds exactly: p_i = r_i^k with one k per row.
    p = implied_probabilities(IMPLIED_ODDS, "power")
    k = np.log(p) / np.log(1 / IMPLIED_ODDS)
    np.testing.assert_allclose(k, k[:, :1].repeat(3, axis=1), rtol=1e-12)


def test_additive_by_hand_and_clarke_example() -> None:
    # Row 1: margin 0.0211860 / 3 = 0.0070620 subtracted from each inverse odd.
    r = 1 / IMPLIED_ODDS[0]
    np.testing.assert_allclose(
        implied_probabilities(IMPLIED_ODDS[0], "additive"), r - (r.sum() - 1) / 3, atol=1e-15
    )
    # Clarke, Kovalchik & Ingram (2017) / implied vignette: inverse odds 0.87, 0.2, 0.1, 0.05,
    # 0.02, 0.01 make the additive method negative for the long shots (the R package warns);
    # we clip at 0 and renormalise. Shin keeps every outcome positive.
    odds = 1 / np.array([0.870, 0.2, 0.1, 0.05, 0.02, 0.01])
    add = implied_probabilities(odds, "additive")
    assert add.min() == 0.0
    assert add.sum() == pytest.approx(1.0, abs=1e-12)
    shin = implied_probabilities(odds, "shin")
    assert shin.min() > 0.0
    assert shin.sum() == pytest.approx(1.0, abs=1e-12)


def test_invalid_rows_are_nan_and_unknown_method_rejected() -> None:
    odds = np.array([[2.0, 3.0, 4.0], [np.nan, 3.0, 4.0], [1.0, 3.0, 4.0], [0.5, 3.0, 4.0],
                     [np.inf, 3.0, 4.0]])
    for m in METHODS:
        p = implied_probabilities(odds, m)
        assert np.isfinite(p[0]).all()
        assert np.isnan(p[1:]).all()
    assert np.isnan(overround(odds)[1:]).all()
    with pytest.raises(ValueError, match="unknown method"):
        implied_probabilities(odds, "bogus")


def test_shin_without_overround_falls_back_to_multiplicative() -> None:
    odds = np.array([2.2, 3.6, 4.5])  # sum(1/o) < 1: best prices across books
    assert overround(odds)[0] < 0
    np.testing.assert_array_equal(
        implied_probabilities(odds, "shin"), implied_probabilities(odds, "multiplicative")
    )


odds_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 20), st.just(3)),
    elements=st.floats(1.01, 60.0, allow_nan=False),
)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(odds=odds_rows, method=st.sampled_from(METHODS))
def test_probabilities_sum_to_one_and_lie_in_unit_interval(odds: np.ndarray, method: str) -> None:
    p = implied_probabilities(odds, method)
    assert p.shape == odds.shape
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(odds=odds_rows, method=st.sampled_from(METHODS))
def test_batch_equals_single_row_bitwise(odds: np.ndarray, method: str) -> None:
    # Online serving computes one match at a time, the offline build a whole table.
    batch = implied_probabilities(odds, method)
    for i in range(len(odds)):
        assert batch[i].tobytes() == implied_probabilities(odds[i], method).tobytes()


@settings(max_examples=100, deadline=None, derandomize=True)
@given(odds=odds_rows)
def test_shin_and_power_shift_probability_to_the_favourite(odds: np.ndarray) -> None:
    # Both methods model the favourite-longshot bias: with a positive margin the favourite's
    # probability is at least its multiplicative (proportional) share, and order is preserved.
    odds = odds[overround(odds) > 1e-6]
    basic = implied_probabilities(odds, "multiplicative")
    for m in ("shin", "power"):
        p = implied_probabilities(odds, m)
        fav = np.argmin(odds, axis=1)
        rows = np.arange(len(odds))
        assert np.all(p[rows, fav] >= basic[rows, fav] - 1e-12)
        assert np.all(p[rows, fav] >= p.max(axis=1) - 1e-12)
