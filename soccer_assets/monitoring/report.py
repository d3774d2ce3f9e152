"""Presentation of the live figures (pure): markdown tables, the live-RPS plot, flat gauge rows.

:func:`gauge_rows` flattens the figures into ``(metric, labels, value)`` rows for the
``live_monitoring`` warehouse table; the API's Prometheus collector exposes each metric as the
gauge ``soccer_live_<metric>`` with those labels (see ``soccer_serving.metrics``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from soccer_assets.modeling.metrics import OUTCOME_LABELS

TABLE_COLUMNS = ["model_name", "model_version", "n", "rps", "log_loss", "brier", "accuracy", "ece",
                 "market_n", "market_rps", "rps_vs_market", "clv_bets", "clv_mean", "clv_beat_rate"]


def markdown(df: pd.DataFrame, digits: int = 4) -> str:
    if df.empty:
        return "_no rows_"
    return df.round(digits).to_markdown(index=False)


def league_tables(by_version_league: pd.DataFrame) -> dict[str, str]:
    """One markdown table per league: every model version's live metrics and the market's."""
    out: dict[str, str] = {}
    if by_version_league.empty:
        return out
    for league, part in by_version_league.groupby("league", sort=True):
        cols = [c for c in TABLE_COLUMNS if c in part.columns]
        out[str(league)] = markdown(part[cols].reset_index(drop=True))
    return out


def live_rps_plot_png(
    weekly: pd.DataFrame, references: Mapping[str, float], title: str = "Live RPS by week"
) -> bytes:
    """Weekly live RPS of every model version (and of the market on the same matches) as PNG.

    ``weekly``: rows of ``model_name, model_version, week_start, n, rps, market_rps``;
    ``references``: a horizontal line per label (e.g. a version's training RPS). Writes no file.
    """
    # The object-oriented Figure renders through Agg without touching pyplot's global state
    # (safe in a Dagster run worker thread), as ``modeling.evaluate.reliability_plot_png`` does.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100)
    ax = fig.subplots()
    if not weekly.empty:
        for (name, version), part in weekly.groupby(["model_name", "model_version"], sort=True):
            part = part.sort_values("week_start")
            ax.plot(pd.to_datetime(part["week_start"]), part["rps"], marker="o", ms=3, lw=1.2,
                    label=f"{name} v{version}")
        market = weekly.dropna(subset=["market_rps"]).groupby("week_start")["market_rps"].mean()
        if len(market):
            ax.plot(pd.to_datetime(market.index), market.to_numpy(), color="0.4", ls=":", lw=1.2,
                    label="market (same matches)")
    for label, value in references.items():
        if value is not None and math.isfinite(value):
            ax.axhline(value, ls="--", lw=1, color="tab:red", alpha=0.6)
            ax.annotate(label, (0.005, value), xycoords=("axes fraction", "data"), fontsize=7,
                        color="tab:red", va="bottom")
    ax.set_ylabel("RPS (lower is better)")
    ax.set_xlabel("week of the match")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _row(metric: str, labels: Mapping[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    return {"metric": metric, "labels": {k: str(x) for k, x in labels.items()}, "value": v}


def gauge_rows(
    by_version_league: pd.DataFrame,
    rps_table: pd.DataFrame,
    feature_table: pd.DataFrame,
    prediction_drift: Mapping[tuple[str, str], Mapping[str, Any]],
    checks: Mapping[str, bool],
    counts: Mapping[str, int],
    *,
    window_label: str,
    clv_table: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Flat ``{"metric", "labels", "value"}`` rows of every live figure (non-finite ones left out).

    ``clv_table``: ``monitoring.clv.clv_table`` rows, exported as ``clv_bets``, ``clv_mean`` and
    ``clv_beat_rate`` with labels ``model``, ``version``, ``league`` (``ALL`` too) and ``pick``.
    """
    rows: list[dict[str, Any] | None] = []
    for r in by_version_league.to_dict("records"):
        labels = {"model": r["model_name"], "version": r["model_version"], "league": r["league"],
                  "window": "all"}
        rows += [
            _row("scored_matches", labels, r["n"]),
            _row("rps", labels, r["rps"]),
            _row("log_loss", labels, r["log_loss"]),
            _row("brier", labels, r["brier"]),
            _row("accuracy", labels, r["accuracy"]),
            _row("ece", labels, r["ece"]),
            _row("market_rps", labels, r.get("market_rps")),
            _row("rps_vs_market", labels, r.get("rps_vs_market")),
        ]
    for r in rps_table.to_dict("records"):
        labels = {"model": r["model_name"], "version": r["model_version"], "league": "ALL",
                  "window": window_label}
        rows += [_row("rps", labels, r["live_rps"]), _row("scored_matches", labels, r["n_window"])]
        rows.append(_row("reference_rps", {"model": r["model_name"], "version": r["model_version"]},
                         r["reference_rps"]))
    for r in feature_table.to_dict("records"):
        rows += [_row("feature_psi", {"feature": r["feature"]}, r["psi"]),
                 _row("feature_ks_statistic", {"feature": r["feature"]}, r["ks_statistic"])]
    for (name, version), d in sorted(prediction_drift.items()):
        base = {"model": name, "version": version}
        rows.append(_row("prediction_share_psi", base, d["share_psi"]))
        for population in ("reference", "recent"):
            shares = d[f"share_{population}"]
            for o in OUTCOME_LABELS:
                rows.append(_row("prediction_share", {**base, "outcome": o, "population": population},
                                 shares[o]))  # type: ignore[index]
    for r in (clv_table.to_dict("records") if clv_table is not None else []):
        labels = {"model": r["model_name"], "version": r["model_version"], "league": r["league"],
                  "pick": r["pick"]}
        rows += [_row(m, labels, r[m]) for m in ("clv_bets", "clv_mean", "clv_beat_rate")]
    for check, passed in checks.items():
        rows.append(_row("check_passed", {"check": check}, 1.0 if passed else 0.0))
    for what, n in counts.items():
        rows.append(_row("logged_predictions", {"status": what}, n))
    return [r for r in rows if r is not None]
