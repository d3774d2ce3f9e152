"""Which candidates to bet on: the edge threshold and at most one bet per (match, market).

Why: a value-betting backtest is only honest if every decision could have been taken before kick-off.
:func:`decide` therefore receives nothing but ``DECISION_COLUMNS`` (identifiers, ``p_model``,
``price_open``): :func:`select_bets` cuts the table down before calling it, so ``price_close`` and
``profit_per_unit`` cannot reach the decision (checked by ``leakage.decisions_ignore_closing``).
The threshold is tuned walk-forward: a season's threshold comes from earlier seasons only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soccer_assets.modeling.betting.candidates import (
    CANDIDATE_COLUMNS,
    DECISION_COLUMNS,
    check_columns,
    edge,
    ordered,
)

DEFAULT_GRID: tuple[float, ...] = tuple(round(0.02 * i, 2) for i in range(11))  # 0.00, 0.02, ..., 0.20
DEFAULT_MIN_BETS = 100
DEFAULT_THRESHOLD = 0.05  # used when the history is empty or no grid point reaches min_bets


def decide(decision_view: pd.DataFrame, threshold: float) -> pd.Index:
    """Index labels of the chosen rows of a table holding only ``DECISION_COLUMNS``.

    Rule: a row qualifies when ``edge > threshold`` (strictly; invalid prices or probabilities have
    no edge and never qualify); of the qualifying rows of one (match, market) the one with the
    highest edge is chosen, ties going to the smallest ``selection`` (then the first row).
    """
    extra = sorted(set(decision_view.columns) - set(DECISION_COLUMNS))
    if extra:
        raise ValueError(f"decide() may only see DECISION_COLUMNS; got also {extra}")
    if decision_view.empty:
        return decision_view.index[:0]
    e = edge(decision_view["p_model"], decision_view["price_open"])
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(e) & (e > threshold)
    view = pd.DataFrame(
        {
            "match_id": decision_view["match_id"].astype(str).to_numpy(),
            "market": decision_view["market"].astype(str).to_numpy(),
            "selection": decision_view["selection"].astype(str).to_numpy(),
            "neg_edge": -e,
            "pos": np.arange(len(decision_view)),
        },
        index=decision_view.index,
    )[keep]
    if view.empty:
        return decision_view.index[:0]
    view = view.sort_values(["match_id", "market", "neg_edge", "selection", "pos"], kind="stable")
    best = view.drop_duplicates(["match_id", "market"], keep="first")
    return best.sort_values("pos").index


def select_bets(candidates: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The bets: at most one per (match, market), the highest edge above ``threshold``.

    Returns the chosen candidate rows (all their columns, original index) plus ``edge``, in kick-off
    order. The choice is made by :func:`decide` on ``candidates[DECISION_COLUMNS]`` alone.
    """
    check_columns(candidates, DECISION_COLUMNS)
    chosen = decide(candidates[DECISION_COLUMNS], float(threshold))
    bets = candidates.loc[chosen].copy()
    bets["edge"] = edge(bets["p_model"], bets["price_open"])
    return ordered(bets)


def choose_threshold(
    history: pd.DataFrame | None,
    grid: Sequence[float] = DEFAULT_GRID,
    min_bets: int = DEFAULT_MIN_BETS,
    default: float = DEFAULT_THRESHOLD,
) -> float:
    """The edge threshold of ``grid`` with the best flat-stake ROI on ``history``.

    Rule: for each threshold t, ``select_bets(history, t)``; ROI = sum(profit_per_unit) / n_bets.
    Thresholds giving fewer than ``min_bets`` bets (or none) are not eligible; the eligible one with
    the highest ROI wins, ties going to the smaller threshold. No history, or no eligible threshold:
    ``default`` (:data:`DEFAULT_THRESHOLD` = 0.05). History rows without a settled
    ``profit_per_unit`` are dropped first. A pure function of ``history``: the caller passes the
    seasons before the one evaluated (see :func:`thresholds_by_season`), per market if the
    thresholds are per market.
    """
    if history is None or history.empty:
        return float(default)
    check_columns(history, [*DECISION_COLUMNS, "profit_per_unit"], "history")
    settled = history[np.isfinite(history["profit_per_unit"].to_numpy(dtype=np.float64))]
    best: tuple[float, float] | None = None  # (roi, threshold)
    for t in sorted(float(x) for x in grid):
        bets = select_bets(settled, t)
        if len(bets) == 0 or len(bets) < min_bets:
            continue
        roi = float(bets["profit_per_unit"].sum()) / len(bets)
        if best is None or roi > best[0]:
            best = (roi, t)
    return float(default) if best is None else best[1]


def thresholds_by_season(
    candidates: pd.DataFrame,
    grid: Sequence[float] = DEFAULT_GRID,
    min_bets: int = DEFAULT_MIN_BETS,
    default: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Walk-forward thresholds: per (season, market), :func:`choose_threshold` on that market's
    candidates of strictly earlier seasons (season labels ``YYYY-YY`` sort chronologically).

    Columns ``season, market, threshold, n_history`` (candidate rows the choice was made on).
    """
    check_columns(candidates, CANDIDATE_COLUMNS)
    rows = []
    for market in sorted(candidates["market"].astype(str).unique()):
        of_market = candidates[candidates["market"].astype(str) == market]
        seasons = of_market["season"].astype(str)
        for season in sorted(seasons.unique()):
            history = of_market[seasons < season]
            rows.append({"season": season, "market": market, "n_history": len(history),
                         "threshold": choose_threshold(history, grid, min_bets, default)})
    return pd.DataFrame(rows, columns=["season", "market", "threshold", "n_history"])


def walk_forward_bets(
    candidates: pd.DataFrame,
    grid: Sequence[float] = DEFAULT_GRID,
    min_bets: int = DEFAULT_MIN_BETS,
    default: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """The bets of every (season, market) at its walk-forward threshold (column ``threshold``)."""
    thresholds = thresholds_by_season(candidates, grid, min_bets, default)
    frames = []
    for row in thresholds.itertuples(index=False):
        part = candidates[(candidates["season"].astype(str) == row.season)
                          & (candidates["market"].astype(str) == row.market)]
        bets = select_bets(part, row.threshold)
        bets["threshold"] = row.threshold
        frames.append(bets)
    if not frames:
        empty = candidates.iloc[:0].copy()
        empty["edge"] = pd.Series(dtype=np.float64)
        empty["threshold"] = pd.Series(dtype=np.float64)
        return empty
    return ordered(pd.concat(frames))
