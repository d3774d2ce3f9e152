"""Schedules: the weekly refresh of the current season.

The schedule only fetches the files (``fetch_raw_files``); the automation sensor rebuilds what a
changed file reaches, and nothing when the bytes are the same (ADR 0014). Both start as running
where ``SOCCER_AUTOMATION=true`` (production) and as stopped elsewhere.
"""

import dagster as dg

from soccer_assets.core.names import LEAGUE_TAG
from soccer_assets.core.seasons import current_season, partition_key
from soccer_assets.defs import automation, jobs
from soccer_assets.defs.partitions import PARTITIONS


@dg.schedule(
    job=jobs.fetch_job,
    cron_schedule="0 6 * * 2",
    execution_timezone="Europe/London",
    description="Weekly fetch of the current season's file of every league (Tuesday 06:00, after "
    "the weekend and Monday matches are published): one run over all leagues; the automation sensor "
    "rebuilds what changed. Running where SOCCER_AUTOMATION=true.",
    default_status=automation.default_status()[1],
)
def weekly_current_season(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    season = current_season(context.scheduled_execution_time.date())
    partitions = PARTITIONS
    leagues = list(partitions.get_partitions_def_for_dimension("league").get_partition_keys())
    if season not in partitions.get_partitions_def_for_dimension("season").get_partition_keys():
        return dg.SkipReason(f"season {season} is not in the configured seasons (SOCCER_LAST_SEASON)")
    # A multi-partition range is read per dimension: first..last league × this one season.
    return dg.RunRequest(
        run_key=f"{season}@{context.scheduled_execution_time:%Y-%m-%d}",
        tags={
            "dagster/asset_partition_range_start": partition_key(leagues[0], season),
            "dagster/asset_partition_range_end": partition_key(leagues[-1], season),
            LEAGUE_TAG: leagues[0] if len(leagues) == 1 else "multi",
        },
    )
