"""Offline feature build: one row of pre-match features per match, plus rating-parameter tuning.

Why this shape: the ``match_features`` asset and the online API must produce identical numbers,
so this module adds no feature logic of its own. It walks the matches one date at a time and,
for every match of a date, calls ``resolve_team_state`` + ``rating_feature_vector`` on the states
after the previous dates (the serving path, ``fixture_features``, does the same), then advances
the states with ``update_states``. Market features are computed for all rows in one call of the
same vectorised function ``market_feature_vector`` uses (its arithmetic is element-wise and
IEEE-exact, so batch and single-row results are bit-for-bit equal).

Leagues are processed independently (states are keyed by ``(league, team)``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from soccer_assets.core.schema import KEY_COLUMNS, odds_triplet
from soccer_assets.features.elo import EloParams
from soccer_assets.features.feature_vector import (
    ALL_FEATURES,
    ELO_DIFF_FEATURE,
    FEATURE_COLUMNS,
    MARKET_FEATURES,
    MARKET_PROB_FEATURES,
    RATING_FEATURES,
    TOTALS_FEATURES,
    fixture_features,
    market_features_from_odds,
    match_feature_vector,
    rating_feature_vector,
)
from soccer_assets.features.form import FormParams
from soccer_assets.features.market_prices import totals_prices
from soccer_assets.features.match_records import iter_match_days, match_records
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.pi_ratings import PiParams
from soccer_assets.features.rollover import resolve_team_state
from soccer_assets.features.team_state import TeamKey, TeamState, states_from_records
from soccer_assets.features.totals import totals_features_from_odds
from soccer_assets.features.updates import build_team_states, update_states

__all__ = [
    "ALL_FEATURES",
    "ELO_DIFF_FEATURE",
    "FEATURE_COLUMNS",
    "KEY_COLUMNS",
    "MARKET_FEATURES",
    "MARKET_PROB_FEATURES",
    "RATING_FEATURES",
    "TOTALS_FEATURES",
    "EloParams",
    "FeatureParams",
    "FormParams",
    "PiParams",
    "TeamState",
    "build_match_features",
    "build_team_states",
    "fixture_features",
    "match_feature_vector",
    "rating_param_scores",
    "select_open_odds",
    "select_open_totals",
    "states_from_records",
    "tune_rating_params",
]

# Open (pre-match) odds only; closing odds are for evaluation and never become features.
OPEN_ODDS_PREFERENCE = ("ps", "avg")


def select_open_odds(matches: pd.DataFrame) -> np.ndarray:
    """(n, 3) opening odds per match: Pinnacle when all three prices are valid, else average.

    Why: Pinnacle is the sharpest book but its open prices are blank for parts of some seasons;
    the market average is the next-best pre-match price. Rows with neither are NaN.
    """
    out = np.full((len(matches), 3), np.nan)
    filled = np.zeros(len(matches), dtype=bool)
    for book in OPEN_ODDS_PREFERENCE:
        cols = odds_triplet(book, "open")
        if not all(c in matches for c in cols):
            continue
        arr = matches[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.all(np.isfinite(arr) & (arr > 1.0), axis=1) & ~filled
        out[ok] = arr[ok]
        filled |= ok
    return out


# Over/under 2.5 opening odds: the market average first (quoted in every season of the source,
# as Betbrain's average before 2019-20), then Pinnacle.
OPEN_TOTALS_PREFERENCE = ("avg", "ps")


def select_open_totals(matches: pd.DataFrame) -> np.ndarray:
    """(n, 2) opening (over 2.5, under 2.5) odds per match, first valid pair of
    ``OPEN_TOTALS_PREFERENCE``; NaN rows when none."""
    prices = totals_prices(matches)
    out = np.full((len(matches), 2), np.nan)
    filled = np.zeros(len(matches), dtype=bool)
    for book in OPEN_TOTALS_PREFERENCE:
        arr = prices[[f"over25_{book}_open", f"under25_{book}_open"]].to_numpy(dtype=np.float64)
        ok = np.all(np.isfinite(arr), axis=1) & ~filled
        out[ok] = arr[ok]
        filled |= ok
    return out


def _sorted(matches: pd.DataFrame) -> pd.DataFrame:
    return matches.sort_values("kickoff", kind="stable").reset_index(drop=True)


def build_match_features(
    matches: pd.DataFrame, params: FeatureParams | None = None
) -> pd.DataFrame:
    """Pre-match features for every match (rows sorted by kick-off, index reset).

    Columns: ``KEY_COLUMNS`` then ``FEATURE_COLUMNS`` (``ALL_FEATURES``, ``TOTALS_FEATURES``).
    A match on date D only depends on matches dated before D (plus its own opening odds).
    Matches without a result still get features (and do not update the states), so fixtures can
    be scored with the same call.
    """
    p = params or FeatureParams()
    df = _sorted(matches)
    recs = match_records(df)
    rating = np.full((len(recs), len(RATING_FEATURES)), np.nan)
    states: dict[TeamKey, TeamState] = {}
    for day, idx in iter_match_days(recs):
        for i in idx:
            m = recs[i]
            h = resolve_team_state(states, m.league, m.home_team, m.season, p)
            a = resolve_team_state(states, m.league, m.away_team, m.season, p)
            rating[i] = list(rating_feature_vector(h, a, day, p).values())
        states = update_states(states, [recs[i] for i in idx], p)
    out = df[KEY_COLUMNS].copy()
    feats = pd.DataFrame(rating, columns=RATING_FEATURES)
    market = pd.DataFrame(
        market_features_from_odds(select_open_odds(df), p), columns=MARKET_FEATURES
    )
    totals = pd.DataFrame(totals_features_from_odds(select_open_totals(df)), columns=TOTALS_FEATURES)
    return pd.concat([out, feats, market, totals], axis=1)


# ---------------------------------------------------------------------------------------------
# Tuning
# ---------------------------------------------------------------------------------------------

DEFAULT_GRID: dict[str, Sequence[float]] = {
    "elo_k": (15.0, 20.0, 25.0, 30.0),
    "elo_home_advantage": (50.0, 65.0, 80.0),
    "pi_lam": (0.025, 0.035, 0.05, 0.07),
    "pi_gamma": (0.5, 0.7, 0.9),
}


def _ordered_logit_rps(signal: np.ndarray, outcome: np.ndarray) -> float:
    """RPS of the best ordered-logit fit of the outcome (0=A, 1=D, 2=H) on one rating signal.

    Why: Elo and pi produce a strength difference, not three probabilities; an ordered logit with
    two cut-points is the standard, minimal mapping, so the tuner compares ratings on equal terms.
    """
    s = (signal - signal.mean()) / (signal.std() or 1.0)

    def probs(theta: np.ndarray) -> np.ndarray:
        beta, c1, gap = theta
        c2 = c1 + math.exp(gap)
        f1 = 1.0 / (1.0 + np.exp(-(c1 - beta * s)))  # P(A)
        f2 = 1.0 / (1.0 + np.exp(-(c2 - beta * s)))  # P(A or D)
        return np.column_stack([f1, f2 - f1, 1.0 - f2])

    def nll(theta: np.ndarray) -> float:
        pr = probs(theta)[np.arange(len(s)), outcome]
        return float(-np.mean(np.log(np.clip(pr, 1e-12, None))))

    res = minimize(nll, x0=np.array([0.5, -0.6, 0.0]), method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    pr = probs(res.x)
    obs = np.zeros_like(pr)
    obs[np.arange(len(s)), outcome] = 1.0
    cum = np.cumsum(pr - obs, axis=1)[:, :2]
    return float(np.mean(np.sum(cum**2, axis=1) / 2.0))


def _outcomes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    hg = pd.to_numeric(df["fthg"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ag = pd.to_numeric(df["ftag"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    outcome = np.where(hg > ag, 2, np.where(hg == ag, 1, 0))
    return outcome, ~(np.isnan(hg) | np.isnan(ag))


def rating_param_scores(
    matches_train: pd.DataFrame,
    grid: Mapping[str, Sequence[float]] | None = None,
    base: FeatureParams | None = None,
) -> pd.DataFrame:
    """RPS of every Elo (K, home advantage) and pi (λ, γ) candidate on ``matches_train``.

    Columns: rating ("elo"/"pi"), a (K or λ), b (home advantage or γ), rps. The first season of
    every league is a burn-in and is not scored. Elo and pi are independent, so candidate i of
    the Elo grid and candidate i of the pi grid share one pass over the data: the cost is
    max(|Elo grid|, |pi grid|) feature builds.
    """
    g = {**DEFAULT_GRID, **(grid or {})}
    b = base or FeatureParams()
    elo_cands = [(k, h) for k in g["elo_k"] for h in g["elo_home_advantage"]]
    pi_cands = [(lam, gam) for lam in g["pi_lam"] for gam in g["pi_gamma"]]
    df = _sorted(matches_train)
    outcome, played = _outcomes(df)
    first_season = df.groupby("league")["season"].transform("min")
    scored = played & (df["season"] != first_season).to_numpy()
    if scored.sum() < 50:
        raise ValueError("need at least 50 played matches after each league's first season")
    rows: list[dict[str, Any]] = []
    for i in range(max(len(elo_cands), len(pi_cands))):
        ek, eh = elo_cands[min(i, len(elo_cands) - 1)]
        pl, pg = pi_cands[min(i, len(pi_cands) - 1)]
        params = dataclasses.replace(
            b,
            elo=dataclasses.replace(b.elo, k=ek, home_advantage=eh),
            pi=dataclasses.replace(b.pi, lam=pl, gamma=pg),
        )
        feats = build_match_features(df, params)
        if i < len(elo_cands):
            elo_signal = (feats["elo_diff"].to_numpy() + eh)[scored]
            rps = _ordered_logit_rps(elo_signal, outcome[scored])
            rows.append({"rating": "elo", "a": ek, "b": eh, "rps": rps})
        if i < len(pi_cands):
            rps = _ordered_logit_rps(feats["pi_expected_gd"].to_numpy()[scored], outcome[scored])
            rows.append({"rating": "pi", "a": pl, "b": pg, "rps": rps})
    return pd.DataFrame(rows)


def tune_rating_params(
    matches_train: pd.DataFrame,
    grid: Mapping[str, Sequence[float]] | None = None,
    base: FeatureParams | None = None,
) -> FeatureParams:
    """``base`` with the Elo K / home advantage and pi λ / γ that minimise each rating's RPS.

    Why: the published constants were fitted on other leagues and eras. Only ``matches_train``
    is used: pass the training split, since tuning on evaluation seasons would leak. Grid keys:
    ``elo_k``, ``elo_home_advantage``, ``pi_lam``, ``pi_gamma`` (missing keys use
    ``DEFAULT_GRID``); ties go to the smaller value.
    """
    b = base or FeatureParams()
    table = rating_param_scores(matches_train, grid, b)
    best_elo = table[table.rating == "elo"].sort_values(["rps", "a", "b"]).iloc[0]
    best_pi = table[table.rating == "pi"].sort_values(["rps", "a", "b"]).iloc[0]
    best = dataclasses.replace(
        b,
        elo=dataclasses.replace(b.elo, k=float(best_elo.a), home_advantage=float(best_elo.b)),
        pi=dataclasses.replace(b.pi, lam=float(best_pi.a), gamma=float(best_pi.b)),
    )
    return best
