"""Benchmark: ``/v1/predict`` against ``mlflow models serve`` and a minimal reference, side by side.

Run (about 4 minutes per backend at the defaults; ``--quick`` for a try, about 1.5)::

    uv run python bench/serving.py [--quick | --duration 10 --warmup 2] [--backends sqlite,postgres]
        [--data-dir ./data] [--json out.json] [--write-doc]

Not a test: nothing is asserted on timing. Everything runs on loopback and stops by itself (process
groups: SIGTERM, then SIGKILL; the temporary directory, the PostgreSQL database and the Redis keys
are removed). One run, three servers with one worker each, on the same champion:

* **api** — ``python -m soccer_serving.cli serve`` on its default settings: SQLite warehouse and
  MLflow store (``SOCCER_WAREHOUSE_URL``, ``SOCCER_MLFLOW_TRACKING_URI``), Redis on 127.0.0.1:6379
  with a throw-away ``SOCCER_BROKER_NAMESPACE``; then again with the warehouse on a throw-away
  PostgreSQL database (``SOCCER_BENCH_PG_ADMIN``, default ``postgresql+psycopg://postgres@
  127.0.0.1:5432/test``). Gets team names and a kick-off date.
* **mlflow** — ``mlflow models serve -m models:/soccer-outcome-ratings@champion --env-manager
  local``; gets the feature row (``dataframe_split``, the model's feature columns in order).
* **reference** — ``bench/reference_server.py``: FastAPI, a pydantic body, two in-memory team
  vectors, the row in numpy, ``booster.inplace_predict``: the fastest this stack can do.

The champion is what the pipeline registers: by default it is built here, in the temporary
directory, with the pipeline's code (``build_match_features`` on the shared E0 files,
``train_model`` variant ``ratings`` trained before 2023-24, registered by
``model_store.log_outcome_model`` as the ``champion_model`` asset does, alias ``champion``;
``team_state`` from ``build_team_states`` as of 2024-01-01). ``--data-dir DIR`` uses the output of
``bash scripts/main.sh`` instead (``DIR/warehouse.db`` and ``DIR/mlflow.db``, copied: DIR is
never written to). The bodies cycle through the E0 matches of the team state's season after its
``as_of`` (2023-24 after 1 January by default; with ``--data-dir`` the season's fixtures dated
``as_of``). The feature rows sent to mlflow are the API's: ``fixture_features`` on the same
``team_state``; a parity probe checks the three servers return the same probabilities.

Load: ``wrk`` (1 thread, ``-c 1`` and ``-c 8``, ``--latency``, a Lua script cycling the bodies and
counting non-2xx) when it is on PATH, else an httpx driver in a separate process; the output says
which. Workloads: single predictions at c=1 and c=8 on each server; a batch of 100 matches in one
request (``/v1/predict/batch``, the reference's ``/predict/batch``, mlflow with the 100 feature
rows) at c=1, reported as predictions per second. Each measurement is preceded by a warm-up.

How to read it: the machine is small and shared (2 cores; the load average before and after is
printed), so absolute figures move from run to run; the servers are measured in turn within one
run and the **ratios** are what the acceptance of issue 16 asks for, each printed with its bar:
API req/s at c=8 / mlflow's (≥ 10), mlflow p50 at c=1 / API's (≥ 10), API req/s at c=8 /
reference's (≥ 0.5), batch predictions/s API / mlflow (≥ 10), and no non-2xx. ``--json`` writes
every figure; ``--write-doc`` writes ``docs/performance.md`` with the source hash that
``tests/test_performance_doc.py`` checks. If ``bench/board.py`` exists its measurement runs last.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import math
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = Path(os.environ.get("SOCCER_SHARED_DATA", REPO.parent / "shared" / "data" / "football-data"))
PG_ADMIN = os.environ.get("SOCCER_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SOCCER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LEAGUE = "E0"
AS_OF = dt.date(2024, 1, 1)
EVAL_SEASON = "2023-24"
BATCH = 100
SERVERS = ("api", "mlflow", "reference")
QUIET_MLFLOW = {
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
# (name, numerator, denominator, bar): each a (server, workload, metric) of one backend.
Figure = tuple[str, str, str]
RATIOS: list[tuple[str, Figure, Figure, float]] = [
    ("API req/s at c=8 / mlflow's", ("api", "single c=8", "rps"), ("mlflow", "single c=8", "rps"), 10.0),
    ("mlflow p50 at c=1 / API's", ("mlflow", "single c=1", "p50_ms"), ("api", "single c=1", "p50_ms"), 10.0),
    ("API req/s at c=8 / reference's", ("api", "single c=8", "rps"), ("reference", "single c=8", "rps"), 0.5),
    ("batch predictions/s API / mlflow", ("api", f"batch {BATCH}", "pps"),
     ("mlflow", f"batch {BATCH}", "pps"), 10.0),
]


def _local(name: str) -> ModuleType:
    """A sibling module of this file (``bench`` is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_hash = _local("_hash")
_load = _local("_load")
source_hash: Callable[..., str] = _hash.source_hash


# --- processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A server subprocess in its own process group, logging to a file; ``stop`` ends the group."""

    def __init__(self, name: str, args: list[str], workdir: Path, env: dict[str, str]):
        self.name = name
        self.log = workdir / f"{name}.log"
        self._fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        # The venv's bin dir first: ``mlflow models serve`` execs ``uvicorn`` from PATH.
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.proc = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, **env, "PATH": path}, start_new_session=True)

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]

    def wait_http(self, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} not ready at {url}:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:  # the leader is gone; children of the group may not be
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._fh.close()


# --- the champion and the team state ------------------------------------------------------------
def load_e0() -> Any:
    import pandas as pd

    from soccer_assets.core.seasons import code_to_season
    from soccer_assets.sources.parser import parse_season_csv

    frames = [
        parse_season_csv(p.read_bytes(), LEAGUE, code_to_season(p.parent.name)).matches
        for p in sorted((DATA / "mmz4281").glob(f"*/{LEAGUE}.csv"))
    ]
    if not frames:
        raise SystemExit(f"no {LEAGUE}.csv under {DATA / 'mmz4281'} (set SOCCER_SHARED_DATA)")
    return pd.concat(frames, ignore_index=True).sort_values("kickoff", kind="stable").reset_index(drop=True)


def build_champion(work: Path) -> tuple[str, str]:
    """Train and register the champion, write team_state; returns (warehouse URL, tracking URI)."""
    import mlflow
    from mlflow import MlflowClient

    from soccer_assets.core.names import CHAMPION_ALIAS, REGISTERED_NAMES
    from soccer_assets.features.build import build_match_features
    from soccer_assets.features.params import FeatureParams
    from soccer_assets.features.state import build_team_states
    from soccer_assets.modeling.evaluate import attach_labels
    from soccer_assets.modeling.split import temporal_split
    from soccer_assets.modeling.train import train_model
    from soccer_assets.storage import model_store
    from soccer_assets.storage.warehouse import Warehouse
    from soccer_serving.jobs.store import create_serving_schema
    from soccer_serving.registry import feature_params_hash

    warehouse_url = f"sqlite:///{work / 'warehouse.db'}"
    tracking = f"sqlite:///{work / 'mlflow.db'}"
    matches = load_e0()
    feats = build_match_features(matches)
    # As champion_model does: a split for the season after the last one trained on.
    split = temporal_split(attach_labels(feats, matches), EVAL_SEASON, validation_seasons=1)
    model = train_model(split.train, split.train["y"].to_numpy(), split.validation,
                        split.validation["y"].to_numpy(), variant="ratings", seed=0)
    name = REGISTERED_NAMES["ratings"]
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(tracking)
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    exp = client.create_experiment("soccer-bench", artifact_location=(work / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=exp, run_name="ratings-champion-candidate"):
        mlflow.set_tags({"variant": "ratings", "trained_through": str(split.validation["season"].max()),
                         "bench": "bench/serving.py", **model_store.feature_params_tags()})
        info = model_store.log_outcome_model(model, split.validation, registered_model_name=name)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, str(info.registered_model_version))

    params = FeatureParams()
    wh = Warehouse(warehouse_url)
    try:
        create_serving_schema(wh.engine)
        states = build_team_states(matches, as_of=AS_OF, params=params)
        rows = [{"team": s.team, "season": s.season, "state": s.to_record(), "last_match_date": s.last_date}
                for (_lg, _t), s in sorted(states.items())]
        wh.replace_team_state(LEAGUE, rows, as_of=AS_OF, feature_params_hash=feature_params_hash(params))
    finally:
        wh.dispose()
    return warehouse_url, tracking


def copy_data_dir(data_dir: Path, work: Path) -> tuple[str, str]:
    """Copies of DIR/warehouse.db and DIR/mlflow.db (SQLite backup API: DIR is only read)."""
    for name in ("warehouse.db", "mlflow.db"):
        src = data_dir / name
        if not src.is_file():
            raise SystemExit(f"{src} not found: run `bash scripts/main.sh` or drop --data-dir")
        with contextlib.closing(sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)) as s, \
                contextlib.closing(sqlite3.connect(work / name)) as d:
            s.backup(d)
    return f"sqlite:///{work / 'warehouse.db'}", f"sqlite:///{work / 'mlflow.db'}"


def workload(warehouse_url: str, tracking: str, limit: int = 400) -> dict[str, Any]:
    """API bodies, the feature rows the API computes for them, the champion's own probabilities."""
    import mlflow
    import numpy as np

    from soccer_assets.core.names import CHAMPION_ALIAS, REGISTERED_NAMES
    from soccer_assets.core.seasons import season_of_date
    from soccer_assets.features.state import fixture_features, states_from_records
    from soccer_assets.modeling.train import predict_proba_matrix
    from soccer_assets.storage.model_store import load_outcome_model
    from soccer_assets.storage.warehouse import Warehouse

    wh = Warehouse(warehouse_url, create_schema=False)
    try:
        rows = wh.read_team_state(LEAGUE)
        if not rows:
            raise SystemExit(f"no {LEAGUE} team_state in {warehouse_url}")
        as_of = rows[0]["as_of"]
        as_of = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
        if isinstance(as_of, dt.datetime):
            as_of = as_of.date()
        season = season_of_date(as_of)
        stored = wh.read_matches([LEAGUE], [season])
    finally:
        wh.dispose()
    states = states_from_records(r["state"] for r in rows)
    if stored.empty:
        stored = load_e0()
        stored = stored[stored["season"] == season]
    pairs = [(str(r.home_team), str(r.away_team), max(r.date.date(), as_of)) for r in stored.itertuples()
             if r.date.date() >= as_of or stored["date"].max().date() < as_of]
    if not pairs:
        raise SystemExit(f"no {LEAGUE} {season} matches to send")
    pairs = pairs[:limit]
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(tracking)
    model = load_outcome_model(f"models:/{REGISTERED_NAMES['ratings']}@{CHAMPION_ALIAS}")
    feats = [fixture_features(states, league=LEAGUE, season=season_of_date(k), home_team=h, away_team=a,
                              kickoff=k) for h, a, k in pairs]
    X = np.array([[f[c] for c in model.features] for f in feats], dtype=np.float64)
    bodies = [{"league": LEAGUE, "home_team": h, "away_team": a, "kickoff": k.isoformat()}
              for h, a, k in pairs]
    batch = [bodies[i % len(bodies)] for i in range(BATCH)]
    xb = [X[i % len(X)].tolist() for i in range(BATCH)]
    return {
        "as_of": as_of.isoformat(), "season": season, "columns": list(model.features),
        "bodies": bodies, "rows": X.tolist(),
        "expected": predict_proba_matrix(model, X).tolist(),
        "mlflow_bodies": [{"dataframe_split": {"columns": list(model.features), "data": [r]}}
                          for r in X.tolist()],
        "api_batch": {"matches": batch}, "ref_batch": {"matches": batch},
        "mlflow_batch": {"dataframe_split": {"columns": list(model.features), "data": xb}},
    }


# --- servers --------------------------------------------------------------------------------------
class Stack:
    """Starts and stops the servers; remembers what to clean up."""

    def __init__(self, work: Path, warehouse_url: str, tracking: str):
        self.work, self.warehouse_url, self.tracking = work, warehouse_url, tracking
        self.procs: list[Proc] = []
        self.namespaces: list[str] = []
        self.pg_dbs: list[str] = []
        self.urls: dict[str, str] = {}

    def start_api(self, warehouse_url: str, tag: str) -> tuple[Proc, str]:
        port = free_port()
        ns = f"soccer-bench-{uuid.uuid4().hex[:8]}"
        self.namespaces.append(ns)
        env = {**QUIET_MLFLOW, "SOCCER_DATA_DIR": str(self.work), "SOCCER_WAREHOUSE_URL": warehouse_url,
               "SOCCER_MLFLOW_TRACKING_URI": self.tracking, "MLFLOW_TRACKING_URI": self.tracking,
               "SOCCER_REDIS_URL": REDIS_URL, "SOCCER_BROKER_NAMESPACE": ns}
        proc = Proc(f"api-{tag}", [sys.executable, "-m", "soccer_serving.cli", "serve", "--port", str(port),
                                   "--workers", "1", "--log-level", "warning"], self.work, env)
        self.procs.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    def start_mlflow(self) -> tuple[Proc, str]:
        from soccer_assets.core.names import CHAMPION_ALIAS, REGISTERED_NAMES

        port = free_port()
        proc = Proc("mlflow", [sys.executable, "-m", "mlflow", "models", "serve",
                               "-m", f"models:/{REGISTERED_NAMES['ratings']}@{CHAMPION_ALIAS}",
                               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
                    self.work, {**QUIET_MLFLOW, "MLFLOW_TRACKING_URI": self.tracking})
        self.procs.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    def start_reference(self) -> tuple[Proc, str]:
        port = free_port()
        proc = Proc("reference", [sys.executable, str(BENCH / "reference_server.py"), "--warehouse-url",
                                  self.warehouse_url, "--tracking-uri", self.tracking, "--port", str(port)],
                    self.work, {**QUIET_MLFLOW, "MLFLOW_TRACKING_URI": self.tracking})
        self.procs.append(proc)
        return proc, f"http://127.0.0.1:{port}"

    def postgres_warehouse(self) -> str:
        """A throw-away database holding the SQLite warehouse's team_state (every league)."""
        import sqlalchemy as sa

        from soccer_assets.storage.warehouse import Warehouse
        from soccer_serving.jobs.store import create_serving_schema

        db = f"soccer_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{db}"'))
        finally:
            admin.dispose()
        self.pg_dbs.append(db)
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
        src, dst = Warehouse(self.warehouse_url, create_schema=False), Warehouse(url)
        try:
            create_serving_schema(dst.engine)
            leagues: dict[str, list[dict[str, Any]]] = {}
            for r in src.read_team_state():
                leagues.setdefault(r["league"], []).append(r)
            for league, rows in leagues.items():
                as_of = rows[0]["as_of"]
                as_of = dt.date.fromisoformat(str(as_of)[:10]) if not isinstance(as_of, dt.date) else as_of
                dst.replace_team_state(league, rows, as_of=as_of,
                                       feature_params_hash=rows[0]["feature_params_hash"])
        finally:
            src.dispose()
            dst.dispose()
        return url

    def close(self) -> None:
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as exc:  # keep cleaning up
                print(f"stopping {p.name}: {exc}", file=sys.stderr)
        if self.pg_dbs:
            import sqlalchemy as sa

            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as c:
                    for db in self.pg_dbs:
                        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            except Exception as exc:
                print(f"dropping {self.pg_dbs}: {exc}", file=sys.stderr)
            finally:
                admin.dispose()
        if self.namespaces:
            try:
                import redis

                client = redis.Redis.from_url(REDIS_URL)
                for ns in self.namespaces:
                    keys = list(client.scan_iter(match=f"{ns}*"))
                    if keys:
                        client.delete(*keys)
                client.close()
            except Exception as exc:
                print(f"removing Redis keys: {exc}", file=sys.stderr)


# --- measuring ----------------------------------------------------------------------------------
def probe(urls: dict[str, str], w: dict[str, Any], n: int = 5) -> dict[str, float]:
    """Max |p - champion's p| per server over the first ``n`` bodies and one batch (parity probe)."""
    import httpx
    import numpy as np

    expected = np.asarray(w["expected"][:n])
    out: dict[str, float] = {}
    with httpx.Client(timeout=60.0) as client:
        for server, base in urls.items():
            got = []
            for i in range(n):
                if server == "mlflow":
                    r = client.post(f"{base}/invocations", json=w["mlflow_bodies"][i])
                    r.raise_for_status()
                    p = r.json()["predictions"][0]
                    got.append([p["p_home"], p["p_draw"], p["p_away"]])
                else:
                    path = "/v1/predict" if server.startswith("api") else "/predict"
                    r = client.post(f"{base}{path}", json=w["bodies"][i])
                    if r.status_code != 200:
                        raise RuntimeError(f"{server} {path}: {r.status_code} {r.text[:500]}")
                    p = r.json()["probabilities"]
                    got.append([p["home"], p["draw"], p["away"]])
            out[server] = float(np.abs(np.asarray(got) - expected).max())
            if server == "mlflow":
                batch_path, body = "/invocations", w["mlflow_batch"]
            elif server.startswith("api"):
                batch_path, body = "/v1/predict/batch", w["api_batch"]
            else:
                batch_path, body = "/predict/batch", w["ref_batch"]
            r = client.post(f"{base}{batch_path}", json=body)
            if r.status_code != 200 or (server.startswith("api") and r.json().get("n_errors")):
                raise RuntimeError(f"{server} {batch_path}: {r.status_code} {r.text[:500]}")
    return out


def write_bodies(work: Path, name: str, bodies: list[Any]) -> Path:
    path = work / f"{name}.jsonl"
    path.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
    return path


def run_backend(backend: str, api_url: str, urls: dict[str, str], files: dict[str, Path],
                args: argparse.Namespace, generator: str) -> list[dict[str, Any]]:
    """Every workload on every server, in turn; returns one record per measurement."""
    targets = {"api": (api_url, "/v1/predict", "/v1/predict/batch", "api", "api_batch"),
               "mlflow": (urls["mlflow"], "/invocations", "/invocations", "mlflow", "mlflow_batch"),
               "reference": (urls["reference"], "/predict", "/predict/batch", "api", "ref_batch")}
    plan = [(f"single c={c}", c, s) for c in (1, 8) for s in SERVERS]
    plan += [(f"batch {BATCH}", 1, s) for s in SERVERS]
    out = []
    for name, c, server in plan:
        base, single, batch, bodies, batch_bodies = targets[server]
        is_batch = name.startswith("batch")
        url = base + (batch if is_batch else single)
        body_file = files[batch_bodies if is_batch else bodies]
        r = _load.measure(url, body_file, c, args.duration, args.warmup, args.work, generator)
        per = BATCH if is_batch else 1
        rec = {"backend": backend, "server": server, "workload": name, "concurrency": c, **r,
               "pps": r["rps"] * per, "predictions_per_request": per}
        out.append(rec)
        print(f"  {backend:8} {server:9} {name:11} {rec['rps']:9.1f} req/s {rec['pps']:10.1f} pred/s "
              f"p50 {rec['p50_ms']:8.2f} ms  p99 {rec['p99_ms']:8.2f} ms  non-2xx {rec['non2xx']}"
              f"  errors {rec['errors']}", flush=True)
    return out


def ratios(results: list[dict[str, Any]], backend: str) -> list[dict[str, Any]]:
    idx = {(r["server"], r["workload"]): r for r in results if r["backend"] == backend}
    out = []
    for label, num, den, bar in RATIOS:
        a, b = idx.get(num[:2]), idx.get(den[:2])
        value = a[num[2]] / b[den[2]] if a and b and b[den[2]] else math.nan
        out.append({"backend": backend, "ratio": label, "value": value, "bar": bar,
                    "pass": bool(value >= bar)})
    bad = sum(r["non2xx"] + r["errors"] for r in results if r["backend"] == backend)
    out.append({"backend": backend, "ratio": "non-2xx responses and socket errors", "value": bad, "bar": 0,
                "pass": bad == 0})
    return out


def board_hook(stack: Stack, as_of: dt.date) -> dict[str, Any] | None:
    """``bench/board.py``'s ``board_vs_batch`` (board render of 200 fixtures / one batch call), if any.

    Runs in this process on the SQLite warehouse copy (it writes its fixtures there), after the
    API servers are stopped.
    """
    try:
        if not (BENCH / "board.py").is_file():
            raise ImportError("bench/board.py")
        fn = _local("board").board_vs_batch
        from soccer_serving import board as _board  # noqa: F401 - the board route, if it has landed
        from soccer_serving.settings import ServingSettings
    except (ImportError, AttributeError):
        print("board: not available")
        return None
    ns = f"soccer-bench-{uuid.uuid4().hex[:8]}"
    stack.namespaces.append(ns)
    settings = ServingSettings(data_dir=stack.work, warehouse_url=stack.warehouse_url,
                               mlflow_tracking_uri=stack.tracking, redis_url=REDIS_URL, broker_namespace=ns)
    try:
        out = fn(settings, DATA / "mmz4281" / "2324" / f"{LEAGUE}.csv", n=200, as_of=as_of)
    except Exception as exc:
        print(f"board: failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {k: float(v) for k, v in out.items()}


# --- report -----------------------------------------------------------------------------------------
def tables(report: dict[str, Any]) -> str:
    lines = []
    for backend in report["backends"]:
        lines += [f"### {backend}", "",
                  "| server | workload | req/s | predictions/s | p50 ms | p99 ms | non-2xx | errors |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in report["results"]:
            if r["backend"] == backend:
                lines.append(f"| {r['server']} | {r['workload']} | {r['rps']:.1f} | {r['pps']:.1f} | "
                             f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['non2xx']} | {r['errors']} |")
        lines.append("")
    lines += ["### Ratios (acceptance of issue 16)", "", "| backend | ratio | value | bar | result |",
              "|---|---|---:|---:|---|"]
    for r in report["ratios"]:
        value = f"{r['value']:.2f}" if isinstance(r["value"], float) else str(r["value"])
        bar = f"≥ {r['bar']:g}" if r["bar"] else "= 0"
        verdict = "PASS" if r["pass"] else "FAIL"
        lines.append(f"| {r['backend']} | {r['ratio']} | {value} | {bar} | {verdict} |")
    return "\n".join(lines) + "\n"


def write_doc(report: dict[str, Any]) -> Path:
    path = REPO / _hash.DOC
    m = report["machine"]
    text = f"""# Serving performance

<!-- Generated by `bench/serving.py --write-doc`: do not edit by hand. -->

Generated by `bench/serving.py --write-doc` on {report['date']}; the hash below covers the benchmark
and the serving hot path, and `tests/test_performance_doc.py` fails when it no longer matches
(re-run the command).

- command: `{report['command']}`
- load generator: {report['generator']}; {report['duration']:g} s per measurement after a \
{report['warmup']:g} s warm-up; one worker per server
- machine: {m['cpus']} CPUs; load average (1, 5, 15 min) before {m['load_before']}, after {m['load_after']}
- champion: {report['champion']}; team state {LEAGUE} as of {report['as_of']} ({report['season']})
- parity probe (max |p − champion's p|): {report['parity']}
- board (`bench/board.py`, render of 200 fixtures / one batch call, in-process): {report['board']}

The servers share the machine with the load generator and with whatever else runs on it; they are
measured in turn in the same run, so compare the ratios, not absolute figures across runs.

{tables(report)}
source-hash: {report['source_hash']}
"""
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def terminate_on_signal() -> Iterator[None]:
    """SIGTERM / SIGHUP end the run through the ``finally`` blocks (servers stopped, data removed)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per measurement (10)")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds before each (2)")
    ap.add_argument("--quick", action="store_true", help="3 s measurements, 1 s warm-ups")
    ap.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    ap.add_argument("--data-dir", type=Path, help="use DIR/warehouse.db and DIR/mlflow.db (read only)")
    ap.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    ap.add_argument("--write-doc", action="store_true", help=f"write {_hash.DOC}")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3.0, 1.0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgres"}:
        ap.error("--backends takes sqlite and/or postgres")
    if not 1 <= args.duration <= 300 or not 0 <= args.warmup <= 60:
        ap.error("--duration must be 1..300 s and --warmup 0..60 s")
    generator = "wrk" if args.load_generator == "wrk" or (
        args.load_generator == "auto" and _load.wrk_path()) else "python"
    if generator == "wrk" and not _load.wrk_path():
        ap.error("wrk is not on PATH (apt-get install -y wrk)")
    label = ("wrk (1 thread, --latency, Lua bodies)" if generator == "wrk"
             else "python httpx driver in a separate process (wrk not on PATH)")
    load_before = tuple(round(x, 2) for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load_before}; load generator: {label}", flush=True)
    os.environ.update(QUIET_MLFLOW)
    args.work = Path(tempfile.mkdtemp(prefix="soccer-bench-serving-"))
    stack: Stack | None = None
    try:
        with terminate_on_signal():
            t0 = time.monotonic()
            if args.data_dir:
                print(f"copying {args.data_dir}/warehouse.db and mlflow.db …", flush=True)
                warehouse_url, tracking = copy_data_dir(args.data_dir, args.work)
                champion = f"registered in {args.data_dir} (soccer-outcome-ratings@champion)"
            else:
                print("building the champion with the pipeline's code and writing team_state …", flush=True)
                warehouse_url, tracking = build_champion(args.work)
                champion = f"built by the bench: train_model ratings, trained before {EVAL_SEASON}"
            w = workload(warehouse_url, tracking)
            files = {k: write_bodies(args.work, k, v) for k, v in (
                ("api", w["bodies"]), ("mlflow", w["mlflow_bodies"]), ("api_batch", [w["api_batch"]]),
                ("ref_batch", [w["ref_batch"]]), ("mlflow_batch", [w["mlflow_batch"]]))}
            print(f"  {len(w['bodies'])} bodies, {LEAGUE} {w['season']} from {w['as_of']} "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
            stack = Stack(args.work, warehouse_url, tracking)
            mlflow_proc, mlflow_url = stack.start_mlflow()
            ref_proc, ref_url = stack.start_reference()
            urls = {"mlflow": mlflow_url, "reference": ref_url}
            print("starting mlflow models serve and the reference server …", flush=True)
            mlflow_proc.wait_http(f"{mlflow_url}/ping", 300)
            ref_proc.wait_http(f"{ref_url}/ping", 300)
            results: list[dict[str, Any]] = []
            parity: dict[str, float] = {}
            for backend in backends:
                url = warehouse_url if backend == "sqlite" else stack.postgres_warehouse()
                api, api_url = stack.start_api(url, backend)
                print(f"[{backend}] starting the API …", flush=True)
                api.wait_http(f"{api_url}/ready", 300)
                parity.update({(f"{k}/{backend}" if k == "api" else k): v
                               for k, v in probe({"api": api_url, **urls}, w).items()})
                print(f"[{backend}] parity probe: {parity}", flush=True)
                results += run_backend(backend, api_url, urls, files, args, generator)
                api.stop()
            board = board_hook(stack, dt.date.fromisoformat(w["as_of"]))
            load_after = tuple(round(x, 2) for x in os.getloadavg())
            report: dict[str, Any] = {
                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "command": shlex.join(["uv", "run", "python", "bench/serving.py", *(argv or sys.argv[1:])]),
                "generator": label, "duration": args.duration, "warmup": args.warmup,
                "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after},
                "champion": champion, "as_of": w["as_of"], "season": w["season"],
                "parity": {k: float(f"{v:.3g}") for k, v in parity.items()},
                "backends": backends, "results": results,
                "ratios": [r for b in backends for r in ratios(results, b)],
                "board": board, "source_hash": source_hash(),
            }
            print()
            print(tables(report))
            if board is not None:
                print(f"board (render of 200 fixtures vs one batch call, in-process): {board}")
            print(f"{os.cpu_count()} CPUs; load average before {load_before}, after {load_after}")
            if args.json:
                args.json.write_text(json.dumps(report, indent=2, default=str))
                print(f"wrote {args.json}")
            if args.write_doc:
                print(f"wrote {write_doc(report).relative_to(REPO)}")
            return 0
    finally:
        if stack is not None:
            stack.close()
        if args.keep:
            print(f"kept {args.work}")
        else:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
