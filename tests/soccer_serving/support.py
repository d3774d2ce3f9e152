"""Helpers of the serving tests: real services as subprocesses, real data, real models.

Nothing here fakes a component: the MLflow tracking server, the API (uvicorn) and the Dramatiq
worker run as subprocesses on loopback; the models are XGBoost boosters trained on the shared
football-data files and registered the way the training pipeline does (see the model contract in
``soccer_serving.registry``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import xgboost as xgb
from fastapi.testclient import TestClient

from soccer_assets.core.seasons import code_to_season
from soccer_assets.features.build import select_open_odds
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import ALL_FEATURES, RATING_FEATURES, build_team_states
from soccer_assets.modeling.metrics import outcome_index
from soccer_assets.sources.parser import parse_season_csv
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from soccer_serving.main import create_app
from soccer_serving.registry import feature_params_hash
from soccer_serving.settings import ServingSettings

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SOCCER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Quiet, fast model logging: no uv export / lock-file capture for every logged test model.
MLFLOW_TEST_ENV = {
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "TQDM_DISABLE": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """A subprocess in its own session (so a kill reaches its children), output to a log file."""

    def __init__(self, name: str, args: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            list(args), stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=REPO,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def wait_http(self, url: str, timeout: float, ok: Sequence[int] = (200,)) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                r = httpx.get(url, timeout=2.0)
                if r.status_code in ok:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not up at {url} after {timeout}s ({last}):\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn/mlflow spawn children)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait(5)
        else:
            # Children of a killed leader may linger in the group.
            self.kill(signal.SIGKILL)
        self._log.close()


def start_mlflow_server(workdir: Path, port: int | None = None) -> tuple[Service, str]:
    """A real MLflow tracking server (SQLite backend, proxied artifacts) on loopback, up."""
    svc, uri = launch_mlflow_server(workdir, port)
    try:
        svc.wait_http(f"{uri}/health", timeout=300)
    except Exception:
        svc.stop()
        raise
    return svc, uri


def launch_mlflow_server(workdir: Path, port: int | None = None) -> tuple[Service, str]:
    """Start ``mlflow server`` (SQLite backend, proxied artifacts) without waiting for it."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root", "mlflow-artifacts:/",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    env = {**MLFLOW_TEST_ENV, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return Service("mlflow", args, workdir, env), f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------------------------- stack


@dataclass
class Stack:
    """The API and Dramatiq worker(s) as subprocesses (``soccer_serving.cli``) on one warehouse."""

    api_url: str
    env: dict[str, str]
    log_dir: Any
    warehouse: Warehouse
    mlflow_uri: str
    api: Service
    workers: list[Service] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"X-API-Key": ...} for job routes

    def start_api(self) -> Service:
        port = self.api_url.rsplit(":", 1)[1]
        self.api = Service("api", [sys.executable, "-m", "soccer_serving.cli", "serve", "--port", port],
                           self.log_dir, self.env)
        return self.api

    def start_worker(self) -> Service:
        w = Service("worker", [sys.executable, "-m", "soccer_serving.cli", "worker", "--threads", "2"],
                    self.log_dir, self.env)
        self.workers.append(w)
        return w

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30.0)

    def submit(self, body: dict[str, Any]) -> str:
        with self.client() as c:
            r = c.post("/v1/jobs", json=body, headers=self.headers)
        assert r.status_code == 202, r.text
        assert r.headers["location"] == f"/v1/jobs/{r.json()['job_id']}"
        return str(r.json()["job_id"])

    def job(self, job_id: str, **params: Any) -> dict[str, Any]:
        with self.client() as c:
            r = c.get(f"/v1/jobs/{job_id}", headers=self.headers, params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_job(self, job_id: str, timeout: float = 120.0,
                 statuses: tuple[str, ...] = ("succeeded", "failed")) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            j = self.job(job_id, limit=10_000)
            if j["status"] in statuses:
                return j
            time.sleep(0.1)
        logs = "\n".join(w.log_tail(30) for w in self.workers)
        raise AssertionError(f"job {job_id} not {statuses} after {timeout}s: {j}\n{logs}")


@contextlib.contextmanager
def boot_stack(*, warehouse_url: str, mlflow_uri: str, log_dir: Path, namespace: str, job_queue: str,
               api_keys: Sequence[str], headers: dict[str, str],
               models: Mapping[str, tuple[str, xgb.Booster]], e0_matches: pd.DataFrame,
               e0_features: pd.DataFrame, as_of: dt.date,
               team_states: Sequence[tuple[str, pd.DataFrame, dt.date]] = (), max_retries: int = 2,
               env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """API (uvicorn) + one Dramatiq worker as subprocesses on PostgreSQL, Redis and MLflow, ready.

    ``warehouse_url`` gets the serving schema and the E0 team state as of ``as_of`` (plus each
    ``(league, matches, as_of)`` of ``team_states``); ``models`` maps the variants ``ratings`` and
    ``market`` to (registered name, booster), registered as champions. ``env`` adds or overrides
    variables of the processes. ``Stack.matches`` holds the E0 2023-24 matches from ``as_of`` on
    (every other one with its opening odds). Everything is stopped on exit."""
    full_env = {
        **MLFLOW_TEST_ENV,
        "SOCCER_WAREHOUSE_URL": warehouse_url,
        "SOCCER_MLFLOW_TRACKING_URI": mlflow_uri,
        "SOCCER_MODEL_NAME_RATINGS": models["ratings"][0],
        "SOCCER_MODEL_NAME_MARKET": models["market"][0],
        "SOCCER_REDIS_URL": REDIS_URL,
        "SOCCER_BROKER_NAMESPACE": namespace,
        "SOCCER_JOB_QUEUE": job_queue,
        "SOCCER_API_KEYS": ",".join(api_keys),
        # Short polls, backoffs and heartbeats so that swaps, retries and redeliveries show in seconds.
        "SOCCER_REGISTRY_POLL_SECONDS": "0.5",
        "SOCCER_STARTUP_LOAD_TIMEOUT_SECONDS": "0",
        "SOCCER_TEAM_STATE_TTL_SECONDS": "1",
        "SOCCER_JOB_MAX_RETRIES": str(max_retries),
        "SOCCER_JOB_MIN_BACKOFF_MS": "200",
        "SOCCER_JOB_MAX_BACKOFF_MS": "400",
        "SOCCER_JOB_ITEM_DELAY_SECONDS": "0.03",
        "SOCCER_JOB_CHUNK_SIZE": "5",
        "SOCCER_BROKER_HEARTBEAT_TIMEOUT_MS": "2000",
        "SOCCER_BROKER_MAINTENANCE_CHANCE": "1000000",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    w = Warehouse(warehouse_url)
    jobs_store.create_serving_schema(w.engine)
    for league, matches, state_as_of in [("E0", e0_matches, as_of), *team_states]:
        write_team_state(w, league, matches, state_as_of)
    columns = {"ratings": RATING_FEATURES, "market": ALL_FEATURES}
    for variant, (name, booster) in models.items():
        register_model(mlflow_uri, name, booster, e0_features[columns[variant]].head(50))

    st = Stack(api_url=f"http://127.0.0.1:{free_port()}", env=full_env, log_dir=log_dir, warehouse=w,
               mlflow_uri=mlflow_uri, api=None, headers=headers)  # type: ignore[arg-type]
    # Boot API and worker side by side (each imports pandas/xgboost/MLflow).
    st.start_api()
    st.start_worker()
    try:
        st.api.wait_http(f"{st.api_url}/ready", timeout=240)
        ms = e0_matches.sort_values("kickoff", kind="stable").reset_index(drop=True)
        odds = select_open_odds(ms)
        later = ms.index[(ms["season"] == "2023-24") & (ms["date"].dt.date >= as_of)]
        st.matches = [match_item(ms.loc[i], odds[i] if k % 2 else None) for k, i in enumerate(later)]
        yield st
    finally:
        st.api.stop()
        for wk in st.workers:
            wk.stop()
        w.dispose()


# ------------------------------------------------------------------- an in-process API (no model)

BODY_LIMIT = 16384


def offline_api_settings(pg_url: str, ns: str, *, job_queue: str, api_keys: Sequence[str],
                         **over: object) -> ServingSettings:
    """Settings of an in-process API whose registry URI points at a closed port (the "registry
    unreachable" case); ``over`` replaces any setting."""
    base: dict[str, object] = {
        "warehouse_url": pg_url,
        "mlflow_tracking_uri": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "redis_url": REDIS_URL,
        "broker_namespace": ns,
        "job_queue": job_queue,
        "api_keys": ",".join(api_keys),
        "max_body_bytes": BODY_LIMIT,
        "startup_load_timeout_seconds": 0,
        "registry_poll_seconds": 3600,
        "mlflow_request_max_retries": 0,
        "mlflow_request_timeout_seconds": 2,
        "team_state_ttl_seconds": 0,
    }
    base.update(over)
    return ServingSettings(**base)


@contextlib.contextmanager
def offline_client(settings: ServingSettings) -> Iterator[TestClient]:
    """The app in-process (lifespan included) once its first (failing) registry check is done: the
    "registry unreachable" state, no model loaded."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        state = app.state.serving
        deadline = time.monotonic() + 120
        while state.models.status["ratings"].last_check is None and time.monotonic() < deadline:
            time.sleep(0.2)
        yield c


def match_item(row: pd.Series, odds: np.ndarray | None) -> dict[str, Any]:
    """A request body for one E0 match row (with its opening odds when all three are known)."""
    body: dict[str, Any] = {"league": "E0", "home_team": row.home_team, "away_team": row.away_team,
                            "kickoff": row.date.date().isoformat()}
    if odds is not None and np.all(np.isfinite(odds)):
        body["odds"] = {"home": float(odds[0]), "draw": float(odds[1]), "away": float(odds[2])}
    return body


# ----------------------------------------------------------------------------------- data


def data_root() -> Path:
    env = os.environ.get("SOCCER_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "football-data"


def load_league(league: str, root: Path | None = None) -> pd.DataFrame:
    """Every season of ``league`` in the shared snapshot, parsed by the project's parser."""
    base = (root or data_root()) / "mmz4281"
    frames = []
    for code_dir in sorted(base.iterdir()):
        f = code_dir / f"{league}.csv"
        if f.is_file():
            frames.append(parse_season_csv(f.read_bytes(), league, code_to_season(code_dir.name)).matches)
    return pd.concat(frames, ignore_index=True).sort_values("kickoff", kind="stable").reset_index(drop=True)


def write_team_state(wh: Warehouse, league: str, matches: pd.DataFrame, as_of: Any,
                     params: FeatureParams | None = None) -> int:
    """``build_team_states(matches, as_of)`` of one league into ``team_state`` (like the pipeline)."""
    p = params or FeatureParams()
    states = build_team_states(matches, as_of=as_of, params=p)
    rows = [
        {"team": st.team, "season": st.season, "state": st.to_record(), "last_match_date": st.last_date}
        for (lg, _t), st in sorted(states.items())
        if lg == league
    ]
    return wh.replace_team_state(league, rows, as_of=pd.Timestamp(as_of).date(),
                                 feature_params_hash=feature_params_hash(p))


# --------------------------------------------------------------------------------- models


def labels(df: pd.DataFrame) -> np.ndarray:
    return outcome_index(df["ftr"].astype(str))


def small_booster(X: pd.DataFrame, y: np.ndarray, rounds: int = 30, seed: int = 0,
                  depth: int = 2) -> xgb.Booster:
    """A small real ``multi:softprob`` booster (classes H, D, A) on the given feature columns."""
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": depth, "eta": 0.1,
              "seed": seed, "nthread": 2, "verbosity": 0, "tree_method": "hist"}
    return xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=rounds)


def register_model(tracking_uri: str, name: str, booster: xgb.Booster, X: pd.DataFrame,
                   *, alias: str | None = "champion", params: FeatureParams | None = None) -> str:
    """Log and register a version exactly as the training pipeline does; returns the version."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    for k, v in MLFLOW_TEST_ENV.items():
        os.environ.setdefault(k, v)
    p = params or FeatureParams()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    proba = booster.predict(xgb.DMatrix(X))
    with mlflow.start_run():
        mlflow.log_params({f"feature.{k}": v for k, v in p.as_dict().items()})
        mlflow.set_tag("feature_params_json", json.dumps(p.as_dict()))
        # pip_requirements only skips MLflow's requirement inference (a ~15 s subprocess per
        # model); the logged model, signature and input example are the pipeline's.
        info = mlflow.xgboost.log_model(
            booster, name="model", signature=infer_signature(X, proba), input_example=X.head(3),
            registered_model_name=name, pip_requirements=[f"xgboost=={xgb.__version__}"],
        )
    version = str(info.registered_model_version)
    if alias:
        MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).set_registered_model_alias(
            name, alias, version
        )
    return version


def small_goal_model(scored: pd.DataFrame, variant: str, seed: int = 0) -> Any:
    """A real expected-total booster (``modeling.goals.model``) of ``variant`` on the seasons before
    2022-23, early-stopped on 2022-23; ``scored`` is a feature table with ``fthg``/``ftag``. Few,
    large steps: it must fit in a second, not be the best goal model."""
    from soccer_assets.modeling.goals.model import GoalParams, train_goal_model

    params = GoalParams(num_boost_round=150, learning_rate=0.1, early_stopping_rounds=15)
    train = scored[scored["season"] < "2022-23"]
    valid = scored[scored["season"] == "2022-23"]
    return train_goal_model(train, valid, variant=variant, seed=seed, params=params)


def register_pipeline_model(tracking_uri: str, name: str, trained: Any, example: pd.DataFrame,
                            alias: str | None = "champion") -> str:
    """Register a ``TrainedModel`` the way the Dagster pipeline does (``soccer_assets.storage.model_store``:
    pyfunc package of booster + model_meta.json, and the goal booster when ``trained.goals`` is set);
    returns the version."""
    import mlflow
    from mlflow import MlflowClient

    from soccer_assets.storage.model_store import log_outcome_model

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with mlflow.start_run():
        info = log_outcome_model(trained, example, registered_model_name=name)
    version = str(info.registered_model_version)
    if alias:
        MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).set_registered_model_alias(
            name, alias, version
        )
    return version


def assert_same_records(got: Any, want: Any, where: str = "", tol: float = 1e-9) -> None:
    """Equal (priced-market) records: keys, order and strings exactly, numbers to ``tol`` (absolute,
    or relative for large ones such as the fair price of a 6-6 score)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (where, got, want)
        for k in want:
            assert_same_records(got[k], want[k], f"{where}.{k}", tol)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for n, (g, x) in enumerate(zip(got, want, strict=True)):
            assert_same_records(g, x, f"{where}[{n}]", tol)
    elif isinstance(want, float):
        assert isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=tol, abs_tol=tol), (
            where, got, want)
    else:
        assert got == want, (where, got, want)
