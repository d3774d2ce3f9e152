"""Stakes of the chosen bets: flat (1 unit) or fractional Kelly on a bankroll starting at 1.

Why: flat stakes measure the selection; Kelly measures what a bankroll would have done with stakes
sized by the model's edge. Kelly's formula for a simple win/lose bet at decimal odds o with win
probability p is f* = (p * o - 1) / (o - 1). Asian-handicap quarter and whole lines can push or
half-win; the same formula is used with ``p_model`` as the win probability, i.e. a pushes-free
approximation (it over-stakes slightly where a push is likely).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from soccer_assets.modeling.betting.candidates import check_columns, ordered

STAKINGS = ("flat", "kelly")
DEFAULT_FRACTION = 0.25
DEFAULT_CAP = 0.05


def kelly_fraction(p_model: object, price: object) -> np.ndarray:
    """Full-Kelly share of the bankroll, ``(p * o - 1) / (o - 1)``, floored at 0 (no edge: no bet);
    0 for an invalid probability or price."""
    p = np.asarray(p_model, dtype=np.float64)
    o = np.asarray(price, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(p) & np.isfinite(o) & (o > 1.0) & (p >= 0.0) & (p <= 1.0)
        f = np.where(ok, (p * o - 1.0) / (o - 1.0), 0.0)
    return np.clip(f, 0.0, None)


def stakes(bets: pd.DataFrame, staking: str = "flat", fraction: float = DEFAULT_FRACTION,
           cap: float = DEFAULT_CAP) -> pd.DataFrame:
    """``bets`` in kick-off order with ``stake``, ``profit`` (= stake * profit_per_unit) and
    ``bankroll_before`` (1 + the profit settled before this bet's kick-off).

    ``flat``: stake 1. ``kelly``: stake = bankroll_before * min(fraction * f*, cap). Bets with the
    same kick-off are simultaneous: all are sized on the bankroll before that kick-off, whose results
    are then settled together. The bankroll is floored at 0 for sizing.
    """
    if staking not in STAKINGS:
        raise ValueError(f"unknown staking {staking!r}; choose one of {STAKINGS}")
    if fraction < 0 or cap < 0:
        raise ValueError("fraction and cap must be >= 0")
    check_columns(bets, ["kickoff", "p_model", "price_open", "profit_per_unit"], "bets")
    out = ordered(bets).copy()
    ppu = out["profit_per_unit"].to_numpy(dtype=np.float64)
    n = len(out)
    if staking == "flat":
        stake = np.ones(n)
        profit = ppu.copy()
        before = 1.0 + np.concatenate([[0.0], np.cumsum(profit)[:-1]]) if n else np.empty(0)
        # Simultaneous bets see the same bankroll: the one before their common kick-off.
        before = _bankroll_at_kickoff(out["kickoff"], before)
    else:
        share = np.minimum(fraction * kelly_fraction(out["p_model"], out["price_open"]), cap)
        stake = np.zeros(n)
        profit = np.zeros(n)
        before = np.zeros(n)
        bankroll = 1.0
        kickoffs = out["kickoff"].to_numpy()
        start = 0
        while start < n:
            end = start + 1
            while end < n and kickoffs[end] == kickoffs[start]:
                end += 1
            before[start:end] = bankroll
            stake[start:end] = max(bankroll, 0.0) * share[start:end]
            profit[start:end] = stake[start:end] * ppu[start:end]
            bankroll += float(profit[start:end].sum())
            start = end
    out["stake"] = stake
    out["profit"] = profit
    out["bankroll_before"] = before
    return out


def _bankroll_at_kickoff(kickoff: pd.Series, before: np.ndarray) -> np.ndarray:
    if len(before) == 0:
        return before
    first = pd.Series(before).groupby(kickoff.to_numpy(), sort=False, dropna=False).transform("first")
    return first.to_numpy(dtype=np.float64)
