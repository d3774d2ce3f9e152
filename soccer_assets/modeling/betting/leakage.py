"""Does a betting strategy decide without looking at closing prices or results?

Why: a strategy that reads ``price_close`` (known only at kick-off) or ``profit_per_unit`` (known
after the match) shows a profit no one could have made. The check is behavioural: run the strategy on
the candidates and on copies whose ``price_close`` and ``profit_per_unit`` are replaced (shuffled,
random, adversarial, missing); the decisions must not move.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from soccer_assets.modeling.betting.candidates import KEY_COLUMNS, OUTCOME_COLUMNS, check_columns

Strategy = Callable[[pd.DataFrame], pd.DataFrame]


def decision_keys(bets: pd.DataFrame) -> list[tuple[str, ...]]:
    """What a strategy decided, order-free: the sorted (match_id, market, selection) of its bets
    (the index labels when it does not return those columns)."""
    if all(c in bets.columns for c in KEY_COLUMNS):
        rows = bets[KEY_COLUMNS].astype(str).itertuples(index=False, name=None)
    else:
        rows = ((str(i),) for i in bets.index)
    return sorted(tuple(r) for r in rows)


def outcome_variants(candidates: pd.DataFrame, seed: int = 0, n_random: int = 3) -> list[pd.DataFrame]:
    """Copies of ``candidates`` with ``price_close`` / ``profit_per_unit`` replaced, seeded.

    Shuffled; closing prices all above / all below the opening ones with the results' signs flipped;
    random values; all missing; plus ``n_random`` random permutations and draws.
    """
    rng = np.random.default_rng(seed)
    n = len(candidates)
    o = candidates["price_open"].to_numpy(dtype=np.float64)
    profit = candidates["profit_per_unit"].to_numpy(dtype=np.float64)

    def variant(close: np.ndarray, ppu: np.ndarray) -> pd.DataFrame:
        out = candidates.copy()
        out["price_close"] = close
        out["profit_per_unit"] = ppu
        return out

    variants = [
        variant(o * 2.0, -profit),
        variant(o / 2.0, np.where(np.isfinite(profit), -profit + 1.0, 1.0)),
        variant(np.full(n, np.nan), np.full(n, np.nan)),
        variant(o.copy(), np.zeros(n)),
    ]
    for _ in range(n_random):
        close = candidates["price_close"].to_numpy(dtype=np.float64)
        variants.append(variant(rng.permutation(close), rng.permutation(profit)))
        variants.append(variant(rng.uniform(1.01, 10.0, n), rng.uniform(-1.0, 5.0, n)))
    return variants


def decisions_ignore_closing(strategy: Strategy, candidates: pd.DataFrame, *, seed: int = 0,
                             n_random: int = 3) -> bool:
    """True when ``strategy(candidates)`` picks the same bets on every :func:`outcome_variants` copy.

    A strategy that fails only on a variant counts as looking at the replaced columns (False).
    The check can only see dependence that changes a decision on these candidates: use tables with
    several candidates per match and edges on both sides of the threshold.
    """
    check_columns(candidates, [*OUTCOME_COLUMNS, "price_open"])
    reference = decision_keys(strategy(candidates.copy()))
    for changed in outcome_variants(candidates, seed=seed, n_random=n_random):
        try:
            got = decision_keys(strategy(changed))
        except Exception:
            return False
        if got != reference:
            return False
    return True
