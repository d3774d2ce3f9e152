"""The one Definitions object of the ``soccer_assets`` code location."""

from __future__ import annotations

import dagster as dg

from soccer_assets.assets import features, ingestion, modeling, monitoring
from soccer_assets.jobs import (
    champion_job,
    ingest_job,
    league_season_job,
    monitor_job,
    team_state_job,
    walk_forward_job,
    weekly_current_season,
)
from soccer_assets.resources import default_resources

defs = dg.Definitions(
    assets=[
        ingestion.raw_match_files,
        ingestion.matches,
        features.match_features,
        features.team_state,
        modeling.temporal_split,
        modeling.trained_model,
        modeling.model_evaluation,
        modeling.champion_model,
        monitoring.live_monitoring,
    ],
    jobs=[ingest_job, league_season_job, team_state_job, walk_forward_job, champion_job, monitor_job],
    schedules=[weekly_current_season],
    sensors=[monitoring.retrain_on_monitoring_failure],
    resources=default_resources(),
    # Every asset here is light (seconds); the multiprocess executor costs ~10 s per run.
    executor=dg.in_process_executor,
)
