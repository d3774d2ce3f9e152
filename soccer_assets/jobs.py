"""Jobs and schedules."""


import dagster as dg

from soccer_assets.partitions import (
    current_season,
    league_season_partitions,
    partition_key,
    season_partitions,
)

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("ingestion"),
    partitions_def=league_season_partitions(),
    description="Fetch, parse, validate and store league-season files.",
)

league_season_job = dg.define_asset_job(
    "league_season_pipeline",
    selection=dg.AssetSelection.groups("ingestion") | dg.AssetSelection.assets("match_features"),
    partitions_def=league_season_partitions(),
    description="Ingest a league-season and compute its features (earlier seasons of the league "
    "must be materialized first: ratings carry over).",
)

walk_forward_job = dg.define_asset_job(
    "walk_forward_backtest",
    selection=dg.AssetSelection.assets("temporal_split", "trained_model", "model_evaluation"),
    partitions_def=season_partitions(),
    description="Train on the seasons before S and evaluate on S; backfilling the season "
    "dimension is a walk-forward backtest.",
)

champion_job = dg.define_asset_job(
    "train_champion",
    selection=dg.AssetSelection.assets("champion_model"),
    description="Train on every completed season, register as challenger, gate to champion.",
)

team_state_job = dg.define_asset_job(
    "refresh_team_state",
    selection=dg.AssetSelection.assets("team_state"),
    description="Rebuild the online feature store from every stored match.",
)


@dg.schedule(
    job=ingest_job,
    cron_schedule="0 6 * * 2",
    execution_timezone="Europe/London",
    description="Weekly refresh of the current season for every league (Tuesday 06:00, after "
    "the weekend and Monday matches are published).",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def weekly_current_season(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    season = current_season(context.scheduled_execution_time.date())
    partitions = league_season_partitions()
    known = set(partitions.get_partition_keys())
    leagues = partitions.get_partitions_def_for_dimension("league").get_partition_keys()
    return [
        dg.RunRequest(
            run_key=f"{partition_key(league, season)}@{context.scheduled_execution_time:%Y-%m-%d}",
            partition_key=partition_key(league, season),
        )
        for league in leagues
        if partition_key(league, season) in known
    ]
