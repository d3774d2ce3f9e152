"""Time-decayed Dixon–Coles goal model, refitted before every match week: the goal-model baseline.

Why a hand-written fit (ADR 0011): the reference procedure refits the model before every match week
of the evaluated season, per country — about 190 fits for six leagues. The negative log-likelihood
below is vectorised over the matches (one sparse design-matrix product each way) and has an analytic
gradient, and each week's L-BFGS-B fit starts from the previous week's optimum, so the six-league
season takes seconds; ``bench/dixon_coles.py`` times it against penaltyblog's
``DixonColesGoalModel`` and compares the probabilities of the two.

Model (Dixon & Coles 1997) — the convention of this module:

* goals are Poisson with ``log λh = home_adv + attack[h] − defence[a]`` and
  ``log λa = attack[a] − defence[h]``: a larger ``defence`` concedes fewer goals;
* the four low scores are reweighted by ``τ(0,0) = 1 − λh·λa·ρ``, ``τ(0,1) = 1 + λh·ρ``,
  ``τ(1,0) = 1 + λa·ρ``, ``τ(1,1) = 1 − ρ`` (as :func:`~soccer_assets.modeling.markets.dixon_coles_grid`);
* the likelihood is unchanged when every attack and every defence move by the same amount, so the
  level is pinned by ``sum(attack) = 0`` over the teams of the fit (a penalty on the mean attack
  during the fit, then an exact shift). With that constraint attack 0 is the average attack, and
  the mean defence is about minus the log of the away goals of an average attack (−0.11 on E0+E1
  2020-23);
* attack and defence are kept in :data:`TEAM_BOUNDS`, penaltyblog's box.

:func:`weekly_dixon_coles` is the baseline: for each country (the league code without its trailing
digits: E0 and E1 pool into ``E``) and each calendar week (Monday to Sunday) of the test season, fit
on that country's matches of the ``history_seasons`` seasons before the test season plus the test
season so far — only matches dated strictly before the Monday — weighted by
``exp(−ξ · days before the Monday)``, and predict the week. A team with no match in the fit window
(e.g. promoted from a division the data does not have, in its first week) gets attack and defence
0: an average attack, and a defence about 10 % *better* than the average (the mean defence is
below 0, see above) — the reference procedure's choice, kept so the baseline is the reference's;
from its second week such a team has its own estimate (seven 2023-24 matches had a team unseen).

Score grids of the result: ``dixon_coles_grid(df.lam_home, df.lam_away, df.rho)``
(:mod:`soccer_assets.modeling.markets`); nothing here duplicates the grid code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import gammaln

from soccer_assets.core.seasons import season_start_year

XI = 0.0018
"""Decay per day of the reference procedure (a weight halves in about 385 days)."""
RHO_BOUND = 0.3
"""ρ is searched in ``[-RHO_BOUND, RHO_BOUND]``; fitted values on league data are within ±0.17."""
OUTPUT_COLUMNS = ["match_id", "league", "lam_home", "lam_away", "rho"]
_REQUIRED = ["match_id", "league", "season", "date", "home_team", "away_team", "fthg", "ftag"]
TEAM_BOUNDS = (-3.5, 1.5)
"""Box for every attack and defence: penaltyblog's ``[-2.5, 2.5]`` in this module's convention.

It binds only where the maximum-likelihood estimate does not exist: a promoted team that has not
scored in its one match of the window would get ``attack → −∞`` and a zero scoring rate (one did
in 2023-24: Heidenheim, week 2); the box keeps it at ``e^−3.5`` ≈ 3 % of the average attack."""
_LEVEL_WEIGHT = 1.0  # pins mean(attack) at 0, so the box is relative to the average team
_TAU_FLOOR = 1e-10  # keeps log τ finite if a line-search trial pushes some τ below 0
# Tighter than L-BFGS-B's defaults, which stop after ~20 iterations with 1X2 probabilities up to
# 1e-3 from the optimum (2023-24 walk); these take ~40, about 2 ms more per fit.
_OPTIONS = {"maxiter": 2000, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-9}


@dataclass(frozen=True, eq=False)
class DixonColesFit:
    """Fitted parameters; team ``i`` of the caller's index has ``attack[i]``, ``defence[i]``.

    Teams without a match in the fit have attack and defence 0 (see the module docstring).
    ``nll`` is the weighted negative log-likelihood ``−Σ wᵢ·log P(scoreᵢ)`` (log-factorials
    included, so it is comparable to other implementations' losses).
    """

    attack: np.ndarray
    defence: np.ndarray
    home_adv: float
    rho: float
    converged: bool
    n_iter: int
    nll: float

    def rates(self, home_idx: ArrayLike, away_idx: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(λh, λa)`` of matches given as team indices; ``-1`` is a team outside the index (0, 0)."""
        h, a = np.asarray(home_idx, dtype=np.int64), np.asarray(away_idx, dtype=np.int64)
        att = np.append(self.attack, 0.0)  # index -1 picks the appended 0
        dfn = np.append(self.defence, 0.0)
        return np.exp(self.home_adv + att[h] - dfn[a]), np.exp(att[a] - dfn[h])


def _decay(days_before: np.ndarray, xi: float) -> np.ndarray:
    if not np.isfinite(xi) or xi < 0:
        raise ValueError(f"the decay xi must be finite and >= 0, got {xi}")
    return np.exp(-xi * days_before)


def decay_weights(match_dates: ArrayLike, as_of: str | dt.date | pd.Timestamp, xi: float = XI) -> np.ndarray:
    """``exp(−xi · days from each match's date to as_of)`` (1 on that day; whole calendar days)."""
    dates = pd.to_datetime(pd.Series(match_dates)).dt.normalize()
    if dates.isna().any():
        raise ValueError("match dates must not be missing")
    days = (pd.Timestamp(as_of).normalize() - dates).dt.days.to_numpy(dtype=np.float64)
    return _decay(days, xi)


class _Likelihood:
    """Mean weighted NLL (log-factorials left out) of ``θ = (attack, defence, home, ρ)``, and its gradient.

    Plus ``_LEVEL_WEIGHT · mean(attack)²``: the likelihood is flat along "every attack and defence
    + c", and this pins that direction at ``mean(attack) = 0`` without touching the rates (the
    weight is of the order of the likelihood's own curvature, so the conditioning stays good).
    The home and away log-rates of all matches are one sparse product ``η = X·θ[:-1]`` and the
    gradient's scatter back to the teams is ``Xᵀ·g``; only the low-score matches carry a τ term.
    """

    def __init__(self, hi: np.ndarray, ai: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray,
                 m: int):
        n = hi.size
        self.n, self.m = n, m
        rows = np.repeat(np.arange(2 * n), [3] * n + [2] * n)
        cols = np.concatenate([np.column_stack([hi, m + ai, np.full(n, 2 * m)]).ravel(),
                               np.column_stack([ai, m + hi]).ravel()])
        vals = np.concatenate([np.tile([1.0, -1.0, 1.0], n), np.tile([1.0, -1.0], n)])
        self.X = sparse.csr_matrix((vals, (rows, cols)), shape=(2 * n, 2 * m + 1))
        self.XT = self.X.T.tocsr()
        wn = w / w.sum()  # a mean keeps the tolerances independent of the number of matches
        self.w2 = np.concatenate([wn, wn])
        self.wk = self.w2 * np.concatenate([x, y])
        low = np.flatnonzero((x <= 1) & (y <= 1))
        kind = (2 * x[low] + y[low]).astype(np.int64)  # 0: 0–0, 1: 0–1, 2: 1–0, 3: 1–1
        self.low = low
        self.w_low = wn[low]
        self.sign = np.array([-1.0, 1.0, 1.0, -1.0])[kind]
        self.uses_h = np.isin(kind, (0, 1))  # τ involves λh in 0–0 and 0–1
        self.uses_a = np.isin(kind, (0, 2))  # and λa in 0–0 and 1–0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        rho = theta[-1]
        eta = self.X @ theta[:-1]
        lam = np.exp(eta)
        g = self.wk - self.w2 * lam  # d(mean LL)/dη of the Poisson part
        # Sums of products, not ``@``: a BLAS dot product may start threads, which costs several
        # times the arithmetic on a busy machine.
        ll = np.sum(self.wk * eta - self.w2 * lam)
        lo, n = self.low, self.n
        # τ = 1 + ρ·c with c = ±(λh if used)(λa if used); d log τ/dη = ρ·c/τ for each rate used.
        c = self.sign * np.where(self.uses_h, lam[lo], 1.0) * np.where(self.uses_a, lam[n + lo], 1.0)
        tau = 1.0 + rho * c
        floored = tau < _TAU_FLOOR
        tau = np.where(floored, _TAU_FLOOR, tau)
        ll += np.sum(self.w_low * np.log(tau))
        dlog = np.where(floored, 0.0, self.w_low * c / tau)  # the floor is flat: no gradient
        g[lo] += np.where(self.uses_h, rho * dlog, 0.0)
        g[n + lo] += np.where(self.uses_a, rho * dlog, 0.0)
        grad = np.empty_like(theta)
        grad[:-1] = -(self.XT @ g)
        grad[-1] = -dlog.sum()
        level = theta[: self.m].mean()
        grad[: self.m] += 2.0 * _LEVEL_WEIGHT * level / self.m
        return -ll + _LEVEL_WEIGHT * level**2, grad


def _check_fit_inputs(home_idx, away_idx, home_goals, away_goals, weights, n_teams):
    arrays = [np.asarray(v) for v in (home_idx, away_idx, home_goals, away_goals, weights)]
    if any(a.ndim != 1 for a in arrays):
        raise ValueError("home_idx, away_idx, home_goals, away_goals and weights must be 1-D")
    lengths = [a.size for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError("home_idx, away_idx, home_goals, away_goals and weights must have one "
                         f"length, got {lengths}")
    if lengths[0] == 0:
        raise ValueError("no matches to fit the Dixon-Coles model on")
    if int(n_teams) < 2:
        raise ValueError(f"n_teams must be at least 2, got {n_teams}")
    x, y, w = (np.asarray(v, dtype=np.float64) for v in arrays[2:])
    for name, goals in (("home_goals", x), ("away_goals", y)):
        if not np.all(np.isfinite(goals)):
            raise ValueError(f"{name} must not contain NaN or inf (drop unplayed matches first)")
        if np.any(goals < 0) or np.any(goals != np.round(goals)):
            raise ValueError(f"{name} must be whole numbers >= 0")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be finite, >= 0 and not all 0")
    hi, ai = arrays[0], arrays[1]
    if not (np.issubdtype(hi.dtype, np.integer) and np.issubdtype(ai.dtype, np.integer)):
        raise ValueError("home_idx and away_idx must be integer team indices")
    if np.any((hi < 0) | (hi >= n_teams) | (ai < 0) | (ai >= n_teams)):
        raise ValueError(f"team indices must be in [0, {n_teams})")
    if np.any(hi == ai):
        raise ValueError("a match needs two different teams")
    keep = w > 0  # a match of weight 0 says nothing, and must not make its teams "seen"
    return hi[keep].astype(np.int64), ai[keep].astype(np.int64), x[keep], y[keep], w[keep]


def fit_dixon_coles(
    home_idx: ArrayLike,
    away_idx: ArrayLike,
    home_goals: ArrayLike,
    away_goals: ArrayLike,
    weights: ArrayLike,
    n_teams: int,
    init: DixonColesFit | None = None,
) -> DixonColesFit:
    """Weighted maximum-likelihood Dixon–Coles fit (vectorised NLL, analytic gradient, L-BFGS-B).

    Teams are ``0 … n_teams-1``; one without a match of positive weight is left out of the fit and
    gets attack and defence 0. ``init`` warm-starts from an earlier fit on the same team index (a
    shorter index is padded with 0 for the teams added since). Raises ``ValueError`` on empty,
    mismatched or invalid input (negative or fractional goals, NaN, out-of-range indices).
    """
    hi, ai, x, y, w = _check_fit_inputs(home_idx, away_idx, home_goals, away_goals, weights, n_teams)
    active, inverse = np.unique(np.concatenate([hi, ai]), return_inverse=True)
    m = active.size
    lik = _Likelihood(inverse[: hi.size], inverse[hi.size:], x, y, w, m)

    theta0 = np.zeros(2 * m + 2)
    if init is None:
        # Every team average: λa = mean away goals, λh = mean home goals (floored for all-0 data).
        mean_x, mean_y = (max(np.average(v, weights=w), 0.05) for v in (x, y))
        theta0[m:2 * m] = -np.log(mean_y)
        theta0[2 * m] = np.log(mean_x / mean_y)
    else:
        att0, def0 = np.zeros(n_teams), np.zeros(n_teams)
        k = min(init.attack.size, n_teams)
        att0[:k], def0[:k] = init.attack[:k], init.defence[:k]
        theta0[:m], theta0[m:2 * m] = att0[active], def0[active]
        theta0[2 * m] = init.home_adv
        theta0[-1] = np.clip(init.rho, -RHO_BOUND, RHO_BOUND)
    theta0[: 2 * m] = np.clip(theta0[: 2 * m], *TEAM_BOUNDS)
    bounds = [TEAM_BOUNDS] * (2 * m) + [(None, None), (-RHO_BOUND, RHO_BOUND)]
    res = minimize(lik, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options=_OPTIONS)

    t = res.x
    level = t[:m].mean()  # ~0 already; exactly 0 after this shift, which leaves the rates alone
    attack, defence = np.zeros(n_teams), np.zeros(n_teams)
    attack[active], defence[active] = t[:m] - level, t[m:2 * m] - level
    attack.setflags(write=False)
    defence.setflags(write=False)
    constant = np.sum(w * (gammaln(x + 1) + gammaln(y + 1)))
    nll = (res.fun - _LEVEL_WEIGHT * level**2) * w.sum() + constant
    return DixonColesFit(attack=attack, defence=defence, home_adv=float(t[2 * m]), rho=float(t[-1]),
                         converged=bool(res.success), n_iter=int(res.nit), nll=float(nll))


def country_of(league: str) -> str:
    """The pooling group of a division: its code without the trailing digits (``E1`` → ``E``)."""
    code = str(league).rstrip("0123456789")
    if not code:
        raise ValueError(f"league code {league!r} has no country letters")
    return code


def _goals(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("Float64").to_numpy(np.float64, na_value=np.nan)


def weekly_dixon_coles(
    matches: pd.DataFrame, test_season: str, xi: float = XI, history_seasons: int = 3
) -> pd.DataFrame:
    """``match_id, league, lam_home, lam_away, rho`` of every ``test_season`` match, in kick-off order.

    Each row comes from the fit before its week (the procedure is in the module docstring):
    per country, per calendar week of the test season, matches dated strictly before that Monday
    of the ``history_seasons`` previous seasons and the test season, decay-weighted from the
    Monday, warm-started from the previous week's fit. ``matches`` needs the columns
    ``match_id, league, season, date, home_team, away_team, fthg, ftag`` (NaN goals: not played,
    never fitted, still predicted); a ``kickoff`` column, if present, orders matches of one day.
    """
    missing = [c for c in _REQUIRED if c not in matches.columns]
    if missing:
        raise ValueError(f"matches lack columns {missing}")
    if int(history_seasons) != history_seasons or history_seasons < 0:
        raise ValueError(f"history_seasons must be a whole number >= 0, got {history_seasons}")
    _decay(np.zeros(1), xi)  # reject a bad xi before any work
    year = season_start_year(test_season)
    years = matches["season"].astype(str).map(season_start_year).to_numpy()
    window = (years >= year - history_seasons) & (years <= year)
    df = matches.loc[window]
    order_cols = ["date", "kickoff"] if "kickoff" in df.columns else ["date"]
    df = df.sort_values([*order_cols, "league", "match_id"], kind="stable", na_position="first")
    df = df.reset_index(drop=True)
    dates = pd.to_datetime(df["date"]).dt.normalize()
    if dates.isna().any():
        raise ValueError("every match needs a date")
    day = (dates - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.int64)
    monday = day - dates.dt.day_of_week.to_numpy(np.int64)  # weeks run Monday to Sunday
    hg, ag = _goals(df["fthg"]), _goals(df["ftag"])
    played = ~(np.isnan(hg) | np.isnan(ag))
    # The season itself, not its start year: the calendar year 2023 starts in 2023-24's year.
    is_test = (df["season"].astype(str) == test_season).to_numpy()
    countries = df["league"].map(country_of).to_numpy()
    home, away = df["home_team"].to_numpy(), df["away_team"].to_numpy()

    lam_h = np.full(len(df), np.nan)
    lam_a = np.full(len(df), np.nan)
    rho = np.full(len(df), np.nan)
    for country in np.unique(countries[is_test]):
        rows = np.flatnonzero(countries == country)
        teams, codes = np.unique(np.concatenate([home[rows], away[rows]]), return_inverse=True)
        hi, ai = codes[: rows.size], codes[rows.size:]
        fit = None
        for week in np.unique(monday[rows][is_test[rows]]):
            known = played[rows] & (day[rows] < week)  # strictly before the Monday: no leakage
            if not known.any():
                raise ValueError(f"no played {country} matches before the week of "
                                 f"{pd.Timestamp(week, unit='D').date()} to fit on")
            fit_rows = rows[known]
            fit = fit_dixon_coles(hi[known], ai[known], hg[fit_rows], ag[fit_rows],
                                  _decay((week - day[fit_rows]).astype(np.float64), xi), len(teams),
                                  init=fit)
            target = is_test[rows] & (monday[rows] == week)
            lam_h[rows[target]], lam_a[rows[target]] = fit.rates(hi[target], ai[target])
            rho[rows[target]] = fit.rho
    out = pd.DataFrame({"match_id": df["match_id"].to_numpy(), "league": df["league"].to_numpy(),
                        "lam_home": lam_h, "lam_away": lam_a, "rho": rho})
    return out.loc[is_test, OUTPUT_COLUMNS].reset_index(drop=True)
