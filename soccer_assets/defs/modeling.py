"""Modelling assets: walk-forward ``temporal_split`` → ``trained_model`` (partitioned by the evaluated
season; its evaluation and betting report are in ``defs/evaluation.py``) and the registered
``champion_model`` with its quality gate.
"""

import hashlib
import io
import json
import subprocess
import warnings
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from soccer_assets.core.gate import quality_gate
from soccer_assets.core.names import CHALLENGER_ALIAS, CHAMPION_ALIAS, REGISTERED_NAMES, VARIANTS
from soccer_assets.core.seasons import (
    LEAGUE_DIM,
    SEASON_DIM,
    current_season,
    season_from_start_year,
    season_key,
    season_start_year,
)
from soccer_assets.defs import automation, features, ingestion
from soccer_assets.defs.partitions import PARTITIONS, SEASONS
from soccer_assets.defs.resources import LakeResource, MlflowResource
from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.split import temporal_split as make_split
from soccer_assets.storage.lake import Lake, parquet_bytes

# Derived code version (ADR 0014): the modelling code and its wiring here.
CODE_VERSION = automation.code_version(__name__, "soccer_assets.modeling", "soccer_assets.core.gate")

# xgboost, scikit-learn and mlflow are imported inside the assets that use them: every Dagster
# run process and code server imports this module, and those imports cost seconds each.
ALL_UPSTREAM = [
    dg.AssetDep(features.match_features, partition_mapping=dg.AllPartitionMapping()),
    dg.AssetDep(ingestion.matches, partition_mapping=dg.AllPartitionMapping()),
]
# An evaluated season S reads every league's features and matches of S and the seasons before it.
# Dagster cannot map a multi-partitioned upstream onto "this and earlier" of a single dimension
# (ADR 0012), so the lineage names S's partitions of every league: they are downstream of every
# earlier season (match_features S depends on matches up to S), so a change to any season up to S
# still marks S stale, and a later season never does.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    SAME_SEASON = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=SEASON_DIM)
SEASON_UPSTREAM = [
    dg.AssetDep(features.match_features, partition_mapping=SAME_SEASON),
    dg.AssetDep(ingestion.matches, partition_mapping=SAME_SEASON),
]
METRICS = ["n", "rps", "log_loss", "brier", "accuracy", "ece"]


class ModelConfig(dg.Config):
    seed: int = 0
    # Fault injection for the quality gate's own test: train on shuffled outcomes, i.e. a model
    # that has learnt nothing, and watch the gate refuse it.
    shuffle_training_labels: bool = False
    # champion_model: the quality gate pools the out-of-sample forecasts of this many of the
    # latest completed seasons (each predicted by the recipe trained on the seasons before it).
    gate_seasons: int = 3
    # trained_model: also score the weekly-refitted Dixon-Coles baseline on the markets (about a
    # second per evaluated season on six leagues).
    dixon_coles_baseline: bool = True


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_frames(lake: Lake, up_to: str | None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Features and matches of every league for the seasons up to ``up_to`` (inclusive).

    Also returns the sha256 of every Parquet file read: the data versions of the inputs.
    """
    leagues = PARTITIONS.get_partitions_def_for_dimension(LEAGUE_DIM).get_partition_keys()
    seasons = PARTITIONS.get_partitions_def_for_dimension(SEASON_DIM).get_partition_keys()
    feats, games, versions = [], [], {}
    for season in seasons:
        if up_to is not None and season_key(season) > season_key(up_to):
            continue
        for league in leagues:
            if not lake.has_table("match_features", league, season):
                continue
            for asset, out in (("match_features", feats), ("matches", games)):
                path = lake.path(asset, league, season, "parquet")
                versions[f"{asset}/{league}/{season}"] = hashlib.sha256(path.read_bytes()).hexdigest()
                out.append(pd.read_parquet(path))
    if not feats:
        raise dg.Failure(description="no match_features are materialized yet", allow_retries=False)
    return pd.concat(feats, ignore_index=True), pd.concat(games, ignore_index=True), versions


def _inputs_digest(versions: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()


def _shuffled_before(matches_df: pd.DataFrame, season: str, seed: int) -> pd.DataFrame:
    """Outcomes of the seasons before ``season`` permuted; ``season`` itself keeps the truth."""
    out = matches_df.copy()
    early = (out["season"].map(season_key) < season_key(season)).to_numpy()
    out.loc[early, "ftr"] = np.random.default_rng(seed).permutation(out.loc[early, "ftr"].to_numpy())
    return out


def _season_of(context: dg.AssetExecutionContext) -> str:
    return str(context.partition_key)


@dg.asset(
    partitions_def=SEASONS,
    group_name="modeling",
    deps=SEASON_UPSTREAM,
    kinds={"parquet"},
    code_version=CODE_VERSION,
    description="Walk-forward split for an evaluated season S: training = matches before S, "
    "validation = the last training season, test = S.",
)
def temporal_split(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    from soccer_assets.modeling.evaluate import attach_labels

    season = _season_of(context)
    store = lake.get()
    feats, games, versions = load_frames(store, season)
    split = make_split(attach_labels(feats, games), season, validation_seasons=1)
    if split.test.empty:
        raise dg.Failure(description=f"no played matches of {season} to evaluate", allow_retries=False)
    manifest = pd.concat(
        [part[["match_id", "league", "season", "date"]].assign(set=name)
         for name, part in (("train", split.train), ("validation", split.validation), ("test", split.test))],
        ignore_index=True,
    )
    path = store.write_file("temporal_split", season, "split.parquet", parquet_bytes(manifest))
    return dg.MaterializeResult(
        metadata={
            "boundaries": dg.MetadataValue.json(split.boundaries),
            "rows": dg.MetadataValue.json(manifest["set"].value_counts().to_dict()),
            "inputs_sha256": _inputs_digest(versions),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset(
    partitions_def=SEASONS,
    group_name="modeling",
    deps=[temporal_split, *SEASON_UPSTREAM],
    kinds={"xgboost", "mlflow"},
    code_version=CODE_VERSION,
    description="XGBoost 1X2 and goal models (`ratings` and `market` variants) trained on the "
    "split's training rows with early stopping on its validation window, with the test season's "
    "score grids, market scores and betting candidates; one MLflow run per model.",
)
def trained_model(
    context: dg.AssetExecutionContext, config: ModelConfig, lake: LakeResource, mlflow_store: MlflowResource
) -> dg.MaterializeResult:
    import mlflow

    from soccer_assets.modeling.evaluate import run_backtest
    from soccer_assets.storage import model_store

    season = _season_of(context)
    store = lake.get()
    feats, games, versions = load_frames(store, season)
    manifest = pd.read_parquet(io.BytesIO(store.read_file("temporal_split", season, "split.parquet")))
    experiment_id = mlflow_store.activate()
    summary = {}
    dc = None
    if config.dixon_coles_baseline:
        from soccer_assets.modeling.goals.dixon_coles import weekly_dixon_coles

        dc = weekly_dixon_coles(games, season)
    for variant in VARIANTS:
        bt = run_backtest(feats, games, season, variant=variant, seed=config.seed, markets=True,
                          dixon_coles=dc)
        # The backtest splits with the same pure function; prove it saw the asset's split.
        test_ids = set(manifest.loc[manifest["set"] == "test", "match_id"])
        if set(bt.split.test["match_id"]) != test_ids:
            raise dg.Failure(description="the stored temporal_split differs from the data; "
                             "re-materialize temporal_split first")
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{variant}-{season}") as run:
            mlflow.set_tags({
                "dagster.run_id": context.run_id,
                "dagster.partition": season,
                "dagster.asset": "trained_model",
                "variant": variant,
                "test_season": season,
                "git_commit": git_commit(),
                "inputs_sha256": _inputs_digest(versions),
                **model_store.feature_params_tags(),
                **mlflow_store.run_tags(),
            })
            mlflow.log_params({f"train.{k}": v for k, v in bt.model.params.items() if k != "xgb"})
            mlflow.log_params({"seed": config.seed, "best_iteration": bt.model.best_iteration,
                               "n_features": len(bt.model.features)})
            mlflow.log_dict({"features": bt.model.features}, "features.json")
            mlflow.log_dict(versions, "input_data_versions.json")
            mlflow.log_metrics({f"validation_{k}": float(v) for k, v in bt.model.validation_metrics.items()
                                if isinstance(v, (int, float))})
            model_store.log_outcome_model(bt.model, bt.split.test)
            run_id = run.info.run_id
        folder = store.season_dir("trained_model", season) / variant
        model_store.save_trained(bt.model, folder)
        store.write_file("trained_model", season, f"{variant}/report.json",
                         json.dumps(bt.report, sort_keys=True).encode())
        store.write_file("trained_model", season, f"{variant}/predictions.parquet",
                         parquet_bytes(bt.predictions))
        assert bt.markets is not None
        store.write_file("trained_model", season, f"{variant}/candidates.parquet",
                         parquet_bytes(bt.markets.candidates))
        store.write_file("trained_model", season, f"{variant}/mlflow_run_id", run_id.encode())
        summary[variant] = {"mlflow_run_id": run_id, "best_iteration": bt.model.best_iteration,
                            "validation_rps": bt.model.validation_metrics.get("rps")}
    return dg.MaterializeResult(metadata={
        "models": dg.MetadataValue.json(summary),
        "mlflow_experiment_id": experiment_id,
        "inputs_sha256": _inputs_digest(versions),
    })


def last_completed_season(stored: list[str], today_season: str) -> str:
    completed = [s for s in stored if season_key(s) < season_key(today_season)]
    if not completed:
        raise dg.Failure(description="no completed season is materialized", allow_retries=False)
    return max(completed, key=season_key)


@dg.asset(
    group_name="modeling",
    deps=ALL_UPSTREAM,
    kinds={"xgboost", "mlflow"},
    code_version=CODE_VERSION,
    check_specs=[dg.AssetCheckSpec("quality_gate", asset="champion_model", blocking=True)],
    description="Models trained on every completed season, registered in MLflow as `challenger`; "
    "the blocking quality gate moves `champion` to them only if they beat climatology, the Elo "
    "baseline and the current champion out of sample.",
)
def champion_model(
    context: dg.AssetExecutionContext, config: ModelConfig, lake: LakeResource, mlflow_store: MlflowResource
) -> dg.MaterializeResult:
    import mlflow

    from soccer_assets.modeling.evaluate import attach_labels, run_backtest
    from soccer_assets.modeling.train import train_model
    from soccer_assets.storage import model_store

    store = lake.get()
    feats, games, versions = load_frames(store, None)
    stored = sorted(set(feats["season"]), key=season_key)
    holdout = last_completed_season(stored, current_season())
    feats = feats[feats["season"].map(season_key) <= season_key(holdout)]
    # Each gate season needs two earlier seasons (training + validation).
    gate_seasons = [s for s in stored if season_key(s) <= season_key(holdout)][2:]
    gate_seasons = gate_seasons[-config.gate_seasons:]
    if not gate_seasons:
        raise dg.Failure(description="the quality gate needs at least three completed seasons",
                         allow_retries=False)

    def training_games(season: str) -> pd.DataFrame:
        # Fault injection: every model learns from permuted outcomes of the seasons before the
        # one it is scored on, while the scored rows keep their true outcomes.
        return _shuffled_before(games, season, config.seed) if config.shuffle_training_labels else games

    experiment_id = mlflow_store.activate()
    client = mlflow_store.client()
    gate_rows: dict[str, object] = {}
    results = []
    for variant in VARIANTS:
        name = REGISTERED_NAMES[variant]
        # Out of sample: the same recipe trained before each gate season, scored on it, pooled.
        backtests = [run_backtest(feats, training_games(s), s, variant=variant, seed=config.seed)
                     for s in gate_seasons]
        pooled = pd.concat([bt.predictions for bt in backtests], ignore_index=True)
        y = pooled["y"].to_numpy()

        def pooled_rps(forecaster: str, pooled: pd.DataFrame = pooled, y: np.ndarray = y) -> float:
            return M.rps(pooled[[f"{forecaster}_p_{o}" for o in "hda"]].to_numpy(), y)

        challenger_rps = pooled_rps("model")
        rows_hash = hashlib.sha256("\n".join(sorted(pooled["match_id"])).encode()).hexdigest()
        champion_rps = _champion_rps(client, name, gate_seasons, rows_hash, backtests, y)
        # The registered model learns from every completed season, holdout included.
        after = season_from_start_year(season_start_year(holdout) + 1)
        split = make_split(attach_labels(feats, training_games(after)), after, validation_seasons=1)
        final = train_model(split.train, split.train["y"].to_numpy(), split.validation,
                            split.validation["y"].to_numpy(), variant=variant, seed=config.seed)
        gate = quality_gate(challenger_rps, pooled_rps("climatology"), pooled_rps("elo"), champion_rps)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{variant}-champion-candidate"):
            mlflow.set_tags({
                "dagster.run_id": context.run_id, "dagster.asset": "champion_model",
                "variant": variant, "trained_through": holdout, "git_commit": git_commit(),
                "inputs_sha256": _inputs_digest(versions),
                **model_store.feature_params_tags(),
                **mlflow_store.run_tags(),
            })
            mlflow.log_params({"seed": config.seed, "best_iteration": final.best_iteration,
                               "gate_seasons": ",".join(gate_seasons),
                               "shuffled_labels": config.shuffle_training_labels})
            mlflow.log_metrics({f"gate_{k}": float(v) for k, v in gate.numbers.items()
                                if isinstance(v, float)})
            mlflow.log_dict(versions, "input_data_versions.json")
            info = model_store.log_outcome_model(final, split.validation, registered_model_name=name)
        version = str(info.registered_model_version)
        for key, value in {
            "gate_seasons": ",".join(gate_seasons), "gate_rows_sha256": rows_hash,
            "gate_rps": repr(challenger_rps), "trained_through": holdout,
            "gate_passed": str(gate.passed), "dagster_run_id": context.run_id,
        }.items():
            client.set_model_version_tag(name, version, key, value)
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
        if gate.passed:
            client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
        results.append((variant, name, version, gate))
        gate_rows[variant] = {"version": version, "passed": gate.passed, "reasons": gate.reasons,
                              "gate_seasons": gate_seasons, "rows": len(pooled), **gate.numbers}
    passed = all(g.passed for *_, g in results)
    return dg.MaterializeResult(
        metadata={
            "registered": dg.MetadataValue.json({v: f"{n} v{ver}" for v, n, ver, _ in results}),
            "trained_through": holdout,
            "gate_seasons": dg.MetadataValue.json(gate_seasons),
            "mlflow_experiment_id": experiment_id,
        },
        check_results=[dg.AssetCheckResult(
            check_name="quality_gate",
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description="challenger beats climatology and the Elo baseline and is not worse than "
            "the current champion on the same out-of-sample rows; `champion` moved only if so",
            metadata={"gate": dg.MetadataValue.json(gate_rows)},
        )],
    )


def _champion_rps(client, name: str, gate_seasons: list[str], rows_hash: str, backtests: list,
                  y: np.ndarray) -> float | None:
    """The current champion's RPS on the same gate rows, or None if there is no champion.

    Same rows as its own gate: its recorded out-of-sample RPS. Otherwise the champion is scored on
    the rows it has not been trained on (seasons after its ``trained_through``); a champion that
    has seen every gate row is compared through its recorded figure.
    """
    import mlflow

    from soccer_assets.modeling.train import predict_proba
    from soccer_assets.storage import model_store

    try:
        current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except mlflow.exceptions.MlflowException:
        return None
    tags = current.tags
    if tags.get("gate_rows_sha256") == rows_hash:
        return float(tags["gate_rps"])
    through = tags.get("trained_through")
    unseen = [bt for s, bt in zip(gate_seasons, backtests, strict=True)
              if through and season_key(s) > season_key(through)]
    if len(unseen) == len(backtests):
        model = model_store.load_outcome_model(f"models:/{name}@champion")
        return M.rps(np.vstack([predict_proba(model, bt.split.test) for bt in backtests]), y)
    return float(tags["gate_rps"]) if "gate_rps" in tags else None
