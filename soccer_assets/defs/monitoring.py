"""Live model monitoring: the ``live_monitoring`` asset, its two WARN checks and the retraining sensor.

The asset reads the served-prediction log and the results from the warehouse, the champion's
training features from the lake and the models' recorded training evaluation from the MLflow
registry; the figures themselves (scores, closing-line value, drift) come from the pure
``soccer_assets.monitoring`` package. It writes
the flat figures to the warehouse table ``live_monitoring`` (the API's ``/metrics`` exposes them as
``soccer_live_*`` gauges), the scored predictions and the per version × league × week table to the
lake, and tables and plots to the materialization metadata.

``retrain_on_monitoring_failure`` requests a ``train_champion`` run when the latest evaluation of a
monitoring check failed, once per failed evaluation.
"""


import base64
import math
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from soccer_assets.core.names import CHAMPION_ALIAS
from soccer_assets.core.seasons import season_from_start_year, season_key, season_of_date, season_start_year
from soccer_assets.defs import automation, ingestion, jobs
from soccer_assets.defs.resources import LakeResource, MlflowResource, WarehouseResource
from soccer_assets.monitoring import alerts, clv, drift, live, report
from soccer_assets.storage import prediction_log
from soccer_assets.storage.lake import parquet_bytes

# Derived code version (ADR 0014): the pure monitoring modules used here and this wiring.
CODE_VERSION = automation.code_version(
    __name__, *(f"soccer_assets.monitoring.{m}" for m in ("alerts", "clv", "drift", "live", "report"))
)

ASSET_KEY = dg.AssetKey("live_monitoring")
RPS_CHECK = "live_rps_vs_training"
DRIFT_CHECK = "drift_within_threshold"
CHECK_KEYS = (dg.AssetCheckKey(ASSET_KEY, RPS_CHECK), dg.AssetCheckKey(ASSET_KEY, DRIFT_CHECK))
LOG_READ_COLUMNS = [*live.LOG_COLUMNS, *clv.REQUEST_COLUMNS, "source", "features"]
LAKE_FOLDER = "latest"  # lake/live_monitoring/latest/...: only the latest figures are kept


class MonitoringConfig(dg.Config):
    """Windows and thresholds of the live monitoring and of its checks."""

    # live_rps_vs_training: each model version's latest N scored predictions…
    last_n_matches: int = 100
    # …judged once it has at least this many…
    min_matches: int = 30
    # …fail when their RPS exceeds the version's training evaluation by more than this.
    rps_margin: float = 0.02
    # Reference RPS for every version instead of the registry's ``gate_rps`` tag (None: the tag).
    reference_rps: float | None = None
    # drift_within_threshold: fail when a feature's or the predicted-outcome shares' PSI exceeds this.
    psi_threshold: float = 0.25
    psi_bins: int = 10
    # Recent requests = the latest N logged predictions that carry features…
    drift_window: int = 500
    # …a feature (or a model version) with fewer recent values is reported, not judged.
    min_drift_rows: int = 50
    # Training distribution = match_features of this many seasons up to the champion's
    # ``trained_through`` season (the most recent training data).
    reference_seasons: int = 3
    # Compare like with like: only reference rows whose value of this season-progress feature lies
    # within the recent requests' range (season-progress and form features move within every
    # season, so mid-season requests always differ from whole seasons). None: whole seasons.
    season_stage_feature: str | None = "home_season_matches"
    # Market reference scored on the same matches (``modeling.baselines.MARKET_BASELINES``).
    market_baseline: str = "pinnacle_close"
    # Score the latest logged prediction per match and model version, not every repeat request.
    one_prediction_per_match: bool = True
    # Registry alias whose ``trained_through`` tag dates the training distribution.
    model_alias: str = CHAMPION_ALIAS


# --------------------------------------------------------------------------------------- IO


def _log_frame(engine: Any) -> pd.DataFrame:
    rows = prediction_log.read_prediction_log_rows(engine, columns=LOG_READ_COLUMNS)
    return pd.DataFrame(rows, columns=LOG_READ_COLUMNS)


VersionKey = tuple[str, str]


def _registry_info(mlflow_store: MlflowResource, served: list[VersionKey], alias: str,
                   log: dg.DagsterLogManager) -> tuple[dict[VersionKey, dict[str, str]], dict[str, dict]]:
    """Tags of every served version, and of each served model name's ``alias`` version."""
    from mlflow.exceptions import MlflowException

    client = mlflow_store.client()
    versions: dict[tuple[str, str], dict[str, str]] = {}
    for name, version in served:
        try:
            versions[(name, version)] = dict(client.get_model_version(name, version).tags)
        except MlflowException as exc:
            log.warning(f"registry has no {name} v{version}: {exc}")
            versions[(name, version)] = {}
    aliased: dict[str, dict] = {}
    for name in sorted({n for n, _ in served}):
        try:
            mv = client.get_model_version_by_alias(name, alias)
            aliased[name] = {"version": str(mv.version), "tags": dict(mv.tags)}
        except MlflowException:
            continue
    return versions, aliased


def _reference_rps(tags: dict[str, str], override: float | None) -> float | None:
    if override is not None:
        return float(override)
    value = tags.get("gate_rps")
    try:
        out = float(value) if value is not None else None
    except ValueError:
        return None
    return out if out is not None and math.isfinite(out) else None


def _reference_seasons(aliased: dict[str, dict], recent: pd.DataFrame, n: int) -> tuple[list[str], str]:
    """The training seasons of the reference distribution and where the bound came from."""
    through = [a["tags"]["trained_through"] for a in aliased.values() if a["tags"].get("trained_through")]
    if through:
        last, source = max(through, key=season_key), "registry tag trained_through"
    else:
        # No tag (a model registered outside ``champion_model``): the season before the first request.
        first = pd.to_datetime(recent["kickoff"]).min().date()
        last = season_from_start_year(season_start_year(season_of_date(first)) - 1)
        source = "season before the first request (no trained_through tag)"
    end = season_start_year(last)
    return [season_from_start_year(y) for y in range(end - n + 1, end + 1)], source


def _reference_features(lake: LakeResource, leagues: list[str], seasons: list[str]) -> pd.DataFrame:
    store = lake.get()
    parts = [store.read_table("match_features", lg, s) for lg in leagues for s in seasons
             if store.has_table("match_features", lg, s)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _recent_features(log_df: pd.DataFrame, window: int) -> tuple[pd.DataFrame, list[str]]:
    """The latest ``window`` logged requests that carry features, features as columns; their names."""
    with_features = log_df[log_df["features"].map(lambda f: isinstance(f, dict) and bool(f))]
    recent = with_features.sort_values("id").tail(window).reset_index(drop=True)
    feats = pd.DataFrame(list(recent["features"]), index=recent.index, dtype="float64")
    names = list(feats.columns)
    feats.columns = [f"feature:{c}" for c in names]  # never clash with a log column
    return pd.concat([recent.drop(columns=["features"]), feats], axis=1), names


def _same_stage(config: MonitoringConfig, recent: pd.DataFrame, reference: pd.DataFrame,
                notes: list[str]) -> pd.DataFrame:
    """The reference at the recent requests' stage of the season (``drift.stage_reference``)."""
    clock = config.season_stage_feature
    if not clock:
        notes.append("reference: whole seasons (season_stage_feature is off)")
        return reference
    reference, note = drift.stage_reference(reference, recent.get(f"feature:{clock}"), clock,
                                            config.min_drift_rows)
    notes.append(note)
    return reference


def _drift(
    mlflow_store: MlflowResource,
    config: MonitoringConfig,
    recent: pd.DataFrame,
    feature_names: list[str],
    reference: pd.DataFrame,
    notes: list[str],
) -> tuple[pd.DataFrame, dict[VersionKey, dict[str, Any]]]:
    """Feature drift over the features the served versions use, and each version's prediction drift.

    A request's feature counts only for the features its model version reads (a ratings model's
    requests say nothing about market features it ignores). Each version is loaded from the
    registry once: its feature list, and its forecasts on the reference rows (the predicted-outcome
    shares it had on training data) for the prediction drift.
    """
    from soccer_assets.features.state import MARKET_PROB_FEATURES
    from soccer_assets.modeling.train import predict_proba
    from soccer_assets.storage import model_store

    mlflow_store.activate()
    names = [f for f in feature_names if f in reference.columns]
    values = recent[[f"feature:{f}" for f in names]].set_axis(names, axis=1).copy()
    predictions: dict[VersionKey, dict[str, Any]] = {}
    for (name, version), part in recent.groupby(live.MODEL_KEYS, sort=True):
        key = (str(name), str(version))
        try:
            model = model_store.load_outcome_model(f"models:/{name}/{version}")
        except Exception as exc:  # a version that cannot be loaded is reported, not fatal
            notes.append(f"{name} v{version}: model not loadable ({type(exc).__name__}); "
                         "all its logged features are compared")
            continue
        unused = [f for f in names if f not in model.features]
        values.loc[part.index, unused] = np.nan
        if len(part) < config.min_drift_rows:
            notes.append(f"{name} v{version}: {len(part)} recent predictions, prediction drift not judged")
            continue
        rows = reference
        if model.variant == "market":  # the API sends only requests with odds to the market model
            rows = reference[np.all(np.isfinite(reference[MARKET_PROB_FEATURES].to_numpy(float)), axis=1)]
        if len(rows):
            predictions[key] = drift.prediction_drift(
                predict_proba(model, rows), part[live.PROB_COLUMNS].to_numpy(dtype=np.float64))
    used = [f for f in names if values[f].notna().any()]
    table = drift.feature_drift(reference, values, used, bins=config.psi_bins, min_rows=config.min_drift_rows)
    return table, predictions


# ------------------------------------------------------------------------------------ asset


def _png_md(png: bytes, alt: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


@dg.asset(
    group_name="monitoring",
    deps=[
        dg.AssetDep(ingestion.matches, partition_mapping=dg.AllPartitionMapping()),
        dg.AssetKey("champion_model"),
    ],
    kinds={"sql", "mlflow"},
    code_version=CODE_VERSION,
    # Re-score when new results are ingested (or a new champion is trained).
    automation_condition=(
        dg.AutomationCondition.any_deps_updated().since_last_handled() & ~dg.AutomationCondition.in_progress()
    ),
    check_specs=[
        dg.AssetCheckSpec(RPS_CHECK, asset=ASSET_KEY, description=(
            "Each served model version's RPS over its latest N scored predictions is not worse than "
            "its training evaluation (registry tag gate_rps) by more than the configured margin.")),
        dg.AssetCheckSpec(DRIFT_CHECK, asset=ASSET_KEY, description=(
            "No feature of recent requests and no model version's predicted-outcome shares drift from "
            "the champion's training distribution by a PSI above the configured threshold.")),
    ],
    description="Every served prediction (prediction_log: API, batch and job predictions) scored "
    "against the real result: RPS, log loss, Brier, accuracy and calibration per model version, "
    "league and week next to the de-margined market on the same matches; closing-line value of each "
    "version's value picks per league; feature and prediction drift against the champion's training "
    "distribution.",
)
def live_monitoring(
    context: dg.AssetExecutionContext,
    config: MonitoringConfig,
    warehouse: WarehouseResource,
    lake: LakeResource,
    mlflow_store: MlflowResource,
) -> dg.MaterializeResult:
    wh = warehouse.get()
    prediction_log.create_schema(wh.engine)
    log_df = _log_frame(wh.engine)
    if log_df.empty:
        prediction_log.replace_live_monitoring(wh.engine, [], context.run_id)
        nothing = "no prediction is logged yet: nothing to judge"
        return dg.MaterializeResult(
            metadata={"logged_predictions": 0},
            check_results=[dg.AssetCheckResult(check_name=c, passed=True, description=nothing,
                                               severity=dg.AssetCheckSeverity.WARN)
                           for c in (RPS_CHECK, DRIFT_CHECK)],
        )
    log_df["model_version"] = log_df["model_version"].astype(str)
    results = wh.read_matches(leagues=sorted(set(log_df["league"])), seasons=sorted(set(log_df["season"])))
    if results.empty:
        results = pd.DataFrame(columns=live.MATCH_COLUMNS)
    scores = live.join_outcomes(log_df, results, market_baseline=config.market_baseline,
                                one_per_match=config.one_prediction_per_match)
    scored = scores.scored
    picks = clv.value_picks(scored, log_df, results)  # value picks and their closing-line value
    clv_table = clv.clv_table(scored, picks)

    recent, feature_names = _recent_features(log_df, config.drift_window)
    served_all = sorted({(str(n), str(v)) for n, v in log_df[live.MODEL_KEYS].itertuples(index=False)})
    version_tags, aliased = _registry_info(mlflow_store, served_all, config.model_alias, context.log)
    references = {k: _reference_rps(t, config.reference_rps) for k, t in version_tags.items()}

    # ---- live scores -----------------------------------------------------------------------
    by_vl = live.aggregate(scored, [*live.MODEL_KEYS, "league"])
    by_vlw = live.aggregate(scored, [*live.MODEL_KEYS, "league", "week", "week_start"])
    weekly = live.aggregate(scored, [*live.MODEL_KEYS, "week_start"])
    rps_passed, rps_table = alerts.rps_verdict(
        scored, references, last_n_matches=config.last_n_matches, margin=config.rps_margin,
        min_matches=config.min_matches,
    )

    # ---- drift -------------------------------------------------------------------------------
    drift_notes: list[str] = []
    feature_table = pd.DataFrame(columns=["feature", "psi", "ks_statistic", "judged"])
    prediction_drift: dict[tuple[str, str], dict[str, Any]] = {}
    ref_seasons: list[str] = []
    if recent.empty:
        drift_notes.append("no logged request carries features")
    else:
        ref_seasons, ref_source = _reference_seasons(aliased, recent, config.reference_seasons)
        reference = _reference_features(lake, sorted(set(recent["league"])), ref_seasons)
        drift_notes.append(f"reference: match_features of {', '.join(sorted(set(recent['league'])))} "
                           f"for {ref_seasons[0]}…{ref_seasons[-1]} ({ref_source}); "
                           f"recent: the latest {len(recent)} logged requests")
        if reference.empty:
            drift_notes.append("the lake holds no match_features for those seasons: drift not computed")
        else:
            reference = _same_stage(config, recent, reference, drift_notes)
            feature_table, prediction_drift = _drift(mlflow_store, config, recent, feature_names,
                                                     reference, drift_notes)
    drift_passed, breaches = alerts.drift_verdict(feature_table, prediction_drift,
                                                  psi_threshold=config.psi_threshold)

    # ---- outputs -----------------------------------------------------------------------------
    window_label = f"last_{config.last_n_matches}"
    checks = {RPS_CHECK: rps_passed, DRIFT_CHECK: drift_passed}
    rows = report.gauge_rows(by_vl, rps_table, feature_table, prediction_drift, checks, scores.counts,
                             window_label=window_label, clv_table=clv_table)
    prediction_log.replace_live_monitoring(wh.engine, rows, context.run_id)
    store = lake.get()
    paths = {
        "scored": store.write_file("live_monitoring", LAKE_FOLDER, "scored_predictions.parquet",
                                   parquet_bytes(scored.drop(columns=["kickoff"], errors="ignore"))),
        "by_version_league_week": store.write_file("live_monitoring", LAKE_FOLDER,
                                                   "by_version_league_week.parquet", parquet_bytes(by_vlw)),
        "value_picks": store.write_file("live_monitoring", LAKE_FOLDER, "value_picks.parquet",
                                        parquet_bytes(picks)),
    }

    scored_versions = {(str(n), str(v)) for n, v in by_vl[live.MODEL_KEYS].itertuples(index=False)}
    refs_for_plot = {f"{n} v{v} training RPS": r for (n, v), r in references.items()
                     if r is not None and (n, v) in scored_versions}
    metadata: dict[str, Any] = {
        "logged_predictions": dg.MetadataValue.json(scores.counts),
        "scored_predictions": len(scored),
        "live_rps_by_version": dg.MetadataValue.json(
            {f"{r['model_name']} v{r['model_version']}": r["rps"]
             for r in live.aggregate(scored, live.MODEL_KEYS).to_dict("records")}),
        "live_rps_overall": float(live.score_frame(scored)["rps"]) if len(scored) else float("nan"),
        "market_baseline": config.market_baseline,
        f"rps_{window_label}": dg.MetadataValue.md(report.markdown(rps_table)),
        "by_source": dg.MetadataValue.json(log_df["source"].value_counts().to_dict()),
        "weekly": dg.MetadataValue.md(report.markdown(weekly)),
        "feature_drift": dg.MetadataValue.md(report.markdown(
            feature_table.sort_values("psi", ascending=False) if len(feature_table) else feature_table)),
        "prediction_drift": dg.MetadataValue.json(
            {f"{n} v{v}": d for (n, v), d in sorted(prediction_drift.items())}),
        "drift_notes": dg.MetadataValue.md("\n".join(f"* {n}" for n in drift_notes) or "_none_"),
        "live_clv": dg.MetadataValue.md(report.markdown(clv_table)),
        "live_clv_by_version": dg.MetadataValue.json(clv.summary_by_version(clv_table)),
        "gauges_written": len(rows),
        **{f"path_{k}": dg.MetadataValue.path(str(p)) for k, p in paths.items()},
    }
    for league, md in report.league_tables(clv.with_clv(by_vl, clv_table)).items():
        metadata[f"league_{league}"] = dg.MetadataValue.md(md)
    if len(scored):
        metadata["live_rps_plot"] = _png_md(
            report.live_rps_plot_png(weekly, refs_for_plot, "Live RPS by week (served predictions)"),
            "live RPS")
        from soccer_assets.modeling.evaluate import reliability_plot_png

        rel = {f"{n} v{v}": live.reliability(part) for (n, v), part in scored.groupby(live.MODEL_KEYS)}
        metadata["reliability_plot"] = _png_md(reliability_plot_png(rel, "Live calibration"), "reliability")

    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=RPS_CHECK, passed=rps_passed, severity=dg.AssetCheckSeverity.WARN,
                description=alerts.rps_description(rps_table, config.rps_margin),
                metadata={"versions": dg.MetadataValue.md(report.markdown(rps_table)),
                          "window": config.last_n_matches, "margin": config.rps_margin},
            ),
            dg.AssetCheckResult(
                check_name=DRIFT_CHECK, passed=drift_passed, severity=dg.AssetCheckSeverity.WARN,
                description=alerts.drift_description(breaches, config.psi_threshold),
                metadata={"breaches": dg.MetadataValue.json(breaches), "threshold": config.psi_threshold,
                          "reference_seasons": dg.MetadataValue.json(ref_seasons)},
            ),
        ],
    )


# ----------------------------------------------------------------------------------- sensor


def build_retrain_sensor(
    retrain_on: tuple[str, ...] = (RPS_CHECK,),
    name: str = "retrain_on_monitoring_failure",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor requesting ``train_champion`` when the latest evaluation of a check in ``retrain_on``
    failed (any severity); once per failed evaluation (the cursor is the newest record id seen).

    By default only the performance check retrains: feature drift with live RPS still within its
    margin is a warning for a person (on the 2023-24 replay, form and season-progress features
    drift past PSI 0.25 while the model scores as in training), not a reason to retrain.
    """
    keys = [dg.AssetCheckKey(ASSET_KEY, c) for c in retrain_on]
    unknown = set(retrain_on) - {RPS_CHECK, DRIFT_CHECK}
    if unknown:
        raise ValueError(f"unknown monitoring checks {sorted(unknown)}")

    @dg.sensor(
        name=name,
        job=jobs.champion_job,
        minimum_interval_seconds=300,
        default_status=default_status,
        description=f"Requests a train_champion run when the latest evaluation of {', '.join(retrain_on)} "
        "failed; once per failed evaluation.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen = int(context.cursor or 0)
        latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
        new = [rec for rec in latest.values() if rec.id > seen]
        cursor = str(max([seen, *(rec.id for rec in new)]))
        # Status FAILED = the check ran and did not pass (an explicit fail result, WARN or ERROR).
        failed = sorted((rec for rec in new if rec.status.value == "FAILED"), key=lambda r: r.id)
        if not failed:
            return dg.SensorResult(skip_reason=dg.SkipReason("no new failed live-monitoring check"),
                                   cursor=cursor)
        return dg.SensorResult(
            run_requests=[dg.RunRequest(
                run_key=f"live-monitoring-failure-{failed[-1].id}",
                tags={"soccer/trigger": "live_monitoring",
                      "soccer/failed_checks": ",".join(rec.key.name for rec in failed),
                      "soccer/check_run_id": failed[-1].run_id},
            )],
            cursor=cursor,
        )

    return _sensor


retrain_on_monitoring_failure = build_retrain_sensor()
