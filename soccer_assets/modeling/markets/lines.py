"""Line markets priced off score grids: over/under totals and Asian handicaps. Pure numpy.

For each match, line and side the result is the probability of each of the five ways an Asian bet
can end, in the order of :data:`OUTCOMES`: ``win``, ``half_win``, ``push``, ``half_loss``, ``loss``
(a quarter line is two half stakes on the neighbouring lines, :mod:`.halves`). Arrays have shape
``(n, L, 5)`` for ``n`` matches and ``L`` lines.

* Totals: the over wins a half stake on line ``l`` when total goals ``> l`` and is pushed when equal;
  the under is the mirror image.
* Asian handicap: lines are the *home* line; the home side wins a half stake on ``l`` when
  ``goal difference + l > 0``. The away side of home line ``l`` is the away bet at ``−l``.

Pricing: ``fair_probability = (W + HW/2) / (W + HW/2 + L + HL/2)`` is the two-way probability net
of pushes (the over's and the under's sum to 1), ``fair_price = 1 / fair_probability`` is the
decimal price with zero expected profit, and ``expected_profit`` is the mean profit per unit stake.
"""

from __future__ import annotations

import numpy as np

from soccer_assets.modeling.markets.halves import half_results, split_line
from soccer_assets.modeling.markets.selections import (
    goal_difference_distribution,
    total_goals_distribution,
)

OUTCOMES: tuple[str, str, str, str, str] = ("win", "half_win", "push", "half_loss", "loss")
TOTAL_LINES = np.arange(2, 23) / 4  # 0.5, 0.75, …, 5.5
ASIAN_LINES = np.arange(-12, 13) / 4  # home line -3, -2.75, …, +3
_TOTAL_SIDES = ("over", "under")
_ASIAN_SIDES = ("home", "away")


def _outcome_matrix(values: np.ndarray, lines) -> np.ndarray:
    """``(K, L, 5)`` indicator: which of the five outcomes value ``k`` gives on line ``l``.

    ``values`` are the margins before the line (total goals, or goal difference for the home
    side); a half stake on line ``l`` is scored on ``value + l`` for Asian lines (``lines`` already
    negated for totals by the caller).
    """
    low, high = split_line(np.atleast_1d(lines))
    score = half_results(values[:, None] + low[None, :]) + half_results(values[:, None] + high[None, :])
    # score = 2 (win), 1 (half win), 0 (push), -1 (half loss), -2 (loss)
    return (score[:, :, None] == np.array([2, 1, 0, -1, -2])).astype(np.float64)


def total_outcomes(grids, lines=TOTAL_LINES, side: str = "over") -> np.ndarray:
    """``(n, L, 5)`` outcome probabilities of the over (or under) on each total-goals line."""
    if side not in _TOTAL_SIDES:
        raise ValueError(f"side must be one of {_TOTAL_SIDES}, got {side!r}")
    dist = total_goals_distribution(grids)
    goals = np.arange(dist.shape[1], dtype=np.float64)
    out = np.einsum("nk,klc->nlc", dist, _outcome_matrix(goals, -np.atleast_1d(lines)))
    return out if side == "over" else out[..., ::-1]


def asian_outcomes(grids, home_lines=ASIAN_LINES, side: str = "home") -> np.ndarray:
    """``(n, L, 5)`` outcome probabilities on each *home* Asian line, for the home or away side."""
    if side not in _ASIAN_SIDES:
        raise ValueError(f"side must be one of {_ASIAN_SIDES}, got {side!r}")
    diffs, dist = goal_difference_distribution(grids)
    out = np.einsum("nk,klc->nlc", dist, _outcome_matrix(diffs.astype(np.float64), home_lines))
    return out if side == "home" else out[..., ::-1]


def _check_outcomes(outcomes) -> np.ndarray:
    o = np.asarray(outcomes, dtype=np.float64)
    if o.ndim < 1 or o.shape[-1] != len(OUTCOMES):
        raise ValueError(f"outcomes must have a last axis of {len(OUTCOMES)} ({OUTCOMES}), got {o.shape}")
    return o


def fair_probability(outcomes) -> np.ndarray:
    """Two-way probability net of pushes, ``(W + HW/2) / (W + HW/2 + L + HL/2)``; NaN if all push."""
    o = _check_outcomes(outcomes)
    wins = o[..., 0] + o[..., 1] / 2
    losses = o[..., 4] + o[..., 3] / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return wins / (wins + losses)


def fair_price(outcomes) -> np.ndarray:
    """Decimal price with zero expected profit, ``1 / fair_probability`` (inf if it never wins)."""
    with np.errstate(divide="ignore"):
        return 1.0 / fair_probability(outcomes)


def expected_profit(outcomes, price) -> np.ndarray:
    """Expected profit per unit stake at decimal ``price`` (broadcast against the outcomes)."""
    o = _check_outcomes(outcomes)
    gain = np.asarray(price, dtype=np.float64) - 1.0
    return (o[..., 0] + o[..., 1] / 2) * gain - o[..., 3] / 2 - o[..., 4]
