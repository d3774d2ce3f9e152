"""Score grids: the joint distribution of (home goals, away goals) of each match. Pure numpy.

A grid array has shape ``(n, G+1, G+1)`` and ``grid[i, h, a]`` is the probability that match ``i``
ends ``h``–``a``; the grid is truncated at ``G = max_goals`` goals per side (default
:data:`MAX_GOALS`) and renormalised, so every grid sums to 1.

* :func:`dixon_coles_grid` is the Dixon & Coles (1997) model: independent Poisson goals with means
  ``λh``, ``λa``, and the low-score cells multiplied by
  ``τ(0,0) = 1 − λh·λa·ρ``, ``τ(0,1) = 1 + λh·ρ``, ``τ(1,0) = 1 + λa·ρ``, ``τ(1,1) = 1 − ρ``.
  ``ρ`` is clipped to the interval where every τ is ≥ 0.
* :func:`fit_grids` finds, per match, the Dixon–Coles grid whose home-win and draw probabilities
  match a given 1X2 and whose ``λh + λa`` equals a given expected total (moving the total a little
  where no grid with that total has the 1X2), then rescales the home-win, draw and away-win regions
  so that the grid's 1X2 is exactly the one given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_GOALS = 10
RHO_LIMIT = 0.5
"""``fit_grids`` searches ρ in ``[-RHO_LIMIT, RHO_LIMIT]`` (intersected with the τ ≥ 0 interval)."""
LAMBDA_MIN = 0.02
"""``fit_grids`` keeps each side's goal mean at least this large."""
MAX_TOTAL_SHIFT = 0.25
"""``fit_grids`` moves ``λh + λa`` by at most this share of the expected total (its step 2)."""
_NEWTON_STEPS = 15
_STEP_CAPS = np.array([0.75, 0.15])  # largest move per Newton step of (d, ρ) and of (d, log t)
_FD_STEP = 1e-7
_TOL = 1e-13
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
    return g.reshape(g.shape[0], masks.shape[0]) @ masks


def _check_fit_inputs(p1x2, expected_total) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p1x2, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"p1x2 must have shape (n, 3), got {p.shape}")
    total = np.broadcast_to(np.asarray(expected_total, dtype=np.float64), (p.shape[0],)).copy()
    if not np.all(np.isfinite(p)) or (p.size and (p.min() < 0 or p.max() > 1)):
        raise ValueError("p1x2 must be finite probabilities in [0, 1]")
    sums = p.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOL):
        raise ValueError(f"each p1x2 row must sum to 1 (within {_SUM_TOL})")
    if not np.all(np.isfinite(total)) or np.any(total <= 2 * LAMBDA_MIN):
        raise ValueError(f"expected_total must be finite and > {2 * LAMBDA_MIN}")
    return p / sums[:, None], total


def _newton(residual, project, x: np.ndarray) -> np.ndarray:
    """Damped Newton on two unknowns per row, all rows at once; returns the final ``x``.

    ``residual(x, rows)`` and ``project(x, rows)`` see the ``(m, 2)`` unknowns of the rows
    ``rows``. The Jacobian is a forward difference; each step is shrunk to :data:`_STEP_CAPS`,
    projected, and halved (up to twice) until ``|f|`` falls. Rows leave the loop once converged
    or once no step helps (a bound is reached), so late iterations only touch the hard rows.
    """
    x = x.copy()
    rows = np.arange(x.shape[0])
    f = residual(x, rows)
    for _ in range(_NEWTON_STEPS):
        keep = np.abs(f).max(axis=1) > _TOL
        rows, f = rows[keep], f[keep]
        if rows.size == 0:
            break
        xa = x[rows]
        jac = np.empty((rows.size, 2, 2))
        for j in range(2):
            shifted = xa.copy()
            shifted[:, j] += _FD_STEP
            jac[:, :, j] = (residual(shifted, rows) - f) / _FD_STEP
        det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
        ok = np.abs(det) > 1e-14
        adj_f = np.stack(  # adj(J) @ f, so that the Newton step is -adj(J) @ f / det(J)
            [
                jac[:, 1, 1] * f[:, 0] - jac[:, 0, 1] * f[:, 1],
                jac[:, 0, 0] * f[:, 1] - jac[:, 1, 0] * f[:, 0],
            ],
            axis=1,
        )
        step = np.where(ok[:, None], -adj_f / np.where(ok, det, 1.0)[:, None], 0.0)
        step *= np.minimum(1.0, (_STEP_CAPS / np.maximum(np.abs(step), 1e-300)).min(axis=1))[:, None]
        norm = np.square(f).sum(axis=1)
        moved = np.zeros(rows.size, dtype=bool)
        for frac in (1.0, 0.5, 0.25):
            todo = np.flatnonzero(~moved)
            if todo.size == 0:
                break
            trial = project(xa[todo] + frac * step[todo], rows[todo])
            trial_f = residual(trial, rows[todo])
            better = np.square(trial_f).sum(axis=1) < norm[todo]
            xa[todo[better]], f[todo[better]] = trial[better], trial_f[better]
            moved[todo[better]] = True
        x[rows] = xa
        rows, f = rows[moved], f[moved]  # a row no step improves is as close as its bounds allow
    return x


def fit_grids(
    p1x2, expected_total, max_goals: int = MAX_GOALS, *, max_total_shift: float = MAX_TOTAL_SHIFT
) -> GridFit:
    """Per match, the score grid with the given 1X2 whose Dixon–Coles core has ``λh+λa ≈ total``.

    ``p1x2`` is ``(n, 3)`` (home, draw, away; rows summing to 1 within 1e-6 are renormalised),
    ``expected_total`` broadcasts to ``(n,)``. All matches are solved at once by damped Newton
    steps with a forward-difference Jacobian (:func:`_newton`), keeping ``λ ≥ LAMBDA_MIN`` and ρ in
    ``[-RHO_LIMIT, RHO_LIMIT]`` ∩ the τ ≥ 0 interval (:func:`rho_bounds`):

    1. *Total fixed.* Unknowns ``d = λh − λa`` and ρ with ``λh + λa = total``; solve
       ``P(home) = p1x2[:, 0]`` and ``P(draw) = p1x2[:, 1]`` (then ``P(away)`` follows).
    2. *Total relaxed.* Where step 1 stops with ρ on a bound (the draw share is more, or less,
       than any bounded ρ gives at that total — e.g. a 30 % draw at 3.6 goals), ρ stays on that
       bound and the unknowns become ``d`` and ``t = λh + λa`` with
       ``|t / total − 1| ≤ max_total_shift``: the 1X2 is met by moving the total as far as needed
       and no further than the cap (``max_total_shift=0`` keeps every total exact).

    ``residual`` is ``max |1X2 of that Dixon–Coles grid − p1x2|`` per row: ~1e-13 where a grid was
    found, larger only where even the moved total could not reach the 1X2. Finally (step 3) the
    home-win, draw and away-win cells are scaled by ``p / P(region)``; this corrects only that
    residual and makes ``one_x_two(grids)`` equal ``p1x2`` to rounding. ``lam_home + lam_away −
    expected_total`` is the total's mismatch (0 except in step-2 rows).
    """
    if max_goals < 1:
        raise ValueError("max_goals must be at least 1")
    if not 0 <= max_total_shift < 1:
        raise ValueError("max_total_shift must be in [0, 1)")
    p, total = _check_fit_inputs(p1x2, expected_total)
    masks = _region_masks(max_goals)

    def rho_range(lh: np.ndarray, la: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = rho_bounds(lh, la)
        return np.maximum(lo, -RHO_LIMIT), np.minimum(hi, RHO_LIMIT)

    def misfit(lh, la, rho, rows) -> np.ndarray:
        return _one_x_two(_dc_grid(lh, la, rho, max_goals), masks)[:, :2] - p[rows, :2]

    # Step 1: x = (d, ρ), total fixed. Start at ρ = 0 and d ∝ p_home − p_away.
    def split(x, rows):
        return (total[rows] + x[:, 0]) / 2, (total[rows] - x[:, 0]) / 2

    def project_1(x, rows):
        d_max = total[rows] - 2 * LAMBDA_MIN
        d = np.clip(x[:, 0], -d_max, d_max)
        lo, hi = rho_range((total[rows] + d) / 2, (total[rows] - d) / 2)
        return np.stack([d, np.clip(x[:, 1], lo, hi)], axis=1)

    every = np.arange(p.shape[0])
    start = np.stack([total * (p[:, 0] - p[:, 2]), np.zeros_like(total)], axis=1)
    x = _newton(lambda x, rows: misfit(*split(x, rows), x[:, 1], rows), project_1, project_1(start, every))
    lam_home, lam_away = split(x, every)
    rho = x[:, 1]
    res = np.abs(misfit(lam_home, lam_away, rho, every)).max(axis=1)

    # Step 2: x = (d, log t) for rows left off-target with ρ on a bound; ρ follows that bound.
    lo, hi = rho_range(lam_home, lam_away)
    on_bound = (rho <= lo + 1e-9) | (rho >= hi - 1e-9)
    hard = np.flatnonzero((res > 1e-10) & on_bound & (max_total_shift > 0))
    if hard.size:
        upper = rho[hard] > 0  # the bound ρ sits on, per hard row (indexed by position in `hard`)
        log_cap = np.log1p(max_total_shift)

        def split_2(x, rows):
            t = total[hard[rows]] * np.exp(x[:, 1])
            lh, la = (t + x[:, 0]) / 2, (t - x[:, 0]) / 2
            lo, hi = rho_range(lh, la)
            return lh, la, np.where(upper[rows], hi, lo)

        def project_2(x, rows):
            s = np.clip(x[:, 1], np.log1p(-max_total_shift), log_cap)
            d_max = total[hard[rows]] * np.exp(s) - 2 * LAMBDA_MIN
            return np.stack([np.clip(x[:, 0], -d_max, d_max), s], axis=1)

        local = np.arange(hard.size)
        x2 = _newton(
            lambda x, rows: misfit(*split_2(x, rows), hard[rows]),
            project_2,
            np.stack([x[hard, 0], np.zeros(hard.size)], axis=1),
        )
        lh, la, r2 = split_2(x2, local)
        res2 = np.abs(misfit(lh, la, r2, hard)).max(axis=1)
        better = res2 < res[hard]
        take = hard[better]  # (where step 2 got no closer, step 1's grid and exact total stay)
        lam_home[take], lam_away[take], rho[take] = lh[better], la[better], r2[better]

    # Step 3: scale each region onto its target probability.
    g = _dc_grid(lam_home, lam_away, rho, max_goals)
    got = _one_x_two(g, masks)
    res = np.abs(got - p).max(axis=1)
    factor = np.where(got > 0, p / np.where(got > 0, got, 1.0), 0.0)
    grids = g * (factor @ masks.T).reshape(g.shape)  # each cell times its region's factor
    return GridFit(grids=grids, lam_home=lam_home, lam_away=lam_away, rho=rho, residual=res)
