"""Fixtures of the reliability suite (``tests/reliability``), runnable on its own.

Reuses the serving suite's fixtures (one MLflow server per session, a private Redis namespace, the
real E0 data) and helpers (``tests/soccer_serving/support.py``: ``boot_stack``, ``offline_api_settings``),
creates throw-away PostgreSQL databases, and starts one API + worker stack for the session whose
configuration carries secrets (an API key, a password in the warehouse URL) so that the tests can
look for them in logs and ``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from soccer_assets.features.state import ALL_FEATURES, RATING_FEATURES
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from tests.conftest import fresh_db_url
from tests.soccer_serving import conftest as serving_conftest
from tests.soccer_serving import support as serving_support
from tests.soccer_serving.support import BODY_LIMIT as BODY_LIMIT  # the body limit of api_settings
from tests.soccer_serving.support import (
    Stack,
    boot_stack,
    labels,
    offline_api_settings,
    small_booster,
    write_team_state,
)
from tests.support.mirror import Mirror
from tests.support.pipeline import resources

# The serving suite's fixtures, registered for this package too (a conftest only serves its own
# directory): the session's MLflow server, a private Redis namespace, the real E0 data.
mlflow_uri = serving_conftest.mlflow_uri
redis_namespace = serving_conftest.redis_namespace
e0_matches = serving_conftest.e0_matches
e0_features = serving_conftest.e0_features

# Secrets the stack is configured with; tests/reliability/test_security.py checks that neither
# shows up in a log line, /metrics, /ready or /v1/model.
API_KEY = "rel-Key-9f8e7d6c5b4a"
DB_PASSWORD = "s3cret-Db-Pw-71c2"
HEADERS = {"X-API-Key": API_KEY}
E0_AS_OF = dt.date(2024, 1, 1)
MAX_RETRIES = 2  # job retries of the stack's worker (the poison job is tried MAX_RETRIES + 1 times)
RATINGS = "rel-ratings"
MARKET = "rel-market"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    # Boot the shared MLflow server early, exactly as the serving suite does (idempotent when both
    # packages are collected: the server is started once per session).
    serving_conftest.pytest_collection_modifyitems(session, config, items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    serving_conftest.pytest_sessionfinish(session, exitstatus)


# ------------------------------------------------------------------------ source and warehouse


@pytest.fixture
def mirror(shared_data: Path) -> Iterator[Mirror]:
    with Mirror(shared_data) as m:
        yield m


@pytest.fixture
def env(mirror: Mirror, tmp_path: Path, pg_url: str) -> Iterator[tuple[dict[str, object], Warehouse, Path]]:
    """Dagster resources on the mirror, a fresh PostgreSQL warehouse and a data dir."""
    res = resources(mirror.url, tmp_path / "data", pg_url)
    w = Warehouse(pg_url)
    yield res, w, tmp_path / "data"
    w.dispose()


def partition_snapshot(w: Warehouse, data_dir: Path, league: str = "E0", season: str = "2023-24"
                       ) -> tuple[int, str, str, str]:
    """(row count, hash of the warehouse rows, hash of the matches Parquet, hash of the raw file)."""
    df = w.read_matches([league], [season])
    parquet = data_dir / f"matches/{league}/{season}.parquet"
    raw = data_dir / f"raw_match_files/{league}/{season}.csv"
    return (
        len(df),
        hashlib.sha256(df.sort_values("match_id").to_csv().encode()).hexdigest(),
        hashlib.sha256(parquet.read_bytes()).hexdigest(),
        hashlib.sha256(raw.read_bytes()).hexdigest(),
    )


# ---------------------------------------------------------------------------------- the stack


def with_password(url: str, password: str) -> str:
    """The same database URL with a password (trust auth on the test server ignores it)."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def rel_boosters(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> dict[str, xgb.Booster]:
    """Small real boosters (ratings / all features) on the seasons before 2023-24."""
    feats = e0_features[e0_features["season"] < "2023-24"]
    y = labels(e0_matches.set_index("match_id").loc[feats["match_id"]])
    return {
        "ratings": small_booster(feats[RATING_FEATURES], y, rounds=20, seed=3),
        "market": small_booster(feats[ALL_FEATURES], y, rounds=20, seed=4),
    }


@pytest.fixture(scope="session")
def stack_db_url() -> Iterator[str]:
    """The stack's PostgreSQL database (session-wide: every stack test module shares one stack)."""
    with fresh_db_url("soccer_reliability") as url:
        yield url


@pytest.fixture(scope="session")
def stack(stack_db_url: str, mlflow_uri: str, redis_namespace: str, e0_matches: pd.DataFrame,
          e0_features: pd.DataFrame, rel_boosters: dict[str, xgb.Booster],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API (uvicorn) + one Dramatiq worker as subprocesses on PostgreSQL, Redis and MLflow, shared
    by the queue, model, load and security tests (booting it costs tens of seconds)."""
    with boot_stack(
        warehouse_url=stack_db_url, mlflow_uri=mlflow_uri,
        log_dir=tmp_path_factory.mktemp("reliability-logs"), namespace=f"{redis_namespace}-rel",
        job_queue="rel-jobs", api_keys=("another-rel-key", API_KEY), headers=HEADERS,
        models={"ratings": (RATINGS, rel_boosters["ratings"]), "market": (MARKET, rel_boosters["market"])},
        e0_matches=e0_matches, e0_features=e0_features, as_of=E0_AS_OF, max_retries=MAX_RETRIES,
        # The processes see the URL with its password (the secret the security tests look for).
        env={"SOCCER_WAREHOUSE_URL": with_password(stack_db_url, DB_PASSWORD)},
    ) as st:
        yield st


# ------------------------------------------------------------------- an in-process API (no model)

API_KEYS = ("first-key-0123", "second-key-4567")
ADMIN_KEY = "admin-key-89ab"
AS_OF = dt.date(2023, 8, 11)  # first match day of 2023-24: the state holds 2012-13 … 2022-23
MATCH = {"league": "E0", "home_team": "Arsenal", "away_team": "Nott'm Forest", "kickoff": "2023-08-12"}

# Settings of an in-process API whose registry URI points at a closed port (the body limit is
# BODY_LIMIT); keyword arguments override any setting.
api_settings = functools.partial(offline_api_settings, job_queue="rel-unit-jobs", api_keys=API_KEYS,
                                 admin_api_keys=ADMIN_KEY)


@pytest.fixture(scope="session")
def api_db_url(e0_matches: pd.DataFrame) -> Iterator[str]:
    """A database with the serving schema and the E0 team state as of AS_OF."""
    with fresh_db_url("soccer_rel_api") as url:
        w = Warehouse(url)
        try:
            jobs_store.create_serving_schema(w.engine)
            write_team_state(w, "E0", e0_matches, AS_OF)
            w.dispose()
            yield url
        finally:
            w.dispose()


@pytest.fixture(scope="session")
def offline_client(api_db_url: str, redis_namespace: str) -> Iterator[TestClient]:
    """The app in-process (lifespan included) with the registry unreachable: no model loaded."""
    with serving_support.offline_client(api_settings(api_db_url, redis_namespace)) as c:
        yield c
