"""Fixed-selection markets priced off score grids: 1X2, double chance, draw no bet, both teams to
score, correct score and expected goals. Pure numpy.

Every function takes grids of shape ``(n, G+1, G+1)`` (``grid[i, h, a]`` = P(home h, away a); see
:mod:`.grid`) and returns one row per match. Column orders are the ``*_LABELS`` constants.
"""

from __future__ import annotations

import numpy as np

ONE_X_TWO_LABELS: tuple[str, str, str] = ("home", "draw", "away")
DOUBLE_CHANCE_LABELS: tuple[str, str, str] = ("1X", "12", "X2")
DRAW_NO_BET_LABELS: tuple[str, str] = ("home", "away")
BTTS_LABELS: tuple[str, str] = ("yes", "no")
OTHER_SCORE = "other"


def check_grids(grids) -> np.ndarray:
    """Grids as a float ``(n, G+1, G+1)`` array of finite non-negative cells."""
    g = np.asarray(grids, dtype=np.float64)
    if g.ndim != 3 or g.shape[1] != g.shape[2] or g.shape[1] < 2:
        raise ValueError(f"grids must have shape (n, G+1, G+1), got {g.shape}")
    if not np.all(np.isfinite(g)) or (g.size and g.min() < 0):
        raise ValueError("grid cells must be finite and >= 0")
    return g


def one_x_two(grids) -> np.ndarray:
    """``(n, 3)``: P(home win), P(draw), P(away win)."""
    g = check_grids(grids)
    draw = np.trace(g, axis1=1, axis2=2)
    home = np.tril(g, k=-1).sum(axis=(1, 2))
    away = np.triu(g, k=1).sum(axis=(1, 2))
    return np.stack([home, draw, away], axis=1)


def double_chance(grids) -> np.ndarray:
    """``(n, 3)``: P(1X) = home or draw, P(12) = no draw, P(X2) = draw or away."""
    p = one_x_two(grids)
    return np.stack([p[:, 0] + p[:, 1], p[:, 0] + p[:, 2], p[:, 1] + p[:, 2]], axis=1)


def draw_no_bet(grids) -> np.ndarray:
    """``(n, 2)``: fair two-way home/away probabilities with the draw refunded (NaN if P(draw)=1)."""
    p = one_x_two(grids)
    decided = p[:, 0] + p[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([p[:, 0] / decided, p[:, 2] / decided], axis=1)


def btts(grids) -> np.ndarray:
    """``(n, 2)``: P(both teams score), P(not both score)."""
    g = check_grids(grids)
    yes = g[:, 1:, 1:].sum(axis=(1, 2))
    return np.stack([yes, g.sum(axis=(1, 2)) - yes], axis=1)


def correct_score(grids, max_score: int = 6) -> tuple[list[str], np.ndarray]:
    """Labels ``"0-0", "0-1", …, "6-6", "other"`` (home goals first, row-major) and ``(n, K)``.

    ``"other"`` is every score with a side above ``max_score``; each row sums to the grid's total.
    """
    g = check_grids(grids)
    if not 0 <= max_score < g.shape[1]:
        raise ValueError(f"max_score must be in [0, {g.shape[1] - 1}], got {max_score}")
    k = max_score + 1
    labels = [f"{h}-{a}" for h in range(k) for a in range(k)] + [OTHER_SCORE]
    listed = g[:, :k, :k].reshape(g.shape[0], -1)
    other = g.sum(axis=(1, 2)) - listed.sum(axis=1)
    return labels, np.concatenate([listed, np.maximum(other, 0.0)[:, None]], axis=1)


def expected_goals(grids) -> np.ndarray:
    """``(n, 2)``: expected home goals and expected away goals under the (truncated) grid."""
    g = check_grids(grids)
    goals = np.arange(g.shape[1], dtype=np.float64)
    return np.stack([g.sum(axis=2) @ goals, g.sum(axis=1) @ goals], axis=1)


def total_goals_distribution(grids) -> np.ndarray:
    """``(n, 2G+1)``: P(total goals = k) for k = 0 … 2G."""
    g = check_grids(grids)
    size = g.shape[1]
    h, a = np.indices((size, size))
    onto = (h + a).ravel()[:, None] == np.arange(2 * size - 1)
    return g.reshape(g.shape[0], -1) @ onto.astype(np.float64)


def goal_difference_distribution(grids) -> tuple[np.ndarray, np.ndarray]:
    """Goal differences ``−G … G`` (home minus away) and ``(n, 2G+1)`` their probabilities."""
    g = check_grids(grids)
    size = g.shape[1]
    h, a = np.indices((size, size))
    onto = (h - a + size - 1).ravel()[:, None] == np.arange(2 * size - 1)
    return np.arange(-(size - 1), size), g.reshape(g.shape[0], -1) @ onto.astype(np.float64)
