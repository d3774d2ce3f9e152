"""Evaluation assets of an evaluated season S (partitioned like ``trained_model``):

* ``model_evaluation`` — 1X2 metrics of each variant against every baseline, per league, and the
  per-market scores (totals 2.5, Asian handicap, BTTS, correct score) against the market and the
  Dixon–Coles baseline, with reliability plots, in the Dagster metadata and the variant's MLflow run;
* ``betting_report`` — the value-betting backtest of each variant on S (thresholds from the season
  before S), per market, league and season, flat and Kelly, with the equity curve.
"""

import base64
import io
import json

import dagster as dg
import pandas as pd

from soccer_assets.core.names import VARIANTS

# Assets of other modules by module attribute: importing the object would make the defs loader
# find it twice.
from soccer_assets.defs import automation, modeling
from soccer_assets.defs.modeling import METRICS
from soccer_assets.defs.partitions import SEASONS
from soccer_assets.defs.resources import LakeResource, MlflowResource
from soccer_assets.storage.lake import parquet_bytes

# Derived code version (ADR 0014).
CODE_VERSION = automation.code_version(__name__, "soccer_assets.modeling")

MARKET_METRICS = ("log_loss", "brier")
MARKETS_SCORED = ("totals_2.5", "asian_handicap", "btts", "correct_score")


def metrics_table(report: dict) -> pd.DataFrame:
    """Per-league (and overall) metrics of the model and every baseline, one row each."""
    rows = []
    scopes = [("ALL", report["overall"]), *report["by_league"].items()]
    for league, by_name in scopes:
        for name, scores in by_name.items():
            rows.append({"league": league, "forecaster": name, **{m: scores.get(m) for m in METRICS}})
    return pd.DataFrame(rows)


def markets_table(report: dict) -> pd.DataFrame:
    """One row per (market, forecaster) of the report's ``markets`` object: n, log loss, Brier."""
    rows = []
    for market in MARKETS_SCORED:
        for name, scores in report.get("markets", {}).get(market, {}).items():
            rows.append({"market": market, "forecaster": name, "n": scores.get("n"),
                         **{m: scores.get(m) for m in MARKET_METRICS}})
    return pd.DataFrame(rows, columns=["market", "forecaster", "n", *MARKET_METRICS])


def _image_md(png: bytes, alt: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def _png_image(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png))


def _season_of(context: dg.AssetExecutionContext) -> str:
    return str(context.partition_key)


@dg.asset(
    partitions_def=SEASONS,
    group_name="modeling",
    deps=[modeling.trained_model],
    kinds={"mlflow"},
    code_version=CODE_VERSION,
    description="The season's out-of-sample metrics of each model against climatology, the Elo "
    "baseline and the de-margined market odds, per league, and per market (totals 2.5, Asian "
    "handicap, BTTS, correct score) against the market and a weekly-refitted Dixon-Coles model, "
    "with reliability plots.",
)
def model_evaluation(
    context: dg.AssetExecutionContext, lake: LakeResource, mlflow_store: MlflowResource
) -> dg.MaterializeResult:
    from soccer_assets.modeling.evaluate import BASELINES, reliability_plot_png
    from soccer_assets.modeling.market_eval import market_reliability_png

    season = _season_of(context)
    store = lake.get()
    mlflow_store.activate()
    client = mlflow_store.client()
    metadata: dict[str, object] = {}
    for variant in VARIANTS:
        report = json.loads(store.read_file("trained_model", season, f"{variant}/report.json"))
        run_id = store.read_file("trained_model", season, f"{variant}/mlflow_run_id").decode()
        table = metrics_table(report)
        png = reliability_plot_png(report["reliability"], f"{variant} model, {season}")
        store.write_file("model_evaluation", season, f"{variant}_metrics.parquet", parquet_bytes(table))
        store.write_file("model_evaluation", season, f"{variant}_reliability.png", png)
        for name, scores in report["overall"].items():
            for m in METRICS[1:]:
                if scores.get(m) is not None:
                    client.log_metric(run_id, f"test_{name}_{m}", float(scores[m]))
        client.log_image(run_id, _png_image(png), f"reliability_{variant}_{season}.png")
        client.log_dict(run_id, report, f"evaluation_{season}.json")
        overall = report["overall"]
        metadata[f"{variant}_rps"] = overall["model"]["rps"]
        metadata[f"{variant}_table"] = dg.MetadataValue.md(table.round(4).to_markdown(index=False))
        metadata[f"{variant}_reliability"] = _image_md(png, "reliability")
        metadata[f"{variant}_mlflow_run"] = run_id
        if "markets" in report:
            markets = markets_table(report)
            store.write_file("model_evaluation", season, f"{variant}_markets.parquet", parquet_bytes(markets))
            for row in markets.itertuples(index=False):
                for m in MARKET_METRICS:
                    value = getattr(row, m)
                    if value is not None and pd.notna(value):
                        client.log_metric(run_id, f"test_{row.market}_{row.forecaster}_{m}", float(value))
            client.log_metric(run_id, "test_grid_1x2_max_abs_diff",
                              float(report["markets"]["grid_1x2_max_abs_diff"]))
            mpng = market_reliability_png(report["markets"]["reliability"], f"{variant} markets, {season}")
            store.write_file("model_evaluation", season, f"{variant}_markets_reliability.png", mpng)
            client.log_image(run_id, _png_image(mpng), f"markets_reliability_{variant}_{season}.png")
            metadata[f"{variant}_markets_table"] = dg.MetadataValue.md(
                markets.round(4).to_markdown(index=False))
            metadata[f"{variant}_markets_reliability"] = _image_md(mpng, "market reliability")
            metadata[f"{variant}_grid_1x2_max_abs_diff"] = float(report["markets"]["grid_1x2_max_abs_diff"])
    metadata["baselines_rps"] = dg.MetadataValue.json(
        {b: report["overall"][b].get("rps") for b in BASELINES}
    )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=SEASONS,
    group_name="modeling",
    deps=[modeling.trained_model],
    kinds={"mlflow"},
    code_version=CODE_VERSION,
    description="Value bets of each model on the season where its edge over the best opening price "
    "beats a threshold chosen on the season before; flat and quarter-Kelly stakes settled at that "
    "price; ROI with a bootstrap interval, drawdown and closing-line value per market, league and "
    "season, and the equity curve.",
)
def betting_report(
    context: dg.AssetExecutionContext, lake: LakeResource, mlflow_store: MlflowResource
) -> dg.MaterializeResult:
    from soccer_assets.modeling.betting import equity_curve_png
    from soccer_assets.modeling.market_eval import betting_report as run_betting

    season = _season_of(context)
    store = lake.get()
    mlflow_store.activate()
    client = mlflow_store.client()
    metadata: dict[str, object] = {}
    for variant in VARIANTS:
        candidates = pd.read_parquet(io.BytesIO(
            store.read_file("trained_model", season, f"{variant}/candidates.parquet")))
        run_id = store.read_file("trained_model", season, f"{variant}/mlflow_run_id").decode()
        summary, reports = run_betting(candidates, season)
        for staking, rep in reports.items():
            store.write_file("betting_report", season, f"{variant}_{staking}_table.parquet",
                             parquet_bytes(rep.table))
            store.write_file("betting_report", season, f"{variant}_{staking}_bets.parquet",
                             parquet_bytes(rep.bets))
        flat = reports["flat"]
        curves = {"all markets": flat.equity,
                  **{m: g["profit"].cumsum() for m, g in flat.bets.groupby("market")}}
        png = equity_curve_png(curves, f"{variant} value bets, {season} (flat stakes)")
        store.write_file("betting_report", season, f"{variant}_equity.png", png)
        client.log_image(run_id, _png_image(png), f"equity_{variant}_{season}.png")
        client.log_dict(run_id, summary, f"betting_{season}.json")
        for market, entry in summary.items():
            for key in ("n_bets", "roi", "profit", "max_drawdown", "clv_mean", "clv_beat_rate"):
                if entry.get(key) is not None:
                    client.log_metric(run_id, f"bet_{market}_{key}", float(entry[key]))
        shown = flat.table[flat.table["level"].isin(["overall", "market", "league"])]
        metadata[f"{variant}_table"] = dg.MetadataValue.md(shown.round(4).to_markdown(index=False))
        metadata[f"{variant}_kelly_table"] = dg.MetadataValue.md(
            reports["kelly"].table[reports["kelly"].table["level"].isin(["overall", "market"])]
            .round(4).to_markdown(index=False))
        metadata[f"{variant}_equity_curve"] = _image_md(png, "equity curve")
        metadata[f"{variant}_summary"] = dg.MetadataValue.json(summary)
    return dg.MaterializeResult(metadata=metadata)
