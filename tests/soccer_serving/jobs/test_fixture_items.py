"""A bad fixture row is that item's error, not the end of the upcoming job (issue 20, point 7);
a client's job with an invalid stored item still fails as a corrupt job.

Real pieces: the session's MLflow server with a registered ratings champion, a SQLite warehouse
with the E0 team state, the worker's ``JobRunner``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb

from soccer_assets.features.state import RATING_FEATURES
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store
from soccer_serving.jobs.actors import JobRunner
from soccer_serving.settings import ServingSettings
from tests.soccer_serving.support import register_model, write_team_state

pytestmark = pytest.mark.integration

GOOD = [{"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": "2024-01-20"},
        {"league": "E0", "home_team": "Everton", "away_team": "Fulham", "kickoff": "2024-01-20",
         "odds": {"home": 2.4, "draw": 3.3, "away": 3.1}}]
# The site's row with a price above the API's limit (1000): the API would refuse it with 422.
BAD = {"league": "E0", "home_team": "Luton", "away_team": "Burnley", "kickoff": "2024-01-20",
       "odds": {"home": 1500.0, "draw": 3.3, "away": 3.1}}


def _job(w: Warehouse, request: dict, items: list[dict]) -> str:
    job_id = f"fx-{uuid.uuid4().hex[:8]}"
    with w.engine.begin() as conn:
        store.insert_job(conn, job_id, request, items)
    return job_id


def test_a_bad_fixture_is_an_item_error_and_a_bad_client_item_fails_the_job(
        tmp_path: Path, mlflow_uri: str, ratings_booster: xgb.Booster, e0_features: pd.DataFrame,
        e0_matches: pd.DataFrame) -> None:
    name = f"fx-ratings-{uuid.uuid4().hex[:6]}"
    register_model(mlflow_uri, name, ratings_booster, e0_features[RATING_FEATURES].head(50))
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    store.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, dt.date(2024, 1, 1))
    settings = ServingSettings(warehouse_url=str(w.engine.url), mlflow_tracking_uri=mlflow_uri,
                               model_name_ratings=name, model_name_market=f"{name}-none")
    runner = JobRunner(settings, w)
    try:
        upcoming = _job(w, {"league": "E0", "upcoming": True}, [GOOD[0], BAD, GOOD[1]])
        assert runner.run(upcoming) == store.JOB_SUCCEEDED
        results = store.read_job_results(w.engine, upcoming)
        assert [r["ok"] for r in results] == [True, False, True]
        bad = results[1]
        assert bad["error_code"] == "invalid_match" and bad["home_team"] == "Luton"
        assert "invalid fixture: odds.home" in bad["error"]
        assert store.get_job(w.engine, upcoming)["n_item_errors"] == 1  # type: ignore[index]

        client = _job(w, {"matches": 3}, [GOOD[0], BAD, GOOD[1]])
        with pytest.raises(ValueError, match="job items are invalid"):
            runner.run(client)
        assert store.read_job_results(w.engine, client) == []
    finally:
        w.dispose()
