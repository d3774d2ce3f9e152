"""Settling bets on the real result: profit per unit stake, vectorised (numpy broadcasting).

Prices are decimal (a winning unit stake returns ``price``, so the profit is ``price − 1``). A
quarter line is two half stakes on the neighbouring lines (:mod:`.halves`), each winning
``(price − 1)/2``, pushed (0) or losing ``1/2``.

``total_outcome`` and ``asian_outcome`` turn a result into ``(y, weight)`` for scoring a two-way
forecast on a line with pushes: ``weight`` is the share of the stake that was not pushed (0, 0.5
or 1) and ``y`` is 1 when those non-pushed halves went to the over (home) side, else 0 (also 0 when
``weight`` is 0). The two halves of a quarter line never split between win and loss.
"""

from __future__ import annotations

import numpy as np

from soccer_assets.modeling.markets.halves import half_results, split_line

_RESULT_INDEX = {"H": 0, "D": 1, "A": 2, "home": 0, "draw": 1, "away": 2}
_BTTS_INDEX = {"yes": 1, "no": 0}


def _goals(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be whole numbers")
    return arr


def _price(price) -> np.ndarray:
    arr = np.asarray(price, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1.0):
        raise ValueError("decimal prices must be finite and >= 1")
    return arr


def _side(side, allowed: tuple[str, str]) -> np.ndarray:
    """``+1`` for the first side (over / home), ``-1`` for the second, broadcastable."""
    arr = np.asarray(side, dtype=object)
    first = arr == allowed[0]
    if not np.all(first | (arr == allowed[1])):
        raise ValueError(f"side must be {allowed[0]!r} or {allowed[1]!r}")
    return np.where(first, 1, -1)


def _labels(values, mapping: dict[str, int], name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        out = arr.astype(np.int64)
    else:
        flat = [mapping.get(v, -1) if isinstance(v, str) else -1 for v in arr.ravel().tolist()]
        out = np.asarray(flat, dtype=np.int64).reshape(arr.shape)
    if np.any((out < 0) | (out > max(mapping.values()))):
        raise ValueError(f"{name} must be one of {sorted(set(mapping))} or their integer codes")
    return out


def _halves_score(margin_low, margin_high) -> np.ndarray:
    """Sum of the two half results: 2, 1, 0, -1 or -2 (win … loss)."""
    return half_results(margin_low) + half_results(margin_high)


def _profit(score: np.ndarray, price: np.ndarray) -> np.ndarray:
    wins = np.clip(score, 0, None) / 2  # share of the stake that won
    losses = np.clip(-score, 0, None) / 2  # share that lost
    return wins * (price - 1.0) - losses


def settle_total(total_goals, line, side, price) -> np.ndarray:
    """Profit per unit stake of an ``"over"``/``"under"`` bet on ``line`` at ``price``."""
    goals = _goals(total_goals, "total_goals")
    low, high = split_line(line)
    sign = _side(side, ("over", "under"))
    return _profit(sign * _halves_score(goals - low, goals - high), _price(price))


def settle_asian(goal_diff_home, home_line, side, price) -> np.ndarray:
    """Profit per unit stake of a ``"home"``/``"away"`` Asian bet; ``home_line`` is the home handicap
    (the away bet of home line ``l`` is the away side at ``−l``)."""
    diff = _goals(goal_diff_home, "goal_diff_home")
    low, high = split_line(home_line)
    sign = _side(side, ("home", "away"))
    return _profit(sign * _halves_score(diff + low, diff + high), _price(price))


def settle_1x2(result, selection, price) -> np.ndarray:
    """Profit per unit stake of a 1X2 bet; results and selections are ``H/D/A`` (or ``0/1/2``)."""
    won = _labels(result, _RESULT_INDEX, "result") == _labels(selection, _RESULT_INDEX, "selection")
    p = _price(price)
    return np.where(won, p - 1.0, -1.0)


def settle_btts(home_goals, away_goals, selection, price) -> np.ndarray:
    """Profit per unit stake of a both-teams-to-score bet; ``selection`` is ``"yes"``/``"no"``
    (or ``1``/``0``)."""
    both = (_goals(home_goals, "home_goals") > 0) & (_goals(away_goals, "away_goals") > 0)
    won = both.astype(np.int64) == _labels(selection, _BTTS_INDEX, "selection")
    p = _price(price)
    return np.where(won, p - 1.0, -1.0)


def _y_weight(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weight = np.abs(score) / 2
    return (score > 0).astype(np.float64), weight.astype(np.float64)


def total_outcome(total_goals, line) -> tuple[np.ndarray, np.ndarray]:
    """``(y, weight)`` of a totals line: ``y = 1`` if the over's non-pushed halves won."""
    goals = _goals(total_goals, "total_goals")
    low, high = split_line(line)
    return _y_weight(_halves_score(goals - low, goals - high))


def asian_outcome(goal_diff, home_line) -> tuple[np.ndarray, np.ndarray]:
    """``(y, weight)`` of an Asian line: ``y = 1`` if the home side's non-pushed halves won."""
    diff = _goals(goal_diff, "goal_diff")
    low, high = split_line(home_line)
    return _y_weight(_halves_score(diff + low, diff + high))
