"""Betting markets derived from score grids, and their settlement. Pure numpy/scipy.

* :mod:`.grid` — Dixon–Coles score grids and :func:`fit_grids` (grids with a given 1X2, near a total);
* :mod:`.selections` — 1X2, double chance, draw no bet, both teams to score, correct score, xG;
* :mod:`.lines` — over/under totals and Asian handicaps (win / half win / push / half loss / loss),
  fair probabilities and prices, expected profit;
* :mod:`.settlement` — profit per unit stake on the real result, and ``(y, weight)`` for scoring;
* :mod:`.halves` — quarter lines as two half stakes.
"""

from soccer_assets.modeling.markets.grid import (
    MAX_GOALS,
    MAX_TOTAL_SHIFT,
    GridFit,
    dixon_coles_grid,
    fit_grids,
    rho_bounds,
)
from soccer_assets.modeling.markets.halves import split_line
from soccer_assets.modeling.markets.lines import (
    ASIAN_LINES,
    OUTCOMES,
    TOTAL_LINES,
    asian_outcomes,
    expected_profit,
    fair_price,
    fair_probability,
    total_outcomes,
)
from soccer_assets.modeling.markets.selections import (
    BTTS_LABELS,
    DOUBLE_CHANCE_LABELS,
    DRAW_NO_BET_LABELS,
    ONE_X_TWO_LABELS,
    btts,
    correct_score,
    double_chance,
    draw_no_bet,
    expected_goals,
    goal_difference_distribution,
    one_x_two,
    total_goals_distribution,
)
from soccer_assets.modeling.markets.settlement import (
    asian_outcome,
    settle_1x2,
    settle_asian,
    settle_btts,
    settle_total,
    total_outcome,
)

__all__ = [
    "ASIAN_LINES",
    "BTTS_LABELS",
    "DOUBLE_CHANCE_LABELS",
    "DRAW_NO_BET_LABELS",
    "MAX_GOALS",
    "MAX_TOTAL_SHIFT",
    "ONE_X_TWO_LABELS",
    "OUTCOMES",
    "TOTAL_LINES",
    "GridFit",
    "asian_outcome",
    "asian_outcomes",
    "btts",
    "correct_score",
    "dixon_coles_grid",
    "double_chance",
    "draw_no_bet",
    "expected_goals",
    "expected_profit",
    "fair_price",
    "fair_probability",
    "fit_grids",
    "goal_difference_distribution",
    "one_x_two",
    "rho_bounds",
    "settle_1x2",
    "settle_asian",
    "settle_btts",
    "settle_total",
    "split_line",
    "total_goals_distribution",
    "total_outcome",
    "total_outcomes",
]
