"""Fixtures of the reliability suite (``tests/reliability``), runnable on its own.

Reuses the serving suite's fixtures (one MLflow server per session, a private Redis namespace, the
real E0 data) and helpers (``tests/serving/support.py``: ``Stack``, model registration), creates
throw-away PostgreSQL databases, and starts one API + worker stack for the session whose
configuration carries secrets (an API key, a password in the warehouse URL) so that the tests can
look for them in logs and ``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from soccer_assets.features.build import select_open_odds
from soccer_assets.features.state import ALL_FEATURES, RATING_FEATURES
from soccer_assets.warehouse import serving as wh
from soccer_assets.warehouse.store import Warehouse
from soccer_serving.app import create_app
from soccer_serving.settings import ServingSettings
from tests.conftest import PG_ADMIN_URL, _create_db, _drop_db
from tests.serving import conftest as serving_conftest
from tests.serving.conftest import REDIS_URL
from tests.serving.support import (
    MLFLOW_TEST_ENV,
    Stack,
    free_port,
    labels,
    match_item,
    register_model,
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
    name = _create_db("soccer_reliability")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _drop_db(name)


@pytest.fixture(scope="session")
def stack(stack_db_url: str, mlflow_uri: str, redis_namespace: str, e0_matches: pd.DataFrame,
          e0_features: pd.DataFrame, rel_boosters: dict[str, xgb.Booster],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """API (uvicorn) + one Dramatiq worker as subprocesses on PostgreSQL, Redis and MLflow, shared
    by the queue, model, load and security tests (booting it costs tens of seconds)."""
    log_dir = tmp_path_factory.mktemp("reliability-logs")
    env = {
        **MLFLOW_TEST_ENV,
        "SOCCER_WAREHOUSE_URL": with_password(stack_db_url, DB_PASSWORD),
        "SOCCER_MLFLOW_TRACKING_URI": mlflow_uri,
        "SOCCER_MODEL_NAME_RATINGS": RATINGS,
        "SOCCER_MODEL_NAME_MARKET": MARKET,
        "SOCCER_REDIS_URL": REDIS_URL,
        "SOCCER_BROKER_NAMESPACE": f"{redis_namespace}-rel",
        "SOCCER_JOB_QUEUE": "rel-jobs",
        "SOCCER_API_KEYS": f"another-rel-key,{API_KEY}",
        "SOCCER_REGISTRY_POLL_SECONDS": "0.5",
        "SOCCER_STARTUP_LOAD_TIMEOUT_SECONDS": "0",
        "SOCCER_TEAM_STATE_TTL_SECONDS": "1",
        "SOCCER_JOB_MAX_RETRIES": str(MAX_RETRIES),
        "SOCCER_JOB_MIN_BACKOFF_MS": "200",
        "SOCCER_JOB_MAX_BACKOFF_MS": "400",
        "SOCCER_JOB_ITEM_DELAY_SECONDS": "0.03",
        "SOCCER_JOB_CHUNK_SIZE": "5",
        "SOCCER_BROKER_HEARTBEAT_TIMEOUT_MS": "2000",
        "SOCCER_BROKER_MAINTENANCE_CHANCE": "1000000",
        "PYTHONUNBUFFERED": "1",
    }
    w = Warehouse(stack_db_url)
    wh.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, E0_AS_OF)
    feats = e0_features
    register_model(mlflow_uri, RATINGS, rel_boosters["ratings"], feats[RATING_FEATURES].head(50))
    register_model(mlflow_uri, MARKET, rel_boosters["market"], feats[ALL_FEATURES].head(50))

    st = Stack(api_url=f"http://127.0.0.1:{free_port()}", env=env, log_dir=log_dir, warehouse=w,
               mlflow_uri=mlflow_uri, api=None, headers=HEADERS)  # type: ignore[arg-type]
    st.start_api()
    st.start_worker()
    try:
        st.api.wait_http(f"{st.api_url}/ready", timeout=240)
        ms = e0_matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
        odds = select_open_odds(ms)
        later = ms.index[(ms["season"] == "2023-24") & (ms["date"].dt.date >= E0_AS_OF)]
        st.matches = [match_item(ms.loc[i], odds[i] if k % 2 else None) for k, i in enumerate(later)]
        yield st
    finally:
        st.api.stop()
        for wk in st.workers:
            wk.stop()
        w.dispose()


# ------------------------------------------------------------------- an in-process API (no model)

API_KEYS = ("first-key-0123", "second-key-4567")
BODY_LIMIT = 16384
AS_OF = dt.date(2023, 8, 11)  # first match day of 2023-24: the state holds 2012-13 … 2022-23
MATCH = {"league": "E0", "home_team": "Arsenal", "away_team": "Nott'm Forest", "kickoff": "2023-08-12"}


def api_settings(pg_url: str, ns: str, **over: object) -> ServingSettings:
    """Settings of an in-process API whose registry URI points at a closed port."""
    base: dict[str, object] = {
        "warehouse_url": pg_url,
        "mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "redis_url": REDIS_URL,
        "broker_namespace": ns,
        "job_queue": "rel-unit-jobs",
        "api_keys": ",".join(API_KEYS),
        "max_body_bytes": BODY_LIMIT,
        "startup_load_timeout_seconds": 0,
        "registry_poll_seconds": 3600,
        "mlflow_request_max_retries": 0,
        "mlflow_request_timeout_seconds": 2,
        "team_state_ttl_seconds": 0,
    }
    base.update(over)
    return ServingSettings(**base)


@pytest.fixture(scope="session")
def api_db_url(e0_matches: pd.DataFrame) -> Iterator[str]:
    """A database with the serving schema and the E0 team state as of AS_OF."""
    name = _create_db("soccer_rel_api")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    w = Warehouse(url)
    try:
        wh.create_serving_schema(w.engine)
        write_team_state(w, "E0", e0_matches, AS_OF)
        w.dispose()
        yield url
    finally:
        w.dispose()
        _drop_db(name)


@pytest.fixture(scope="session")
def offline_client(api_db_url: str, redis_namespace: str) -> Iterator[TestClient]:
    """The app in-process (lifespan included) with the registry unreachable: no model loaded."""
    app = create_app(api_settings(api_db_url, redis_namespace))
    with TestClient(app, raise_server_exceptions=False) as c:
        state = app.state.serving
        deadline = time.monotonic() + 120
        while state.models.status["ratings"].last_check is None and time.monotonic() < deadline:
            time.sleep(0.2)
        yield c
