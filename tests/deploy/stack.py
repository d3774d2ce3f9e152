"""One live serving stack for the deployment tests: the API (``soccer serve``) and a worker
(``soccer worker --metrics-port``) as the image runs them, on a throw-away PostgreSQL database,
a private Redis namespace and the session's MLflow server, with two real registered versions of
the ratings model (``champion`` on version 2) so that the rollback runbook has somewhere to go.

Everything is real and reused from the serving tests' helpers (tests/soccer_serving/support.py); the
MLflow server is the one the serving tests use (booted at collection, see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from tests.conftest import PG_ADMIN_URL, _create_db, _drop_db
from tests.soccer_serving.support import (
    MLFLOW_TEST_ENV,
    Service,
    free_port,
    labels,
    load_league,
    register_model,
    small_booster,
    write_team_state,
)

API_KEY = "deploy-test-key"
AS_OF = dt.date(2024, 1, 1)
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class LiveStack:
    api_url: str
    worker_metrics_url: str
    warehouse_url: str
    env: dict[str, str]
    ratings_model: str
    services: list[Service] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30.0, headers={"X-API-Key": API_KEY})

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while time.monotonic() < deadline:
                job = c.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed"):
                    return dict(job)
                time.sleep(0.1)
        logs = "\n".join(s.log_tail(20) for s in self.services)
        raise AssertionError(f"job {job_id} did not finish in {timeout}s: {job}\n{logs}")

    def stop(self) -> None:
        for s in self.services:
            s.stop()


def start_stack(mlflow_uri: str, mlflow: Service, log_dir: Path, venv_bin: Path) -> tuple[LiveStack, str]:
    """Start API + worker; returns the stack and the name of its database (to drop).

    The MLflow server may still be booting: the API and the worker start at once (they poll the
    registry), the models are registered once MLflow answers, then the API becomes ready."""
    db = _create_db("soccer_deploy")
    warehouse_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    tag = uuid.uuid4().hex[:8]
    ratings = f"deploy-{tag}-ratings"
    api_port, metrics_port = free_port(), free_port()
    env = {
        **MLFLOW_TEST_ENV,
        "SOCCER_WAREHOUSE_URL": warehouse_url,
        "SOCCER_MLFLOW_TRACKING_URI": mlflow_uri,
        "SOCCER_MODEL_NAME_RATINGS": ratings,
        "SOCCER_MODEL_NAME_MARKET": f"deploy-{tag}-market",
        "SOCCER_REDIS_URL": REDIS_URL,
        "SOCCER_BROKER_NAMESPACE": f"soccer-deploy-{tag}",
        "SOCCER_JOB_QUEUE": "deploy-jobs",
        "SOCCER_API_KEYS": API_KEY,
        "SOCCER_ADMIN_API_KEYS": API_KEY,
        "SOCCER_REGISTRY_POLL_SECONDS": "1",
        "SOCCER_STARTUP_LOAD_TIMEOUT_SECONDS": "0",
        "SOCCER_HOST": "127.0.0.1",
        "SOCCER_WORKER_METRICS_PORT": str(metrics_port),
        "PYTHONUNBUFFERED": "1",
    }
    stack = LiveStack(api_url=f"http://127.0.0.1:{api_port}",
                      worker_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
                      warehouse_url=warehouse_url, env=env, ratings_model=ratings)
    try:
        from soccer_assets.features.build import build_match_features
        from soccer_assets.features.state import RATING_FEATURES
        from soccer_assets.storage.warehouse import Warehouse
        from soccer_serving.jobs import store as jobs_store

        matches = load_league("E0")
        w = Warehouse(warehouse_url)
        jobs_store.create_serving_schema(w.engine)
        write_team_state(w, "E0", matches, AS_OF)
        w.dispose()
        # The image's role commands, started side by side (each imports pandas/xgboost/MLflow).
        stack.services.append(Service("api", [str(venv_bin / "soccer"), "serve", "--port", str(api_port)],
                                      log_dir, env))
        stack.services.append(Service("worker", [str(venv_bin / "soccer"), "worker", "--threads", "2",
                                                 "--metrics-port", str(metrics_port)], log_dir, env))
        feats = build_match_features(matches)
        y_all = pd.Series(labels(matches), index=matches["match_id"])
        train = feats.set_index("match_id")
        train = train[train["season"] < "2023-24"]
        y = y_all.loc[train.index].to_numpy()
        x = train[list(RATING_FEATURES)]
        boosters = [small_booster(x, y, rounds=rounds, seed=seed) for seed, rounds in ((0, 10), (1, 20))]
        mlflow.wait_http(f"{mlflow_uri}/health", timeout=300)
        # Two versions; only the later one is ever champion, so "ready" means version 2 is served
        # (the rollback runbook moves the alias back to 1).
        for booster, alias in zip(boosters, (None, "champion"), strict=True):
            register_model(mlflow_uri, ratings, booster, x.head(20), alias=alias)
        stack.services[0].wait_http(f"{stack.api_url}/ready", timeout=240)
        stack.services[1].wait_http(stack.worker_metrics_url, timeout=240)
    except Exception:
        stack.stop()
        _drop_db(db)
        raise
    return stack, db
