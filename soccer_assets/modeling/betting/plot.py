"""Equity curves as a PNG, in memory (matplotlib's Agg canvas; no pyplot state, no files)."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd


def equity_curve_png(curves: Mapping[str, pd.DataFrame | pd.Series], title: str = "Equity curve") -> bytes:
    """PNG bytes of one line per named curve: cumulative profit (units) against bet number.

    A curve is an ``equity_curve`` frame (its ``cum_profit`` column) or a Series of cumulative
    profit. Empty curves draw nothing but still give a valid image.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, curve in curves.items():
        values = curve["cum_profit"] if isinstance(curve, pd.DataFrame) else curve
        y = [0.0, *pd.Series(values, dtype="float64").tolist()]
        ax.plot(range(len(y)), y, label=f"{name} ({len(y) - 1} bets)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("bets, in kick-off order")
    ax.set_ylabel("cumulative profit (units)")
    ax.set_title(title)
    if curves:
        ax.legend(loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
