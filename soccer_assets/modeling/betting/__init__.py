"""Value-betting backtest over candidate selections (pure: no IO, no orchestration).

A *candidate* is one row per (match, market, selection) with the columns of
:data:`~soccer_assets.modeling.betting.candidates.CANDIDATE_COLUMNS`: the model's fair probability
``p_model``, the pre-kick-off price ``price_open`` (decided on and settled at), the closing price
``price_close`` (closing-line value only) and the caller-settled ``profit_per_unit``.

* ``candidates.py`` — column names, ``edge = p_model * price_open - 1``;
* ``selection.py`` — ``select_bets`` (decides on ``DECISION_COLUMNS`` only), ``choose_threshold``,
  walk-forward thresholds and bets (each season's threshold from earlier seasons only);
* ``leakage.py`` — ``decisions_ignore_closing``: does a strategy ignore closing prices and results?
* ``staking.py`` — flat and fractional-Kelly stakes on a bankroll starting at 1;
* ``report.py`` — ``backtest`` -> ``BacktestReport``, ``report_table``, drawdown, CLV, bootstrap CI;
* ``plot.py`` — ``equity_curve_png`` (matplotlib Agg into memory, imported lazily).
"""

from soccer_assets.modeling.betting.candidates import (
    CANDIDATE_COLUMNS,
    DECISION_COLUMNS,
    KEY_COLUMNS,
    edge,
)
from soccer_assets.modeling.betting.leakage import decisions_ignore_closing
from soccer_assets.modeling.betting.plot import equity_curve_png
from soccer_assets.modeling.betting.report import (
    REPORT_COLUMNS,
    BacktestReport,
    backtest,
    equity_curve,
    max_drawdown,
    report_table,
    summarize,
)
from soccer_assets.modeling.betting.selection import (
    DEFAULT_GRID,
    DEFAULT_MIN_BETS,
    DEFAULT_THRESHOLD,
    choose_threshold,
    decide,
    select_bets,
    thresholds_by_season,
    walk_forward_bets,
)
from soccer_assets.modeling.betting.staking import STAKINGS, kelly_fraction, stakes

__all__ = [
    "CANDIDATE_COLUMNS",
    "DECISION_COLUMNS",
    "DEFAULT_GRID",
    "DEFAULT_MIN_BETS",
    "DEFAULT_THRESHOLD",
    "KEY_COLUMNS",
    "REPORT_COLUMNS",
    "STAKINGS",
    "BacktestReport",
    "backtest",
    "choose_threshold",
    "decide",
    "decisions_ignore_closing",
    "edge",
    "equity_curve",
    "equity_curve_png",
    "kelly_fraction",
    "max_drawdown",
    "report_table",
    "select_bets",
    "stakes",
    "summarize",
    "thresholds_by_season",
    "walk_forward_bets",
]
