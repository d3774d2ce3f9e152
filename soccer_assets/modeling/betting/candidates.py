"""The candidate table: one row per (match, market, selection), and the expected value of a bet.

Why: the backtest's honesty rests on which columns a decision may read. ``DECISION_COLUMNS`` are
known before kick-off (the identifiers, the model's probability and the pre-closing price);
``price_close`` and ``profit_per_unit`` are known only after it and may be used for evaluation only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY_COLUMNS = ["match_id", "market", "selection"]
ID_COLUMNS = ["match_id", "league", "season", "kickoff", "market", "selection"]
DECISION_COLUMNS = [*ID_COLUMNS, "p_model", "price_open"]
OUTCOME_COLUMNS = ["price_close", "profit_per_unit"]
CANDIDATE_COLUMNS = [*DECISION_COLUMNS, *OUTCOME_COLUMNS]


def check_columns(frame: pd.DataFrame, columns: list[str], what: str = "candidates") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack columns {missing}")


def edge(p_model: object, price_open: object) -> np.ndarray:
    """Expected profit of a 1-unit stake, ``p_model * price_open - 1`` (NaN for an invalid price).

    A price that is not a finite number above 1, or a probability outside [0, 1], gives NaN, so such
    a row is never selected.
    """
    p = np.asarray(p_model, dtype=np.float64)
    o = np.asarray(price_open, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(p) & np.isfinite(o) & (o > 1.0) & (p >= 0.0) & (p <= 1.0)
        return np.where(ok, p * o - 1.0, np.nan)


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in kick-off order, ties broken by the identifiers (a deterministic total order)."""
    if frame.empty:
        return frame
    keys = [c for c in ["kickoff", *KEY_COLUMNS] if c in frame.columns]
    return frame.sort_values(keys, kind="stable", na_position="last")
