"""Jobs and schedules."""


import dagster as dg

from soccer_assets.partitions import current_season, league_season_partitions, partition_key

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
