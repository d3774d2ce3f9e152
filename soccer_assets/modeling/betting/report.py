"""Backtest of chosen bets: ROI with a bootstrap interval, drawdown, closing-line value, equity.

Why: a positive ROI over a few hundred bets is mostly noise; the bootstrap interval says how much,
the drawdown says what the ride felt like, and closing-line value (CLV: did we beat the closing
price?) is a lower-variance sign of real edge than the profit itself.

Definitions (per group and overall, stakes as given by ``staking.stakes``):

* ``roi = profit / staked``; ``roi_ci95_lo/hi``: 2.5 / 97.5 percentiles of the ROI over ``n_boot``
  (2,000) resamples of the bets with replacement, ``numpy.random.default_rng(seed)``, seed 0;
* ``hit_rate``: share of bets with ``profit_per_unit > 0`` (half-wins count, pushes do not);
* ``max_drawdown``: largest fall of the cumulative profit (kick-off order, starting at 0) from a
  running peak, in units (Kelly: in bankroll units, the bankroll starting at 1), >= 0;
* ``clv_mean``: mean of ``log(price_open / price_close)`` over the bets with a valid closing price
  (``clv_n`` of them); ``clv_beat_rate``: share of those with ``price_open > price_close``.
  The caller gives ``price_close`` only where it prices the same bet (e.g. the same AH line).

Zero bets (or a group with nothing staked) never raise: ``n_bets`` 0, ``staked`` and ``profit`` 0,
``max_drawdown`` 0, and ``roi``, both CI bounds, ``hit_rate``, ``clv_mean``, ``clv_beat_rate`` NaN
(float NaN rather than None, so the columns stay numeric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from soccer_assets.modeling.betting.candidates import KEY_COLUMNS, check_columns, ordered
from soccer_assets.modeling.betting.staking import DEFAULT_CAP, DEFAULT_FRACTION, stakes

N_BOOT = 2000
SEED = 0
ALL = "all"  # the value of a grouping column in a row that does not split by it
LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("overall", ()),
    ("market", ("market",)),
    ("league", ("league",)),
    ("season", ("season",)),
    ("market_league_season", ("market", "league", "season")),
)
METRIC_COLUMNS = ["n_bets", "staked", "profit", "roi", "roi_ci95_lo", "roi_ci95_hi", "hit_rate",
                  "max_drawdown", "clv_n", "clv_mean", "clv_beat_rate"]
REPORT_COLUMNS = ["level", "market", "league", "season", *METRIC_COLUMNS]
_BOOT_CHUNK_CELLS = 2_000_000


def max_drawdown(profits: object) -> float:
    """Largest peak-to-trough fall of ``cumsum(profits)`` (the curve starts at 0), as a number >= 0."""
    p = np.asarray(profits, dtype=np.float64)
    if p.size == 0:
        return 0.0
    curve = np.concatenate([[0.0], np.cumsum(p)])
    return float(np.max(np.maximum.accumulate(curve) - curve))


def bootstrap_roi_ci(stake: np.ndarray, profit: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED,
                     level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``sum(profit) / sum(stake)`` over resamples of the bets (NaN, NaN if
    there is nothing to resample). Resamples with nothing staked are left out."""
    n = len(stake)
    if n == 0 or n_boot <= 0 or not np.sum(stake) > 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOT_CHUNK_CELLS // n)
    rois = []
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(k, n))
        staked = stake[idx].sum(axis=1)
        won = profit[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rois.append(np.where(staked > 0, won / staked, np.nan))
        done += k
    r = np.concatenate(rois)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(r, [tail, 100.0 - tail])
    return float(lo), float(hi)


def summarize(settled: pd.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> dict[str, float]:
    """The metrics of :data:`METRIC_COLUMNS` for settled bets (``stake``, ``profit``,
    ``profit_per_unit``, ``price_open``, ``price_close``), taken in kick-off order."""
    s = ordered(settled)
    stake = s["stake"].to_numpy(dtype=np.float64)
    profit = s["profit"].to_numpy(dtype=np.float64)
    n = len(s)
    staked = float(stake.sum())
    total = float(profit.sum())
    roi = total / staked if staked > 0 else math.nan
    lo, hi = bootstrap_roi_ci(stake, profit, n_boot, seed)
    o = s["price_open"].to_numpy(dtype=np.float64)
    c = s["price_close"].to_numpy(dtype=np.float64) if "price_close" in s else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(o) & np.isfinite(c) & (o > 1.0) & (c > 1.0)
    clv = np.log(o[valid] / c[valid])
    return {
        "n_bets": n,
        "staked": staked,
        "profit": total,
        "roi": roi,
        "roi_ci95_lo": lo,
        "roi_ci95_hi": hi,
        "hit_rate": float(np.mean(s["profit_per_unit"].to_numpy(dtype=np.float64) > 0)) if n else math.nan,
        "max_drawdown": max_drawdown(profit),
        "clv_n": int(valid.sum()),
        "clv_mean": float(clv.mean()) if clv.size else math.nan,
        "clv_beat_rate": float(np.mean(o[valid] > c[valid])) if clv.size else math.nan,
    }


def report_table(settled: pd.DataFrame, n_boot: int = N_BOOT, seed: int = SEED,
                 levels: tuple[tuple[str, tuple[str, ...]], ...] = LEVELS) -> pd.DataFrame:
    """One row per group of each level (overall; per market; league; season; market x league x
    season) with :data:`REPORT_COLUMNS`; ``"all"`` in the grouping columns a level does not split by.
    Groups are slices of one backtest (Kelly stakes come from the whole portfolio's bankroll).
    The overall row is always there, even with zero bets."""
    rows: list[dict[str, Any]] = []
    for level, by in levels:
        if not by:
            rows.append({"level": level, "market": ALL, "league": ALL, "season": ALL,
                         **summarize(settled, n_boot, seed)})
            continue
        if settled.empty:
            continue
        for key, group in settled.groupby(list(by), sort=True, dropna=False):
            keys = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
            rows.append({"level": level, **{c: str(keys.get(c, ALL)) for c in ("market", "league", "season")},
                         **summarize(group, n_boot, seed)})
    table = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    return table.astype({"n_bets": "int64", "clv_n": "int64"})


def equity_curve(settled: pd.DataFrame) -> pd.DataFrame:
    """Cumulative profit in kick-off order: ``kickoff, match_id, market, selection, profit,
    cum_profit`` (one row per bet, index 0..n-1)."""
    s = ordered(settled)
    cols = ["kickoff", *KEY_COLUMNS, "profit"]
    out = s[cols].reset_index(drop=True) if len(s) else pd.DataFrame(columns=cols)
    out["profit"] = out["profit"].astype(np.float64)
    out["cum_profit"] = out["profit"].cumsum()
    return out


@dataclass(frozen=True)
class BacktestReport:
    """Result of :func:`backtest`: the settled bets, the report table and the equity curve."""

    staking: str
    bets: pd.DataFrame  # the bets in kick-off order with stake, profit, bankroll_before
    table: pd.DataFrame  # report_table(bets)
    equity: pd.DataFrame  # equity_curve(bets)
    n_unsettled: int = 0  # bets left out because profit_per_unit was missing
    params: dict[str, float] = field(default_factory=dict)

    @property
    def overall(self) -> dict[str, Any]:
        """The overall row as a dict, with ``roi_ci95`` as ``[lo, hi]`` (NaN when undefined)."""
        row = self.table[self.table["level"] == "overall"].iloc[0].to_dict()
        row["roi_ci95"] = [row["roi_ci95_lo"], row["roi_ci95_hi"]]
        return row


def backtest(bets: pd.DataFrame, staking: str = "flat", *, fraction: float = DEFAULT_FRACTION,
             cap: float = DEFAULT_CAP, n_boot: int = N_BOOT, seed: int = SEED) -> BacktestReport:
    """Stake the chosen ``bets`` (``select_bets`` output) and report; deterministic for a seed.

    Bets whose ``profit_per_unit`` is missing (unsettled, abandoned) are left out and counted in
    ``n_unsettled``. Zero bets give a complete report (see the module docstring).
    """
    check_columns(bets, ["match_id", "league", "season", "kickoff", "market", "selection", "p_model",
                         "price_open", "profit_per_unit"], "bets")
    settled_mask = np.isfinite(bets["profit_per_unit"].to_numpy(dtype=np.float64))
    settled = stakes(bets[settled_mask], staking, fraction, cap)
    if "price_close" not in settled:
        settled["price_close"] = np.nan
    eq = equity_curve(settled)
    settled["cum_profit"] = eq["cum_profit"].to_numpy()
    return BacktestReport(
        staking=staking,
        bets=settled,
        table=report_table(settled, n_boot, seed),
        equity=eq,
        n_unsettled=int((~settled_mask).sum()),
        params={"fraction": fraction, "cap": cap, "n_boot": n_boot, "seed": seed},
    )
