"""Opening over/under 2.5 goals odds -> the market's goal expectation (pure, vectorised).

Why: the totals market is the sharpest public forecast of how many goals a match will have, so the
``market`` variant of the goal model starts from it (as the 1X2 ``market`` variant starts from the
opening 1X2 probabilities). Two columns, :data:`TOTALS_FEATURES`:

* ``market_p_over25`` — multiplicative de-margined P(over 2.5) of the opening pair;
* ``market_total_mu`` — the mean ``μ`` of the Poisson total with ``P(N >= 3) = market_p_over25``:
  the total goals the price implies, on the scale the goal model predicts (its log is the goal
  booster's ``base_margin``).

Only opening prices (known before kick-off) enter; closing prices never become features. Invalid or
missing odds give NaN (the goal booster treats NaN as missing and starts from its prior).
``μ`` is found by a fixed number of vectorised Newton steps, so one row alone and the same row in a
batch go through the same arithmetic.
"""

from __future__ import annotations

import numpy as np

from soccer_assets.features.market import implied_probabilities

TOTALS_FEATURES: list[str] = ["market_p_over25", "market_total_mu"]
MU_MIN, MU_MAX = 0.05, 12.0
_NEWTON_STEPS = 40


def poisson_total(p_over: np.ndarray) -> np.ndarray:
    """``μ`` with ``P(Poisson(μ) >= 3) = p_over``, per element (NaN outside (0, 1) or for NaN).

    ``P(N >= 3) = 1 - e^-μ (1 + μ + μ²/2)`` rises strictly in ``μ`` with derivative ``e^-μ μ²/2``,
    so Newton from μ = 2.5, clipped to [:data:`MU_MIN`, :data:`MU_MAX`], converges for every
    probability a bookmaker quotes.
    """
    p = np.asarray(p_over, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(p) & (p > 0.0) & (p < 1.0)
    mu = np.full(p.shape, 2.5)
    target = np.where(ok, p, 0.5)
    for _ in range(_NEWTON_STEPS):
        e = np.exp(-mu)
        f = 1.0 - e * (1.0 + mu + 0.5 * mu * mu) - target
        mu = np.clip(mu - f / (0.5 * e * mu * mu), MU_MIN, MU_MAX)
    return np.where(ok, mu, np.nan)


def totals_features_from_odds(odds: np.ndarray) -> np.ndarray:
    """``(n, 2)`` opening (over 2.5, under 2.5) odds -> ``(n, 2)`` :data:`TOTALS_FEATURES`."""
    arr = np.asarray(odds, dtype=np.float64).reshape(-1, 2)
    p_over = implied_probabilities(arr, method="multiplicative")[:, 0]
    return np.column_stack([p_over, poisson_total(p_over)])
