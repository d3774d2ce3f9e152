"""Benchmark: ``POST /v1/predict`` latency and throughput, with ``mlflow models serve`` as reference.

Run: ``uv run python bench/serving.py [--duration 15] [--concurrency 8]``. Not a test: no
assertions on timing. Everything runs on loopback and stops by itself:

1. a throw-away PostgreSQL database (``SOCCER_BENCH_PG_ADMIN``, default the local ``test`` db) and an
   MLflow tracking server (``mlflow server``, SQLite backend) in a temporary directory;
2. a small ratings booster trained on the shared E0 files (seasons before 2023-24), registered as
   ``soccer-outcome-ratings@champion`` per the model contract; E0 ``team_state`` as of 2024-01-01;
3. the API (``python -m soccer_serving.cli serve``) and the reference
   ``mlflow models serve -m models:/soccer-outcome-ratings@champion --env-manager local``;
4. ``--concurrency`` clients drive each server for ``--duration`` seconds (after a warm-up) with the
   2023-24 matches after 1 January: the API gets team names and a date (features from
   ``team_state``, booster, prediction log insert), the reference gets the ready feature row
   (booster only). Prints p50/p95/p99 latency, throughput and errors for both.

The load generator shares the machine with the servers; compare the two rows, not absolute numbers
across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SOCCER_SHARED_DATA", REPO.parent / "shared" / "data" / "football-data"))
PG_ADMIN = os.environ.get("SOCCER_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SOCCER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MODEL = "soccer-outcome-ratings"
AS_OF = dt.date(2024, 1, 1)
QUIET_MLFLOW = {
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A server subprocess in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], workdir: Path, env: dict[str, str]):
        self.name = name
        self.log = workdir / f"{name}.log"
        self._fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        # The venv's bin dir first: ``mlflow models serve`` execs ``uvicorn`` from PATH.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, **env, "PATH": path}, start_new_session=True)

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} not ready at {url}:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._fh.close()


def load_e0() -> pd.DataFrame:
    from soccer_assets.core.seasons import code_to_season
    from soccer_assets.sources.parser import parse_season_csv

    frames = [
        parse_season_csv(p.read_bytes(), "E0", code_to_season(p.parent.name)).matches
        for p in sorted((DATA / "mmz4281").glob("*/E0.csv"))
    ]
    return pd.concat(frames, ignore_index=True).sort_values("kickoff", kind="stable").reset_index(drop=True)


def prepare(tracking_uri: str, warehouse_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train + register the champion, write team_state; returns (API bodies, reference bodies)."""
    import mlflow
    import xgboost as xgb
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    from soccer_assets.features.build import build_match_features
    from soccer_assets.features.params import FeatureParams
    from soccer_assets.features.state import RATING_FEATURES, build_team_states
    from soccer_assets.modeling.metrics import outcome_index
    from soccer_assets.storage.warehouse import Warehouse
    from soccer_serving.jobs.store import create_serving_schema
    from soccer_serving.registry import feature_params_hash

    matches = load_e0()
    feats = build_match_features(matches)
    train = feats["season"] < "2023-24"
    X = feats.loc[train, RATING_FEATURES]
    y = outcome_index(matches.loc[train.to_numpy(), "ftr"].astype(str))
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3, "eta": 0.05,
                         "seed": 0, "nthread": 2, "verbosity": 0}, xgb.DMatrix(X, label=y), 200)
    params = FeatureParams()
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run():
        mlflow.log_params({f"feature.{k}": v for k, v in params.as_dict().items()})
        mlflow.set_tag("feature_params_json", json.dumps(params.as_dict()))
        info = mlflow.xgboost.log_model(
            booster, name="model", signature=infer_signature(X, booster.predict(xgb.DMatrix(X))),
            input_example=X.head(3), registered_model_name=MODEL,
            pip_requirements=[f"xgboost=={xgb.__version__}"],
        )
    MlflowClient(tracking_uri=tracking_uri).set_registered_model_alias(
        MODEL, "champion", str(info.registered_model_version))

    wh = Warehouse(warehouse_url)
    create_serving_schema(wh.engine)
    states = build_team_states(matches, as_of=AS_OF, params=params)
    rows = [{"team": s.team, "season": s.season, "state": s.to_record(), "last_match_date": s.last_date}
            for (_lg, _t), s in sorted(states.items())]
    wh.replace_team_state("E0", rows, as_of=AS_OF, feature_params_hash=feature_params_hash(params))
    wh.dispose()

    later = (feats["season"] == "2023-24") & (feats["date"].dt.date >= AS_OF)
    api_bodies = [
        {"league": "E0", "home_team": r.home_team, "away_team": r.away_team,
         "kickoff": r.date.date().isoformat()}
        for r in feats.loc[later].itertuples()
    ]
    ref_rows = feats.loc[later, RATING_FEATURES].astype(float)
    ref_bodies = [
        {"dataframe_split": {"columns": RATING_FEATURES, "data": [row]}}
        for row in ref_rows.to_numpy().tolist()
    ]
    return api_bodies, ref_bodies


async def drive(url: str, bodies: list[dict[str, Any]], concurrency: int, duration: float,
                warmup: float) -> dict[str, Any]:
    """``concurrency`` clients POST bodies in turn; latencies after the warm-up are kept."""
    lat: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    t_measure = start + warmup
    t_end = t_measure + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while True:
                t0 = time.perf_counter()
                if t0 >= t_end:
                    return
                body = bodies[i % len(bodies)]
                i += concurrency
                try:
                    r = await client.post(url, json=body)
                    code = r.status_code
                except httpx.HTTPError:
                    code = -1
                t1 = time.perf_counter()
                if t0 >= t_measure:
                    statuses[code] = statuses.get(code, 0) + 1
                    if code == 200:
                        lat.append(t1 - t0)
                    else:
                        errors += 1

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    elapsed = min(time.perf_counter(), t_end) - t_measure
    q = np.percentile(np.asarray(lat) * 1000.0, [50, 95, 99]) if lat else [float("nan")] * 3
    return {"ok": len(lat), "errors": errors, "statuses": statuses, "rps": len(lat) / elapsed,
            "p50": q[0], "p95": q[1], "p99": q[2],
            "mean": statistics.fmean(lat) * 1000.0 if lat else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=15.0, help="measured seconds per target")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--api-workers", type=int, default=1, help="uvicorn workers of the API")
    ap.add_argument("--log-mode", choices=("sync", "background"), default="sync",
                    help="SOCCER_PREDICTION_LOG_MODE of the API")
    ap.add_argument("--skip-reference", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.concurrency <= 256 or not 0 < args.duration <= 300:
        ap.error("concurrency must be 1..256 and duration 0..300 s")

    import sqlalchemy as sa

    work = Path(tempfile.mkdtemp(prefix="soccer-bench-"))
    db = f"soccer_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{db}"'))
    warehouse_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    namespace = f"soccer-bench-{uuid.uuid4().hex[:8]}"
    procs: list[Proc] = []
    os.environ.update(QUIET_MLFLOW)
    try:
        mport = free_port()
        tracking = f"http://127.0.0.1:{mport}"
        mlflow_proc = Proc("mlflow", [sys.executable, "-m", "mlflow", "server",
                                      "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                                      "--default-artifact-root", "mlflow-artifacts:/",
                                      "--artifacts-destination", str(work / "artifacts"),
                                      "--host", "127.0.0.1", "--port", str(mport), "--workers", "1"],
                           work, QUIET_MLFLOW)
        procs.append(mlflow_proc)
        print("starting MLflow server …", flush=True)
        mlflow_proc.wait_http(f"{tracking}/health", 300)
        print("training and registering the champion, writing team_state …", flush=True)
        api_bodies, ref_bodies = prepare(tracking, warehouse_url)

        aport, rport = free_port(), free_port()
        env = {**QUIET_MLFLOW, "SOCCER_WAREHOUSE_URL": warehouse_url, "SOCCER_MLFLOW_TRACKING_URI": tracking,
               "SOCCER_REDIS_URL": REDIS_URL, "SOCCER_BROKER_NAMESPACE": namespace,
               "SOCCER_REGISTRY_POLL_SECONDS": "30", "SOCCER_PREDICTION_LOG_MODE": args.log_mode}
        api = Proc("api", [sys.executable, "-m", "soccer_serving.cli", "serve", "--port", str(aport),
                           "--workers", str(args.api_workers), "--log-level", "warning"], work, env)
        procs.append(api)
        ref = None
        if not args.skip_reference:
            ref = Proc("reference", [sys.executable, "-m", "mlflow", "models", "serve",
                                     "-m", f"models:/{MODEL}@champion", "--env-manager", "local",
                                     "-h", "127.0.0.1", "-p", str(rport), "-w", str(args.api_workers)],
                       work, {**QUIET_MLFLOW, "MLFLOW_TRACKING_URI": tracking})
            procs.append(ref)
        print("starting the API and the reference server …", flush=True)
        api.wait_http(f"http://127.0.0.1:{aport}/ready", 300)
        if ref is not None:
            ref.wait_http(f"http://127.0.0.1:{rport}/ping", 300)

        results = {}
        print(f"driving each for {args.duration:.0f} s with {args.concurrency} concurrent clients …",
              flush=True)
        results[f"soccer_serving /v1/predict ({args.log_mode} log)"] = asyncio.run(
            drive(f"http://127.0.0.1:{aport}/v1/predict", api_bodies, args.concurrency, args.duration,
                  args.warmup))
        if ref is not None:
            results["mlflow models serve /invocations"] = asyncio.run(
                drive(f"http://127.0.0.1:{rport}/invocations", ref_bodies, args.concurrency,
                      args.duration, args.warmup))

        head = ("target", "req/s", "p50 ms", "p95 ms", "p99 ms", "ok", "errors")
        print("\n{:40} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6}".format(*head))
        for name, r in results.items():
            print(f"{name:40} {r['rps']:8.1f} {r['p50']:8.2f} {r['p95']:8.2f} {r['p99']:8.2f} "
                  f"{r['ok']:7d} {r['errors']:6d}")
            if r["errors"]:
                print(f"    statuses: {r['statuses']}")
        print(f"\n{os.cpu_count()} CPUs; clients share the machine. The API computes features from "
              "team_state and logs each prediction to PostgreSQL; the reference only runs the booster "
              "on a ready feature row.")
        return 0
    finally:
        for p in reversed(procs):
            p.stop()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{namespace}*"))
            if keys:
                client.delete(*keys)
        except Exception:
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
