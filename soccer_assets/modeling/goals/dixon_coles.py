"""Time-decayed Dixon–Coles goal model, refitted before every match week: the goal-model baseline.

Why a hand-written fit (ADR 0011): the reference procedure refits the model before every match week
of the evaluated season, per country (about 190 fits for six leagues). The negative log-likelihood
below is vectorised over the matches and has an analytic gradient, so one warm-started L-BFGS-B fit
of three seasons takes about 50 ms, a third of penaltyblog's ``DixonColesGoalModel`` on the same
data, and the two agree within 0.003 on every probability (``bench/dixon_coles.py``).

Model (Dixon & Coles 1997): goals are Poisson with
``log λh = home + attack[h] − defence[a]`` and ``log λa = attack[a] − defence[h]`` (a larger
``defence`` concedes fewer), and the four low scores are reweighted by ``τ`` with dependence ``ρ``
(:func:`soccer_assets.modeling.markets.dixon_coles_grid`). Matches are weighted by
``exp(−ξ · days before the fit date)``. The likelihood does not change when every attack and
defence moves by the same amount, so a penalty keeps ``sum(attack) = 0``.

:func:`weekly_dixon_coles` is the baseline: for each country (the league code without its
trailing digits: E0 and E1 pool into ``E``) and each calendar week (Monday to Sunday) of the test
season, fit on that country's matches of the ``history_seasons`` seasons before the test season
plus the test season so far — matches dated strictly before the Monday — and predict the week.
A team with no match in the window (e.g. promoted from a division the data does not have) gets
attack and defence 0, the average team. ``dixon_coles_grid(lam_home, lam_away, rho)`` turns the
rows into score grids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from soccer_assets.core.seasons import season_start_year

XI = 0.0018  # per day: the decay of the reference procedure
RHO_BOUND = 0.3
_PENALTY = 10.0  # weight of (sum of attacks)^2: pins the level, no effect on the fitted rates
_TAU_FLOOR = 1e-10


@dataclass(frozen=True)
class DixonColesFit:
    """Fitted parameters (team ``i`` of the fit's index is ``attack[i]``, ``defence[i]``)."""

    attack: np.ndarray
    defence: np.ndarray
    home_adv: float
    rho: float
    converged: bool
    n_iter: int
    nll: float  # weighted mean negative log-likelihood (without the log-factorial constants)

    def rates(self, home_idx, away_idx) -> tuple[np.ndarray, np.ndarray]:
        """``(λh, λa)`` of matches given as team indices (``-1``: a team the fit never saw)."""
        h, a = np.asarray(home_idx), np.asarray(away_idx)
        att = np.where(h >= 0, self.attack[h], 0.0), np.where(a >= 0, self.attack[a], 0.0)
        dfn = np.where(h >= 0, self.defence[h], 0.0), np.where(a >= 0, self.defence[a], 0.0)
        return np.exp(self.home_adv + att[0] - dfn[1]), np.exp(att[1] - dfn[0])


def decay_weights(match_dates, as_of, xi: float = XI) -> np.ndarray:
    """``exp(−xi · days)`` of each match before ``as_of`` (1 for a match on that day)."""
    if xi < 0:
        raise ValueError(f"the decay xi must be >= 0, got {xi}")
    dates = pd.to_datetime(pd.Series(match_dates)).dt.normalize()
    days = (pd.Timestamp(as_of).normalize() - dates).dt.days.to_numpy(dtype=np.float64)
    return np.exp(-xi * days)


def _nll_and_grad(theta, hi, ai, x, y, w, n_teams):
    att, dfn = theta[:n_teams], theta[n_teams:2 * n_teams]
    home, rho = theta[2 * n_teams], theta[2 * n_teams + 1]
    eta_h = home + att[hi] - dfn[ai]
    eta_a = att[ai] - dfn[hi]
    lh, la = np.exp(eta_h), np.exp(eta_a)
    s00, s01, s10, s11 = (x == 0) & (y == 0), (x == 0) & (y == 1), (x == 1) & (y == 0), (x == 1) & (y == 1)
    tau = np.ones_like(lh)
    tau = np.where(s00, 1.0 - lh * la * rho, tau)
    tau = np.where(s01, 1.0 + lh * rho, tau)
    tau = np.where(s10, 1.0 + la * rho, tau)
    tau = np.where(s11, 1.0 - rho, tau)
    tau = np.maximum(tau, _TAU_FLOOR)
    ll = np.log(tau) + x * eta_h - lh + y * eta_a - la
    total_w = w.sum()
    nll = -np.sum(w * ll) / total_w + _PENALTY * att.sum() ** 2
    # d log τ / d η_h, d η_a, d ρ per score class.
    dt_h = np.where(s00, -lh * la * rho / tau, 0.0) + np.where(s01, lh * rho / tau, 0.0)
    dt_a = np.where(s00, -lh * la * rho / tau, 0.0) + np.where(s10, la * rho / tau, 0.0)
    dt_r = (np.where(s00, -lh * la / tau, 0.0) + np.where(s01, lh / tau, 0.0)
            + np.where(s10, la / tau, 0.0) + np.where(s11, -1.0 / tau, 0.0))
    g_h = -w * (x - lh + dt_h) / total_w
    g_a = -w * (y - la + dt_a) / total_w
    grad = np.empty_like(theta)
    grad[:n_teams] = (np.bincount(hi, g_h, n_teams) + np.bincount(ai, g_a, n_teams)
                      + 2.0 * _PENALTY * att.sum())
    grad[n_teams:2 * n_teams] = -np.bincount(ai, g_h, n_teams) - np.bincount(hi, g_a, n_teams)
    grad[2 * n_teams] = g_h.sum()
    grad[2 * n_teams + 1] = -np.sum(w * dt_r) / total_w
    return nll, grad


def _check(home_idx, away_idx, home_goals, away_goals, weights, n_teams):
    arrays = [np.asarray(v) for v in (home_idx, away_idx, home_goals, away_goals, weights)]
    if len({len(a) for a in arrays}) != 1:
        raise ValueError("home_idx, away_idx, home_goals, away_goals and weights must have one length")
    hi, ai, x, y, w = arrays
    if len(hi) == 0:
        raise ValueError("no matches to fit the Dixon-Coles model on")
    x, y, w = (np.asarray(v, dtype=np.float64) for v in (x, y, w))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x < 0) or np.any(y < 0):
        raise ValueError("goals must be finite and >= 0")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be finite, >= 0 and not all 0")
    hi, ai = hi.astype(np.int64), ai.astype(np.int64)
    if np.any((hi < 0) | (hi >= n_teams) | (ai < 0) | (ai >= n_teams)):
        raise ValueError(f"team indices must be in [0, {n_teams})")
    return hi, ai, x, y, w


def fit_dixon_coles(home_idx, away_idx, home_goals, away_goals, weights, n_teams: int,
                    init: DixonColesFit | None = None) -> DixonColesFit:
    """Weighted maximum-likelihood Dixon–Coles fit (L-BFGS-B, analytic gradient).

    ``init`` warm-starts from an earlier fit on the same team index (a shorter index is padded
    with zeros for the teams added since).
    """
    hi, ai, x, y, w = _check(home_idx, away_idx, home_goals, away_goals, weights, n_teams)
    theta0 = np.zeros(2 * n_teams + 2)
    theta0[2 * n_teams] = 0.25
    if init is not None:
        k = min(len(init.attack), n_teams)
        theta0[:k], theta0[n_teams:n_teams + k] = init.attack[:k], init.defence[:k]
        theta0[2 * n_teams], theta0[2 * n_teams + 1] = init.home_adv, init.rho
    bounds = [(None, None)] * (2 * n_teams + 1) + [(-RHO_BOUND, RHO_BOUND)]
    res = minimize(_nll_and_grad, theta0, args=(hi, ai, x, y, w, n_teams), jac=True,
                   method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000, "gtol": 1e-9})
    t = res.x
    return DixonColesFit(attack=t[:n_teams].copy(), defence=t[n_teams:2 * n_teams].copy(),
                         home_adv=float(t[2 * n_teams]), rho=float(t[2 * n_teams + 1]),
                         converged=bool(res.success), n_iter=int(res.nit), nll=float(res.fun))


def country_of(league: str) -> str:
    """The pooling group of a division: its code without the trailing digits (``E1`` → ``E``)."""
    return re.sub(r"\d+$", "", str(league))


def weekly_dixon_coles(matches: pd.DataFrame, test_season: str, xi: float = XI,
                       history_seasons: int = 3) -> pd.DataFrame:
    """``match_id, league, lam_home, lam_away, rho`` of every ``test_season`` match (kick-off order),
    each from the fit before its week (see the module docstring)."""
    need = ["match_id", "league", "season", "date", "home_team", "away_team", "fthg", "ftag"]
    missing = [c for c in need if c not in matches.columns]
    if missing:
        raise ValueError(f"matches lack columns {missing}")
    year = season_start_year(test_season)
    df = matches[need].copy()
    df["date"] = pd.to_datetime(df["date"]).dt.normalize()
    years = df["season"].map(season_start_year)
    df = df[(years <= year) & (years >= year - history_seasons)]
    df["country"] = df["league"].map(country_of)
    df["hg"] = pd.to_numeric(df["fthg"], errors="coerce")
    df["ag"] = pd.to_numeric(df["ftag"], errors="coerce")
    rows = []
    for _, part in df.groupby("country", sort=True):
        teams = sorted(set(part["home_team"]) | set(part["away_team"]))
        index = {t: i for i, t in enumerate(teams)}
        hi = part["home_team"].map(index).to_numpy()
        ai = part["away_team"].map(index).to_numpy()
        played = part["hg"].notna().to_numpy() & part["ag"].notna().to_numpy()
        test = (part["season"] == test_season).to_numpy()
        dates = part["date"]
        mondays = (dates - pd.to_timedelta(dates.dt.weekday, unit="D")).to_numpy()
        fit = None
        for monday in np.unique(mondays[test]):
            known = played & (dates.to_numpy() < monday)
            if not known.any():
                continue
            w = decay_weights(dates[known], monday, xi)
            # Only teams seen before the week are fitted; the others stay at the average (0).
            fit = fit_dixon_coles(hi[known], ai[known], part["hg"].to_numpy()[known],
                                  part["ag"].to_numpy()[known], w, len(teams), init=fit)
            seen = np.zeros(len(teams), dtype=bool)
            seen[hi[known]] = seen[ai[known]] = True
            week = test & (mondays == monday)
            h_idx = np.where(seen[hi[week]], hi[week], -1)
            a_idx = np.where(seen[ai[week]], ai[week], -1)
            lam_h, lam_a = fit.rates(h_idx, a_idx)
            rows.append(pd.DataFrame({"match_id": part["match_id"].to_numpy()[week],
                                      "league": part["league"].to_numpy()[week],
                                      "date": dates.to_numpy()[week],
                                      "lam_home": lam_h, "lam_away": lam_a, "rho": fit.rho}))
    if not rows:
        return pd.DataFrame(columns=["match_id", "league", "lam_home", "lam_away", "rho"])
    out = pd.concat(rows, ignore_index=True).sort_values(["date", "match_id"], kind="stable")
    return out.drop(columns="date").reset_index(drop=True)
