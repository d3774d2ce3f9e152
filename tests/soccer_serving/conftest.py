"""Fixtures of the serving tests: one MLflow server per session, real E0 data and boosters,
throw-away PostgreSQL databases per module and a private Redis namespace per test run."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
import xgboost as xgb

from tests.conftest import fresh_db_url
from tests.soccer_serving.support import (
    MLFLOW_TEST_ENV,
    REDIS_URL,
    Service,
    labels,
    launch_mlflow_server,
    load_league,
    small_booster,
    small_goal_model,
)

TEST_SEASON = "2023-24"


@pytest.fixture(scope="session")
def redis_namespace() -> Iterator[str]:
    """A key prefix no other test run uses; only its keys are deleted afterwards."""
    ns = f"soccer-test-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield ns
    keys = list(client.scan_iter(match=f"{ns}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test module (dropped afterwards)."""
    with fresh_db_url("soccer_serving") as url:
        yield url


_MLFLOW: dict[str, Any] = {}


def ensure_mlflow_server(items: list[pytest.Item], fixture: str) -> None:
    """Launch the session's shared MLflow server (``_MLFLOW``) when a collected test uses ``fixture``.

    It takes tens of seconds to start (two MLflow imports and the schema migrations); launching it
    at collection, without waiting, lets the tests that come first run meanwhile. Idempotent: every
    package whose conftest calls this shares the one server."""
    if _MLFLOW or not any(fixture in getattr(i, "fixturenames", ()) for i in items):
        return
    for k, v in MLFLOW_TEST_ENV.items():
        os.environ.setdefault(k, v)
    workdir = Path(tempfile.mkdtemp(prefix="soccer-mlflow-"))
    svc, uri = launch_mlflow_server(workdir)
    _MLFLOW.update(service=svc, uri=uri, workdir=workdir)


def stop_mlflow_server() -> None:
    """Stop the shared MLflow server if it was launched (idempotent) and delete its files."""
    svc = _MLFLOW.pop("service", None)
    if svc is not None:
        svc.stop()
        shutil.rmtree(_MLFLOW["workdir"], ignore_errors=True)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Boot the MLflow server as soon as collection shows a test needs it."""
    ensure_mlflow_server(items, "mlflow_uri")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_mlflow_server()


@pytest.fixture(scope="session")
def mlflow_uri() -> str:
    """URI of a real MLflow tracking server (started at collection, shared by the session)."""
    if not _MLFLOW:
        pytest.fail("the MLflow server was not launched at collection")
    svc: Service = _MLFLOW["service"]
    svc.wait_http(f"{_MLFLOW['uri']}/health", timeout=300)
    return str(_MLFLOW["uri"])


@pytest.fixture(scope="session")
def e0_matches(shared_data: Path) -> pd.DataFrame:
    return load_league("E0", shared_data)


@pytest.fixture(scope="session")
def e0_features(e0_matches: pd.DataFrame) -> pd.DataFrame:
    from soccer_assets.features.build import build_match_features

    return build_match_features(e0_matches)


@pytest.fixture(scope="session")
def ratings_trained(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> Any:
    """The repo's trainer (``modeling/train.py``, ratings variant) on the seasons before 2023-24:
    train up to 2021-22, early-stop on 2022-23. Returns its ``TrainedModel``."""
    from soccer_assets.features.state import RATING_FEATURES
    from soccer_assets.modeling.train import TrainParams, train_model

    y_all = pd.Series(labels(e0_matches), index=e0_matches["match_id"])
    feats = e0_features.set_index("match_id")
    train = feats[feats["season"] < "2022-23"]
    valid = feats[feats["season"] == "2022-23"]
    params = TrainParams(num_boost_round=300, early_stopping_rounds=30, learning_rate=0.05)
    return train_model(
        train.reset_index(), y_all.loc[train.index].to_numpy(),
        valid.reset_index(), y_all.loc[valid.index].to_numpy(),
        variant="ratings", seed=0, params=params, features=list(RATING_FEATURES),
        base_margin_columns=None,
    )


@pytest.fixture(scope="session")
def ratings_booster(ratings_trained: Any) -> xgb.Booster:
    """The trained booster cut at its best iteration, so that ``booster.predict(DMatrix(X))`` is the
    trained model (the ``mlflow.xgboost`` packaging of the contract)."""
    return ratings_trained.booster[: ratings_trained.best_iteration + 1]


@pytest.fixture(scope="session")
def market_booster(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> xgb.Booster:
    """A small real booster on every feature (ratings + market) of the seasons before 2023-24."""
    from soccer_assets.features.state import ALL_FEATURES

    y_all = pd.Series(labels(e0_matches), index=e0_matches["match_id"])
    feats = e0_features.set_index("match_id")
    train = feats[feats["season"] < TEST_SEASON]
    return small_booster(train[ALL_FEATURES], y_all.loc[train.index].to_numpy(), rounds=25, seed=1)


@pytest.fixture(scope="session")
def e0_scored_features(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> pd.DataFrame:
    """The feature table with each match's score (``fthg``, ``ftag``): what the goal model learns."""
    scores = e0_matches[["match_id", "fthg", "ftag"]]
    return e0_features.merge(scores, on="match_id", how="left", validate="one_to_one")


@pytest.fixture(scope="session")
def ratings_with_goals(ratings_trained: Any, e0_scored_features: pd.DataFrame) -> Any:
    """``ratings_trained`` with a real ratings goal model attached: it prices every market."""
    return dataclasses.replace(ratings_trained, goals=small_goal_model(e0_scored_features, "ratings"))


@pytest.fixture(scope="session")
def market_with_goals(market_booster: xgb.Booster, e0_scored_features: pd.DataFrame) -> Any:
    """``market_booster`` as the pipeline's ``TrainedModel`` (all rounds, no base margin) with a
    market goal model, which also reads the opening over/under 2.5 odds (``TOTALS_FEATURES``)."""
    from soccer_assets.features.state import ALL_FEATURES
    from soccer_assets.modeling.train import TrainedModel

    return TrainedModel(booster=market_booster, variant="market", features=list(ALL_FEATURES),
                        best_iteration=market_booster.num_boosted_rounds() - 1, params={}, seed=1,
                        validation_metrics={},
                        goals=small_goal_model(e0_scored_features, "market", seed=1))


@pytest.fixture(scope="session")
def e0_season(e0_matches: pd.DataFrame) -> pd.DataFrame:
    return e0_matches[e0_matches["season"] == TEST_SEASON].reset_index(drop=True)


def feature_frame(features: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return features[cols].astype(np.float64)
