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


@dg.schedule(
    job=league_season_job,
    cron_schedule="0 6 * * 2",
    execution_timezone="Europe/London",
    description="Weekly refresh of the current season for every league (Tuesday 06:00, after "
    "the weekend and Monday matches are published): one run over all leagues.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def weekly_current_season(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    season = current_season(context.scheduled_execution_time.date())
    partitions = league_season_partitions()
    leagues = list(partitions.get_partitions_def_for_dimension("league").get_partition_keys())
    if season not in partitions.get_partitions_def_for_dimension("season").get_partition_keys():
        return dg.SkipReason(f"season {season} is not in the configured seasons (SOCCER_LAST_SEASON)")
    # A multi-partition range is read per dimension: first..last league × this one season.
    return dg.RunRequest(
        run_key=f"{season}@{context.scheduled_execution_time:%Y-%m-%d}",
        tags={
            "dagster/asset_partition_range_start": partition_key(leagues[0], season),
            "dagster/asset_partition_range_end": partition_key(leagues[-1], season),
            "soccer/league": leagues[0] if len(leagues) == 1 else "multi",
        },
    )
