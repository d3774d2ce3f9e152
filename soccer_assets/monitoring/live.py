"""Served predictions joined with real results and scored (pure pandas/numpy).

The input is the prediction log (``soccer_assets.storage.prediction_log.prediction_log`` rows: every
prediction the API, its batch route and the job worker served, with model name and version) and
the canonical match table (results and odds). The metrics are those of
:mod:`soccer_assets.modeling.metrics`; the market reference is the de-margined bookmaker forecast of
:mod:`soccer_assets.modeling.baselines` on the same matches.

Join rule. A logged prediction belongs to the match of the same league, season, home team and away
team (a pairing happens once per league season, so a postponed match still finds its result even
when the requested kick-off date was the original one). A prediction whose requested kick-off is
*after* the match was played was made with the result already known and is not scored
(``after_match``); one whose match has no result yet is ``pending``.

One prediction per match and model version (default): a client asking about the same match fifty
times would otherwise weigh fifty times; the latest logged prediction (highest log id) is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.baselines import DEFAULT_DEMARGIN, MARKET_BASELINES, market_probabilities

PROB_COLUMNS = ["p_home", "p_draw", "p_away"]
MARKET_COLUMNS = ["market_p_home", "market_p_draw", "market_p_away"]
LOG_COLUMNS = [
    "id", "league", "season", "home_team", "away_team", "kickoff",
    *PROB_COLUMNS, "model_name", "model_version",
]
MATCH_COLUMNS = ["match_id", "league", "season", "date", "home_team", "away_team", "ftr"]
JOIN_KEYS = ["league", "season", "home_team", "away_team"]
MODEL_KEYS = ["model_name", "model_version"]
METRIC_NAMES = ["n", "rps", "log_loss", "brier", "accuracy", "ece"]


@dataclass
class LiveScores:
    """Scored predictions (one row each) and what happened to every logged row."""

    scored: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def iso_week(dates: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(label ``YYYY-Www``, Monday of the week) of every date."""
    d = pd.to_datetime(dates)
    cal = d.dt.isocalendar()
    label = cal["year"].astype(str) + "-W" + cal["week"].astype(int).map("{:02d}".format)
    monday = (d - pd.to_timedelta(d.dt.weekday, unit="D")).dt.normalize()
    return label, monday


def join_outcomes(
    log: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    market_baseline: str = "pinnacle_close",
    demargin_method: str = DEFAULT_DEMARGIN,
    one_per_match: bool = True,
) -> LiveScores:
    """Every logged prediction whose match has a result, with ``y`` and the market forecast.

    ``log``: prediction-log rows (:data:`LOG_COLUMNS`). ``matches``: canonical match rows
    (:data:`MATCH_COLUMNS` plus the ``odds_*`` columns). The result has the log columns, the
    match's ``match_id``, ``date`` and ``ftr``, ``y`` (0/1/2), ``week`` / ``week_start`` (ISO week
    of the match date) and ``market_p_home/draw/away`` (NaN where the book has no odds).
    """
    _require(log, LOG_COLUMNS, "the prediction log")
    _require(matches, MATCH_COLUMNS, "the match table")
    if market_baseline not in MARKET_BASELINES:
        raise ValueError(f"unknown market baseline {market_baseline!r}; one of {sorted(MARKET_BASELINES)}")
    counts = {"logged": len(log), "pending": 0, "after_match": 0, "duplicates": 0, "scored": 0}
    odds_cols = [c for c in matches.columns if c.startswith("odds_")]
    played = matches.loc[matches["ftr"].isin(list(M.OUTCOME_LABELS)), [*MATCH_COLUMNS, *odds_cols]]
    dup = played.duplicated("match_id", keep=False)
    if dup.any():
        example = played.loc[dup, "match_id"].iloc[0]
        raise ValueError(f"the match table holds the match {example!r} twice")
    if log.empty:
        return LiveScores(_empty_scored(), counts)

    left = log[LOG_COLUMNS].copy()
    left["kickoff"] = pd.to_datetime(left["kickoff"])
    left["_day"] = left["kickoff"].dt.normalize()
    right = played.assign(_day=pd.to_datetime(played["date"]).dt.normalize())
    # A prediction is for the first meeting of its pairing on or after its kickoff day: where two
    # teams meet at the same venue more than once a season (split rounds, play-offs), a prediction
    # made between two meetings belongs to the second.
    joined = pd.merge_asof(left.sort_values("_day", kind="stable"), right.sort_values("_day", kind="stable"),
                           on="_day", by=JOIN_KEYS, direction="forward")
    joined["date"] = pd.to_datetime(joined["date"])
    unmatched = joined["match_id"].isna()
    pairings = pd.MultiIndex.from_frame(right[JOIN_KEYS])
    met = pd.MultiIndex.from_frame(joined[JOIN_KEYS]).isin(pairings)
    after = unmatched & met  # every meeting of the pairing was before the prediction's kickoff
    pending = unmatched & ~met
    counts["pending"] = int(pending.sum())
    counts["after_match"] = int(after.sum())
    df = joined.loc[~unmatched].drop(columns="_day").copy()
    if one_per_match and len(df):
        before = len(df)
        df = df.sort_values("id", kind="stable").drop_duplicates(["match_id", *MODEL_KEYS], keep="last")
        counts["duplicates"] = before - len(df)
    if df.empty:
        return LiveScores(_empty_scored(), counts)
    probs = df[PROB_COLUMNS].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(probs)):
        raise ValueError("the prediction log holds non-finite probabilities")
    df["y"] = M.outcome_index(df["ftr"].astype(str))
    df["week"], df["week_start"] = iso_week(df["date"])
    book, phase = MARKET_BASELINES[market_baseline]
    market = market_probabilities(df, book, phase, demargin_method)
    for k, c in enumerate(MARKET_COLUMNS):
        df[c] = market[:, k]
    df["model_version"] = df["model_version"].astype(str)
    df = df.drop(columns=odds_cols).sort_values(["date", "id"], kind="stable").reset_index(drop=True)
    counts["scored"] = len(df)
    return LiveScores(df, counts)


def _empty_scored() -> pd.DataFrame:
    cols = [*LOG_COLUMNS, "match_id", "date", "ftr", "y", "week", "week_start", *MARKET_COLUMNS]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})


def score_frame(df: pd.DataFrame) -> dict[str, float]:
    """Model metrics of the rows, and the market's on the rows where it has a forecast.

    ``market_*`` are scored on the same matches as ``model_rps_paired``; ``rps_vs_market`` is the
    model minus the market there (negative = the model beats the market).
    """
    y = df["y"].to_numpy(dtype=np.int64)
    out: dict[str, float] = dict(M.score_all(df[PROB_COLUMNS].to_numpy(dtype=np.float64), y))
    market = df[MARKET_COLUMNS].to_numpy(dtype=np.float64)
    ok = np.all(np.isfinite(market), axis=1)
    out["market_n"] = int(ok.sum())
    if ok.any():
        paired = M.rps(df[PROB_COLUMNS].to_numpy(dtype=np.float64)[ok], y[ok])
        out["market_rps"] = M.rps(market[ok], y[ok])
        out["market_log_loss"] = M.log_loss(market[ok], y[ok])
        out["model_rps_paired"] = paired
        out["rps_vs_market"] = paired - out["market_rps"]
    else:
        for k in ("market_rps", "market_log_loss", "model_rps_paired", "rps_vs_market"):
            out[k] = float("nan")
    return out


def aggregate(scored: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """:func:`score_frame` per group of ``by`` (e.g. model version × league × week), one row each."""
    if scored.empty:
        return pd.DataFrame(columns=[*by, *METRIC_NAMES])
    rows = []
    for key, part in scored.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), **score_frame(part)})
    return pd.DataFrame(rows)


def last_n(scored: pd.DataFrame, n: int, by: Sequence[str] = tuple(MODEL_KEYS)) -> pd.DataFrame:
    """The latest ``n`` scored predictions of each group (by match date, then log id)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if scored.empty:
        return scored
    ordered = scored.sort_values(["date", "id"], kind="stable")
    return ordered.groupby(list(by), sort=False, group_keys=False).tail(n).reset_index(drop=True)


def reliability(scored: pd.DataFrame, n_bins: int = M.DEFAULT_BINS) -> dict:
    """Reliability-diagram data of the live forecasts (:func:`metrics.reliability_data`)."""
    return M.reliability_data(
        scored[PROB_COLUMNS].to_numpy(dtype=np.float64), scored["y"].to_numpy(dtype=np.int64), n_bins
    )
