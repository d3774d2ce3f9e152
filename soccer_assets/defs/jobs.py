"""Asset jobs: what the runner, the schedule and the UI launch."""

import dagster as dg

from soccer_assets.defs.partitions import PARTITIONS, SEASONS

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("ingestion"),
    partitions_def=PARTITIONS,
    description="Fetch, parse, validate and store league-season files.",
)

fetch_job = dg.define_asset_job(
    "fetch_raw_files",
    selection=dg.AssetSelection.assets("raw_match_files"),
    partitions_def=PARTITIONS,
    description="Fetch league-season files (conditional requests). What the weekly schedule runs: the "
    "automation then rebuilds only what a changed file reaches (ADR 0014).",
)

league_season_job = dg.define_asset_job(
    "league_season_pipeline",
    selection=dg.AssetSelection.groups("ingestion") | dg.AssetSelection.assets("match_features"),
    partitions_def=PARTITIONS,
    description="Ingest a league-season and compute its features (earlier seasons of the league "
    "must be materialized first: ratings carry over).",
)

walk_forward_job = dg.define_asset_job(
    "walk_forward_backtest",
    selection=dg.AssetSelection.assets("temporal_split", "trained_model", "model_evaluation",
                                       "betting_report"),
    partitions_def=SEASONS,
    description="Train on the seasons before S and evaluate on S (every market and the value-bet "
    "backtest); backfilling the season dimension is a walk-forward backtest.",
)

champion_job = dg.define_asset_job(
    "train_champion",
    selection=dg.AssetSelection.assets("champion_model"),
    description="Train on every completed season, register as challenger, gate to champion.",
)

monitor_job = dg.define_asset_job(
    "monitor_live",
    selection=dg.AssetSelection.assets("live_monitoring"),
    description="Score the served predictions against the results, compute drift, run the "
    "monitoring checks (issue 10).",
)

team_state_job = dg.define_asset_job(
    "refresh_team_state",
    selection=dg.AssetSelection.assets("team_state"),
    description="Rebuild the online feature store from every stored match.",
)
