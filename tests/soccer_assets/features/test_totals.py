"""The opening over/under 2.5 odds as goal-model inputs: inversion, NaN rules, batch == single."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import poisson

from soccer_assets.features.feature_vector import totals_feature_vector
from soccer_assets.features.totals import TOTALS_FEATURES, poisson_total, totals_features_from_odds


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.55, 0.7, 0.95, 0.995])
def test_poisson_total_inverts_the_over_probability(p):
    mu = poisson_total(np.array([p]))[0]
    assert 1.0 - poisson.cdf(2, mu) == pytest.approx(p, abs=1e-12)


def test_poisson_total_rises_with_the_price_of_the_under():
    p = np.linspace(0.2, 0.8, 61)
    assert np.all(np.diff(poisson_total(p)) > 0)


@pytest.mark.parametrize("bad", [np.nan, 0.0, 1.0, -0.1, 1.5, np.inf])
def test_impossible_probabilities_give_nan(bad):
    assert math.isnan(poisson_total(np.array([bad]))[0])


def test_features_from_odds_demargin_and_reject_invalid_prices():
    out = totals_features_from_odds([[1.80, 2.05], [1.0, 2.0], [np.nan, 2.0], [2.0, 2.0]])
    assert out.shape == (4, 2)
    assert out[0, 0] == pytest.approx((1 / 1.80) / (1 / 1.80 + 1 / 2.05))
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()
    assert out[3, 0] == 0.5 and 1.0 - poisson.cdf(2, out[3, 1]) == pytest.approx(0.5)


def test_one_row_alone_equals_the_same_row_in_a_batch():
    rng = np.random.default_rng(3)
    odds = rng.uniform(1.3, 3.5, size=(500, 2))
    batch = totals_features_from_odds(odds)
    for i in (0, 17, 499):
        single = totals_feature_vector(tuple(odds[i]))
        assert list(single) == TOTALS_FEATURES
        assert np.array(list(single.values())).tobytes() == batch[i].tobytes()
    assert all(math.isnan(v) for v in totals_feature_vector(None).values())
