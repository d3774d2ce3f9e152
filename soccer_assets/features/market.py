"""Bookmaker odds -> de-margined outcome probabilities (pure, vectorised).

Why: the market is both the strongest single feature and the reference every model is judged
against, but raw inverse odds sum to more than 1 (the bookmaker's margin, "overround") and carry
the favourite-longshot bias. The methods here remove the margin under different assumptions:

``multiplicative``  p_i = r_i / sum(r) (a.k.a. "basic" normalisation), r_i = 1 / o_i.
``additive``        p_i = r_i - (sum(r) - 1) / n; can go negative for long shots, in which case
                    the row is clipped at 0 and renormalised (documented deviation from the pure
                    method, so that every returned row is a probability vector).
``power``           p_i = r_i ** k with k chosen so that sum(p) = 1 (Buchdahl's "logarithmic").
``shin``            Shin (1992, 1993) insider-trading model, solved as in Jullien & Salanié (1994),
                    the R package ``implied`` (Lindstrøm) and Clarke, Kovalchik & Ingram (2017):
                    p_i(z) = (sqrt(z^2 + 4 (1 - z) r_i^2 / sum(r)) - z) / (2 (1 - z)) with the
                    insider share z in [0, 1) chosen so that sum(p) = 1. When sum(r) <= 1
                    (no overround, e.g. best-price "max" odds) Shin's model has no z >= 0 solution
                    and the multiplicative result is returned instead.

Rows where any odd is missing, non-finite or <= 1 give an all-NaN row. Roots are found by a
fixed number of vectorised bisection steps using only IEEE-exact operations (+ - * / sqrt) for
Shin, so a row's result is bit-for-bit the same whether it is computed alone (online serving) or
inside a batch (offline feature build).
"""

from __future__ import annotations

import numpy as np

METHODS = ("multiplicative", "additive", "power", "shin")
_BISECT_STEPS = 100


def _as_2d(odds: np.ndarray) -> tuple[np.ndarray, bool]:
    arr = np.asarray(odds, dtype=np.float64)
    if arr.ndim == 1:
        return arr.reshape(1, -1), True
    if arr.ndim != 2:
        raise ValueError(f"odds must be 1-D or 2-D, got shape {arr.shape}")
    return arr, False


def _row_sum(a: np.ndarray) -> np.ndarray:
    """Left-to-right sum of the columns: same rounding for one row or a million."""
    total = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        total = total + a[:, j]
    return total


def _valid_rows(odds: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.all(np.isfinite(odds) & (odds > 1.0), axis=1)


def overround(odds: np.ndarray) -> np.ndarray:
    """Bookmaker margin ``sum(1/o) - 1`` per row (NaN where any odd is invalid).

    Why: the size of the margin says how much the de-margining method matters and how
    competitive the price is; it is a feature in its own right.
    """
    arr, single = _as_2d(odds)
    valid = _valid_rows(arr)
    out = np.full(arr.shape[0], np.nan)
    if valid.any():
        out[valid] = _row_sum(1.0 / arr[valid]) - 1.0
    return out[0:1] if single else out


def _shin(r: np.ndarray, booksum: np.ndarray) -> np.ndarray:
    q = (r * r) / booksum[:, None]

    def probs(z: np.ndarray) -> np.ndarray:
        zc = z[:, None]
        return (np.sqrt(zc * zc + 4.0 * (1.0 - zc) * q) - zc) / (2.0 * (1.0 - zc))

    lo = np.zeros(r.shape[0])
    hi = np.full(r.shape[0], 1.0 - 1e-12)
    # sum(p(0)) = sqrt(booksum) > 1 and sum(p(z)) decreases towards sum(q) <= 1 as z -> 1.
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        too_big = _row_sum(probs(mid)) > 1.0
        lo = np.where(too_big, mid, lo)
        hi = np.where(too_big, hi, mid)
    return probs(0.5 * (lo + hi))


def _power(r: np.ndarray) -> np.ndarray:
    logr = np.log(r)
    lo = np.zeros(r.shape[0])  # sum(r**0) = n > 1
    hi = np.ones(r.shape[0])
    for _ in range(64):  # grow hi until sum(r**hi) <= 1 (k > 1 whenever there is overround)
        grow = _row_sum(np.exp(hi[:, None] * logr)) > 1.0
        if not grow.any():
            break
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, hi * 2.0, hi)
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        too_big = _row_sum(np.exp(mid[:, None] * logr)) > 1.0
        lo = np.where(too_big, mid, lo)
        hi = np.where(too_big, hi, mid)
    return np.exp(0.5 * (lo + hi)[:, None] * logr)


def implied_probabilities(odds: np.ndarray, method: str = "shin") -> np.ndarray:
    """Decimal odds (n, k) -> de-margined probabilities (n, k), each valid row summing to 1.

    Why: model features and the market baseline need proper probabilities; Shin is the default
    because it corrects the favourite-longshot bias and scores best on football 1X2 markets.
    A 1-D input (one match) gives a 1-D output.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    arr, single = _as_2d(odds)
    n, k = arr.shape
    out = np.full((n, k), np.nan)
    valid = _valid_rows(arr)
    if k < 2:
        raise ValueError("need at least two outcomes per row")
    if valid.any():
        r = 1.0 / arr[valid]
        booksum = _row_sum(r)
        if method == "multiplicative":
            p = r / booksum[:, None]
        elif method == "additive":
            p = np.clip(r - ((booksum - 1.0) / k)[:, None], 0.0, None)
        elif method == "power":
            p = _power(r)
        else:
            p = r / booksum[:, None]
            margin = booksum > 1.0
            if margin.any():
                p[margin] = _shin(r[margin], booksum[margin])
        # Final normalisation removes the last ulp of bisection error (and the additive clip).
        p = p / _row_sum(p)[:, None]
        out[valid] = np.clip(p, 0.0, 1.0)
    return out[0] if single else out
