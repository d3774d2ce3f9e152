"""Score grids: the joint distribution of (home goals, away goals) of each match. Pure numpy.

A grid array has shape ``(n, G+1, G+1)`` and ``grid[i, h, a]`` is the probability that match ``i``
ends ``h``–``a``; the grid is truncated at ``G = max_goals`` goals per side (default
:data:`MAX_GOALS`) and renormalised, so every grid sums to 1.

* :func:`dixon_coles_grid` is the Dixon & Coles (1997) model: independent Poisson goals with means
  ``λh``, ``λa``, and the low-score cells multiplied by
  ``τ(0,0) = 1 − λh·λa·ρ``, ``τ(0,1) = 1 + λh·ρ``, ``τ(1,0) = 1 + λa·ρ``, ``τ(1,1) = 1 − ρ``.
  ``ρ`` is clipped to the interval where every τ is ≥ 0.
* :func:`fit_grids` finds, per match, the Dixon–Coles grid whose home-win and draw probabilities
  match a given 1X2 and whose ``λh + λa`` equals a given expected total, then rescales the home-win,
  draw and away-win regions so that the grid's 1X2 is exactly the one given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_GOALS = 10
RHO_LIMIT = 0.5
"""``fit_grids`` searches ρ in ``[-RHO_LIMIT, RHO_LIMIT]`` (intersected with the τ ≥ 0 interval)."""
LAMBDA_MIN = 0.02
"""``fit_grids`` keeps each side's goal mean at least this large."""
_NEWTON_STEPS = 12
_MAX_STEP_D = 0.75
_MAX_STEP_RHO = 0.15
_FD_STEP = 1e-6
_SUM_TOL = 1e-6


@dataclass(frozen=True)
class GridFit:
    """Result of :func:`fit_grids` (all arrays have ``n`` rows).

    ``residual`` is, per match, ``max |1X2 of the Dixon–Coles grid − p1x2|`` *before* the final
    rescaling; after it ``one_x_two(grids)`` equals ``p1x2`` to rounding.
    """

    grids: np.ndarray
    lam_home: np.ndarray
    lam_away: np.ndarray
    rho: np.ndarray
    residual: np.ndarray


def _poisson_pmf(lam: np.ndarray, max_goals: int) -> np.ndarray:
    k = np.arange(max_goals + 1)
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, max_goals + 1)))))
    return np.exp(-lam[:, None]) * np.power(lam[:, None], k) / np.exp(log_fact)


def rho_bounds(lam_home: np.ndarray, lam_away: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ρ on which every Dixon–Coles τ is ≥ 0, per match."""
    lh = np.asarray(lam_home, dtype=np.float64)
    la = np.asarray(lam_away, dtype=np.float64)
    with np.errstate(divide="ignore"):
        lo = np.maximum(-1.0 / lh, -1.0 / la)
        hi = np.minimum(1.0, 1.0 / (lh * la))
    return lo, hi


def _dc_grid(lh: np.ndarray, la: np.ndarray, rho: np.ndarray, max_goals: int) -> np.ndarray:
    """Dixon–Coles grid without clipping ρ (the fit stays in bounds; FD steps may poke out)."""
    g = _poisson_pmf(lh, max_goals)[:, :, None] * _poisson_pmf(la, max_goals)[:, None, :]
    g[:, 0, 0] *= 1.0 - lh * la * rho
    g[:, 0, 1] *= 1.0 + lh * rho
    g[:, 1, 0] *= 1.0 + la * rho
    g[:, 1, 1] *= 1.0 - rho
    return g / g.sum(axis=(1, 2), keepdims=True)


def _check_lambdas(lam_home, lam_away) -> tuple[np.ndarray, np.ndarray]:
    lh, la = np.broadcast_arrays(
        np.atleast_1d(np.asarray(lam_home, dtype=np.float64)),
        np.atleast_1d(np.asarray(lam_away, dtype=np.float64)),
    )
    if lh.ndim != 1:
        raise ValueError(f"goal means must be 1-D, got shape {lh.shape}")
    if not (np.all(np.isfinite(lh)) and np.all(np.isfinite(la))) or lh.min() <= 0 or la.min() <= 0:
        raise ValueError("goal means must be finite and > 0")
    return lh.copy(), la.copy()


def dixon_coles_grid(lam_home, lam_away, rho=0.0, max_goals: int = MAX_GOALS) -> np.ndarray:
    """``(n, max_goals+1, max_goals+1)`` Dixon–Coles score grids, renormalised over the grid.

    ``lam_home``, ``lam_away`` and ``rho`` broadcast to ``(n,)``; ``rho`` is clipped per match to
    the interval where every τ is ≥ 0 (:func:`rho_bounds`). ``rho = 0`` is independent Poisson.
    """
    if max_goals < 1:
        raise ValueError("max_goals must be at least 1")
    lh, la = _check_lambdas(lam_home, lam_away)
    r = np.broadcast_to(np.asarray(rho, dtype=np.float64), lh.shape)
    if not np.all(np.isfinite(r)):
        raise ValueError("rho must be finite")
    lo, hi = rho_bounds(lh, la)
    return _dc_grid(lh, la, np.clip(r, lo, hi), max_goals)


def _region_masks(max_goals: int) -> np.ndarray:
    """``(G+1)^2 × 3`` indicator matrix of the home-win, draw and away-win cells."""
    h, a = np.indices((max_goals + 1, max_goals + 1))
    return np.stack([h > a, h == a, h < a], axis=-1).reshape(-1, 3).astype(np.float64)


def _one_x_two(g: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return g.reshape(g.shape[0], -1) @ masks


def _check_fit_inputs(p1x2, expected_total) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p1x2, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"p1x2 must have shape (n, 3), got {p.shape}")
    total = np.broadcast_to(np.asarray(expected_total, dtype=np.float64), (p.shape[0],)).copy()
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("p1x2 must be finite probabilities in [0, 1]")
    sums = p.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOL):
        raise ValueError(f"each p1x2 row must sum to 1 (within {_SUM_TOL})")
    if not np.all(np.isfinite(total)) or np.any(total <= 2 * LAMBDA_MIN):
        raise ValueError(f"expected_total must be finite and > {2 * LAMBDA_MIN}")
    return p / sums[:, None], total


def fit_grids(p1x2, expected_total, max_goals: int = MAX_GOALS) -> GridFit:
    """Per match, the score grid with the given 1X2 whose Dixon–Coles core has ``λh+λa = total``.

    ``p1x2`` is ``(n, 3)`` (home, draw, away; rows summing to 1 within 1e-6 are renormalised),
    ``expected_total`` broadcasts to ``(n,)``. Unknowns are ``d = λh − λa`` (so ``λh + λa`` stays
    the total) and ρ; damped Newton steps with a forward-difference Jacobian, all matches at once,
    solve ``P(home) = p1x2[:, 0]``, ``P(draw) = p1x2[:, 1]``, keeping ``λ ≥ LAMBDA_MIN`` and ρ in
    ``[-RHO_LIMIT, RHO_LIMIT]`` ∩ the τ ≥ 0 interval. When no such grid exists (a draw share the
    total cannot produce) the nearest bounded one is kept and ``residual`` says how far it was.
    Finally the home-win, draw and away-win cells are scaled by ``p / P(region)``, so
    ``one_x_two(grids)`` reproduces ``p1x2`` to rounding.
    """
    if max_goals < 1:
        raise ValueError("max_goals must be at least 1")
    p, total = _check_fit_inputs(p1x2, expected_total)
    n = p.shape[0]
    masks = _region_masks(max_goals)
    target = p[:, :2]
    d_max = total - 2 * LAMBDA_MIN

    def residual(d: np.ndarray, rho: np.ndarray) -> np.ndarray:
        g = _dc_grid((total + d) / 2, (total - d) / 2, rho, max_goals)
        return _one_x_two(g, masks)[:, :2] - target

    def project(d: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.clip(d, -d_max, d_max)
        lo, hi = rho_bounds((total + d) / 2, (total - d) / 2)
        return d, np.clip(rho, np.maximum(lo, -RHO_LIMIT), np.minimum(hi, RHO_LIMIT))

    # Start from the sign of the favourite: d ∝ p_home − p_away is a good first guess.
    d, rho = project(total * (p[:, 0] - p[:, 2]), np.zeros(n))
    f = residual(d, rho)
    for _ in range(_NEWTON_STEPS):
        jd = (residual(d + _FD_STEP, rho) - f) / _FD_STEP
        jr = (residual(d, rho + _FD_STEP) - f) / _FD_STEP
        det = jd[:, 0] * jr[:, 1] - jr[:, 0] * jd[:, 1]
        ok = np.abs(det) > 1e-12
        safe = np.where(ok, det, 1.0)
        step_d = np.where(ok, -(jr[:, 1] * f[:, 0] - jr[:, 0] * f[:, 1]) / safe, 0.0)
        step_r = np.where(ok, -(-jd[:, 1] * f[:, 0] + jd[:, 0] * f[:, 1]) / safe, 0.0)
        # Damping: shrink the whole step so neither coordinate moves further than its cap.
        scale = np.minimum(
            1.0,
            np.minimum(
                _MAX_STEP_D / np.maximum(np.abs(step_d), 1e-300),
                _MAX_STEP_RHO / np.maximum(np.abs(step_r), 1e-300),
            ),
        )
        new_d, new_rho = project(d + scale * step_d, rho + scale * step_r)
        new_f = residual(new_d, new_rho)
        # Keep a step only where it does not make things worse; otherwise try half of it.
        worse = np.abs(new_f).max(axis=1) > np.abs(f).max(axis=1)
        if np.any(worse):
            half_d, half_rho = project(d + 0.5 * scale * step_d, rho + 0.5 * scale * step_r)
            half_f = residual(half_d, half_rho)
            new_d = np.where(worse, half_d, new_d)
            new_rho = np.where(worse, half_rho, new_rho)
            new_f = np.where(worse[:, None], half_f, new_f)
        d, rho, f = new_d, new_rho, new_f
        if np.abs(f).max() < 1e-12:
            break

    lam_home, lam_away = (total + d) / 2, (total - d) / 2
    g = _dc_grid(lam_home, lam_away, rho, max_goals)
    got = _one_x_two(g, masks)
    res = np.abs(got - p).max(axis=1)
    factor = np.where(got > 0, p / np.where(got > 0, got, 1.0), 0.0)
    cell_factor = factor @ masks.T  # (n, (G+1)^2): each cell's region factor
    grids = g * cell_factor.reshape(g.shape)
    return GridFit(grids=grids, lam_home=lam_home, lam_away=lam_away, rho=rho, residual=res)
