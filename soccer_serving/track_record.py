"""The board's track record and team pages: figures from the warehouse, computed by the pipeline's
pure functions (no new metric is defined here).

* Track record: the prediction log joined with the stored results (``monitoring.live``), live RPS
  against the market per league and ISO week (``live.aggregate``), the value picks and their
  closing-line value (``monitoring.clv``), and the equity curve of those picks staked flat at their
  opening price (``modeling.markets.settlement.settle_1x2``), as the ``live_monitoring`` asset
  computes them. Plots: ``monitoring.report.live_rps_plot_png`` and
  ``modeling.betting.plot.equity_curve_png``, as inline PNG.
* Team page: the team's Elo and pi-ratings after each of its matches, replayed from the league's
  stored matches with the feature code's ``update_states`` (``features.history``), and its current
  state from ``team_state``.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from soccer_assets.features.history import rating_history
from soccer_assets.features.params import FeatureParams
from soccer_assets.modeling.betting.plot import equity_curve_png
from soccer_assets.modeling.markets.settlement import settle_1x2
from soccer_assets.monitoring import clv, live, report
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse

LOG_COLUMNS = [*live.LOG_COLUMNS, *clv.REQUEST_COLUMNS]
WEEK_COLUMNS = ["model_name", "model_version", "league", "week", "n", "rps", "market_n", "market_rps",
                "rps_vs_market"]


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@dataclass
class TrackRecord:
    counts: dict[str, int]
    weekly: list[dict[str, Any]] = field(default_factory=list)
    leagues: list[dict[str, Any]] = field(default_factory=list)
    clv: list[dict[str, Any]] = field(default_factory=list)
    bets: int = 0
    profit: float = 0.0
    rps_png: str = ""
    equity_png: str = ""


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    if df.empty:
        return []
    cols = [c for c in columns if c in df.columns]
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in df[cols].to_dict("records")]


def track_record(warehouse: Warehouse) -> TrackRecord:
    """Every scored prediction of the log: live RPS vs the market, CLV and the value bets' equity."""
    log = pd.DataFrame(plog.read_prediction_log_rows(warehouse.engine, columns=LOG_COLUMNS),
                       columns=LOG_COLUMNS)
    log["model_version"] = log["model_version"].astype(str)
    matches = (warehouse.read_matches(leagues=sorted(set(log["league"])), seasons=sorted(set(log["season"])))
               if len(log) else pd.DataFrame())
    if matches.empty:
        matches = pd.DataFrame(columns=live.MATCH_COLUMNS)
    scores = live.join_outcomes(log, matches)
    scored = scores.scored
    out = TrackRecord(counts=dict(scores.counts))
    weekly = live.aggregate(scored, [*live.MODEL_KEYS, "week_start"])
    with warnings.catch_warnings():  # an empty plot has no legend entries, which matplotlib notes
        warnings.simplefilter("ignore", UserWarning)
        png = report.live_rps_plot_png(weekly, {}, title="Live RPS by week (all leagues)")
    out.rps_png = png_data_uri(png)
    if not scored.empty:
        by_week = live.aggregate(scored, [*live.MODEL_KEYS, "league", "week", "week_start"])
        out.weekly = _records(by_week.sort_values(["league", "week_start"]), WEEK_COLUMNS)
        out.leagues = _records(live.aggregate(scored, [*live.MODEL_KEYS, "league"]), WEEK_COLUMNS)
    picks = clv.value_picks(scored, log, matches)
    table = clv.clv_table(scored, picks)
    if not table.empty:
        out.clv = _records(table[table["pick"] == "value"], clv.TABLE_COLUMNS)
    value = picks[picks["pick"] == "value"].merge(scored[["id", "ftr"]], on="id", how="left")
    value = value.sort_values(["date", "id"], kind="stable")
    profit = settle_1x2(value["ftr"].to_numpy(), value["selection"].to_numpy(),
                        value["price_open"].to_numpy(dtype=np.float64)) if len(value) else np.empty(0)
    out.bets, out.profit = len(value), float(profit.sum())
    curve = pd.Series(np.cumsum(profit), dtype="float64")
    out.equity_png = png_data_uri(equity_curve_png({"value bets, 1 unit at the opening price": curve},
                                                   title="Equity of the value bets"))
    return out


def rating_history_png(history: pd.DataFrame, team: str) -> bytes:
    """Elo after each match (left axis) and the pi-ratings (right axis), as PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax = fig.subplots()
    if not history.empty:
        d = pd.to_datetime(history["date"])
        ax.plot(d, history["elo"], lw=1.4, color="tab:blue", label="Elo")
        ax2 = ax.twinx()
        ax2.plot(d, history["pi_home"], lw=1, color="tab:green", alpha=0.7, label="pi home")
        ax2.plot(d, history["pi_away"], lw=1, color="tab:orange", alpha=0.7, label="pi away")
        ax2.set_ylabel("pi-rating")
        ax2.legend(loc="lower right", fontsize=8)
    ax.set_ylabel("Elo")
    ax.set_title(f"{team}: ratings after each match")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def team_history(warehouse: Warehouse, league: str, team: str, params: FeatureParams) -> pd.DataFrame:
    """The team's ratings after each of its stored matches in ``league`` (oldest first)."""
    return rating_history(warehouse.read_matches(leagues=[league]), league, team, params)
