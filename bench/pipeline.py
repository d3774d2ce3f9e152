"""Benchmark: the pipeline's cost for the 72 shared league-seasons and its growth with data.

Run: ``uv run python bench/pipeline.py [--quick] [--repeat N] [--only a,b,c,d,e] [--profile]``.
Prints one line per figure (median of ``--repeat`` runs, default 3). Not a test: no assertions on
timing. Every run starts from nothing: a fresh data directory, a fresh PostgreSQL warehouse
database (``SOCCER_BENCH_PG_ADMIN``, default the local ``test`` database's server), a fresh
Dagster instance; the source is a ``file://`` mirror of the shared files.

a. ``soccer pipeline --test-seasons none --no-champion`` over the 72 partitions (one bulk run +
   ``team_state``, SQLite Dagster instance), with its ``league_season_pipeline`` run timed on its own,
   and the same with ``--per-partition`` (72 runs) for comparison;
b. a backfill of ``raw_match_files, matches, match_features`` × 72 partitions launched through the
   webserver's GraphQL API (``launchPartitionBackfill``, as the UI does) on a PostgreSQL-backed
   instance with ``dagster-daemon`` running (the root ``dagster.yaml``): runs created, launch → last
   run's success, launch → backfill marked complete;
c. the walk-forward backtest (``walk_forward_backtest`` job, 2016-17..2023-24, 8 runs) on a SQLite
   Dagster instance and a fresh SQLite MLflow store; the store's schema migration is done before
   the clock starts (it is a one-off cost of a new store);
d. the bulk run of a (and the walk-forward of c at ``--wf-scales``) on synthetic mirrors with 5× and
   20× the matches (``bench/synthetic.py``: the real files copied under new league codes and team
   names), with time and CPU time per 1,000 matches;
e. the main job as a user runs it (``soccer pipeline``, SQLite Dagster instance, SQLite warehouse and
   MLflow store in the fresh data dir, no ``SOCCER_*`` settings) over every league of both shared
   folders (``--source`` football-data ``--source`` football-data-more ``--leagues all``) from
   2019-20, against the six leagues of football-data over the same seasons, each in two shapes:
   ``--test-seasons none --no-champion`` and in full (walk-forward of 2023-24 + champion); the four
   alternate within each repetition, so the ratios all / six leagues are measured side by side.
   Skipped when football-data-more (``SOCCER_SHARED_DATA_MORE``, default next to football-data) is missing.

``--profile`` adds a cProfile summary of one extra (untimed) bulk ingestion run at ``--profile-scale``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from synthetic import REAL_LEAGUES, build_mirror  # noqa: E402

DATA = Path(os.environ.get("SOCCER_SHARED_DATA", REPO.parent / "shared" / "data" / "football-data"))
MORE = Path(os.environ.get("SOCCER_SHARED_DATA_MORE", DATA.parent / "football-data-more"))
PG_ADMIN = os.environ.get("SOCCER_BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
FIRST, LAST = "2012-13", "2023-24"
TEST_SEASONS = ["2016-17", "2017-18", "2018-19", "2019-20", "2020-21", "2021-22", "2022-23", "2023-24"]
INGEST_ASSETS = ["raw_match_files", "matches", "match_features"]
MAIN_FIRST = "2019-20"  # figure e: the first season football-data-more holds
QUIET = {"MLFLOW_UV_AUTO_DETECT": "false", "MLFLOW_LOG_UV_FILES": "false",
         "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "GIT_PYTHON_REFRESH": "quiet"}


# --------------------------------------------------------------------------- helpers


def med(values: list[float]) -> float:
    return statistics.median(values)


def runs_text(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def load_text() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pg_create(prefix: str) -> str:
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def pg_drop(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    name = pg_create(prefix)
    try:
        yield name
    finally:
        pg_drop(name)


def warehouse_url(db: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"


def sqlite_home(root: Path) -> Path:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def pipeline_env(mirror: Path, leagues: list[str], data_dir: Path, wh_url: str, home: Path) -> dict[str, str]:
    return {
        **os.environ, **QUIET,
        "SOCCER_LEAGUES": ",".join(leagues),
        "SOCCER_FIRST_SEASON": FIRST,
        "SOCCER_LAST_SEASON": LAST,
        "SOCCER_SOURCE_URL": mirror.resolve().as_uri(),
        "SOCCER_SOURCE_MIN_INTERVAL": "0",
        "SOCCER_DATA_DIR": str(data_dir),
        "SOCCER_WAREHOUSE_URL": wh_url,
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }


def run_worker(mode: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    """Run this file as ``--worker mode`` in a fresh interpreter (the partitions definition is built
    from the environment's settings) and return the JSON it prints last."""
    proc = subprocess.run([sys.executable, __file__, "--worker", mode, *extra], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {mode} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- workers (subprocess side)


def worker_ingest(profile: Path | None) -> None:
    t0 = time.perf_counter()
    import dagster as dg

    from soccer_assets.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def("league_season_pipeline")
    keys = list(defs.resolve_assets_def("matches").partitions_def.get_partition_keys())
    instance = dg.DagsterInstance.get()
    t_import = time.perf_counter() - t0
    tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    prof = cProfile.Profile() if profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    if prof:
        prof.disable()
        prof.dump_stats(str(profile))
    t_ingest, c_ingest = time.perf_counter() - t0, time.process_time() - c0
    rows = 0
    for mat in result.asset_materializations_for_node("matches"):
        by = mat.metadata.get("rows_by_partition")
        if by is not None:
            rows = sum(int(v) for v in by.value.values())  # type: ignore[union-attr]
    t0 = time.perf_counter()
    state = defs.resolve_job_def("refresh_team_state").execute_in_process(instance=instance,
                                                                          raise_on_error=False)
    t_state = time.perf_counter() - t0
    print(json.dumps({"import_s": t_import, "ingest_s": t_ingest, "ingest_cpu_s": c_ingest,
                      "team_state_s": t_state,
                      "partitions": len(keys), "matches": rows, "runs": len(instance.get_runs()),
                      "ok": bool(result.success and state.success)}))


def worker_walkforward() -> None:
    import dagster as dg
    from mlflow import MlflowClient

    from soccer_assets.config import load_config
    from soccer_assets.definitions import build_definitions

    defs = build_definitions()

    # A new SQLite store runs MLflow's schema migrations on first use (tens of seconds here):
    # a one-off cost, paid before the clock starts.
    t0 = time.perf_counter()
    uri = load_config().mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments()
    client.search_registered_models()
    t_warm = time.perf_counter() - t0
    job = defs.resolve_job_def("walk_forward_backtest")
    instance = dg.DagsterInstance.get()
    per_season = {}
    ok = True
    t_all, c_all = time.perf_counter(), time.process_time()
    for season in TEST_SEASONS:
        t0 = time.perf_counter()
        result = job.execute_in_process(partition_key=season, instance=instance, raise_on_error=False)
        per_season[season] = time.perf_counter() - t0
        ok = ok and result.success
    print(json.dumps({"warmup_s": t_warm, "total_s": time.perf_counter() - t_all,
                      "cpu_s": time.process_time() - c_all,
                      "per_season": per_season, "ok": ok}))


# --------------------------------------------------------------------------- figures (parent side)


class Scale:
    """A mirror with ``factor``× the shared data and, once ingested, a data dir to model from."""

    def __init__(self, factor: int, root: Path):
        self.factor = factor
        self.root = root / f"x{factor}"
        self.root.mkdir(parents=True, exist_ok=True)
        if factor == 1:
            self.mirror, self.leagues = DATA, list(REAL_LEAGUES)
        else:
            self.mirror = self.root / "mirror"
            self.leagues, _ = build_mirror(self.mirror, factor, DATA)
        self.matches = 0
        self.ingested: tuple[Path, Path, str] | None = None  # data dir, dagster home, warehouse db

    @property
    def partitions(self) -> int:
        return len(self.leagues) * 12


def fresh_dirs(scale: Scale, tag: str) -> tuple[Path, Path, Path]:
    run_root = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=scale.root))
    return run_root, run_root / "data", sqlite_home(run_root)


def figure_ingest(scale: Scale, repeat: int, keep: bool, profile: Path | None = None) -> list[dict]:
    """Bulk ingestion + features (one run) and team_state, in a fresh interpreter per repetition."""
    out = []
    # A profiled run is an extra one, not counted: cProfile slows the run down.
    for i in range(repeat + (1 if profile else 0)):
        run_root, data_dir, home = fresh_dirs(scale, "ingest")
        db = pg_create("bench_wh")
        env = pipeline_env(scale.mirror, scale.leagues, data_dir, warehouse_url(db), home)
        t0 = time.perf_counter()
        extra = ("--profile-out", str(profile)) if profile and i == repeat else ()
        res = run_worker("ingest", env, *extra)
        res["process_s"] = time.perf_counter() - t0
        if not extra:
            out.append(res)
        scale.matches = res["matches"]
        if keep and scale.ingested is None:
            scale.ingested = (data_dir, home, db)
        else:
            pg_drop(db)
            shutil.rmtree(run_root, ignore_errors=True)
    return out


def figure_cli(scale: Scale, repeat: int, per_partition: bool) -> tuple[list[float], list[float], list[int]]:
    """``soccer pipeline`` as a user runs it: process wall time and the time it prints itself."""
    walls, printed, runs = [], [], []
    for _ in range(repeat):
        run_root, data_dir, home = fresh_dirs(scale, "cli")
        with pg_database("bench_wh") as db:
            env = pipeline_env(scale.mirror, scale.leagues, data_dir, warehouse_url(db), home)
            args = [str(BIN / "soccer"), "pipeline", "--leagues", ",".join(scale.leagues),
                    "--first-season", FIRST, "--last-season", LAST, "--test-seasons", "none",
                    "--no-champion", "--source", str(scale.mirror), "--data-dir", str(data_dir),
                    "--warehouse-url", warehouse_url(db)]
            if per_partition:
                args.append("--per-partition")
            t0 = time.perf_counter()
            proc = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(f"soccer pipeline failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            m = re.search(r"(\d+) partitions in ([\d.]+) s", proc.stdout)
            printed.append(float(m.group(2)) if m else float("nan"))
            runs.append(count_sqlite_runs(home))
        shutil.rmtree(run_root, ignore_errors=True)
    return walls, printed, runs


def count_sqlite_runs(home: Path) -> int:
    import sqlite3

    db = home / "history" / "runs.db"
    if not db.exists():
        return -1
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from runs").fetchone()[0])


def figure_walkforward(scale: Scale, repeat: int) -> list[dict]:
    assert scale.ingested is not None
    data_dir, home, db = scale.ingested
    out = []
    for _ in range(repeat):
        store = Path(tempfile.mkdtemp(prefix="mlflow-", dir=scale.root))
        env = pipeline_env(scale.mirror, scale.leagues, data_dir, warehouse_url(db), home)
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
        out.append(run_worker("walkforward", env))
        shutil.rmtree(store, ignore_errors=True)
    return out


LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
  }
}
"""
STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }
"""
RUNS = """
query($filter: RunsFilter) { runsOrError(filter: $filter) { __typename
  ... on Runs { results { runId status creationTime startTime endTime tags { key value } } } } }
"""
READY = """
query { workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
          locationOrLoadError { __typename } } } }
        instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }
"""
DONE = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")


def figure_backfill(scale: Scale, repeat: int) -> list[dict]:
    from tests.support.dagster_stack import dagster_stack

    out = []
    for _ in range(repeat):
        run_root, data_dir, _home = fresh_dirs(scale, "backfill")
        with pg_database("bench_dagster") as dagster_db, pg_database("bench_wh") as wh_db:
            env = pipeline_env(scale.mirror, scale.leagues, data_dir, warehouse_url(wh_db), _home)
            env.pop("DAGSTER_HOME")
            # dagster-postgres opens a connection per query: the unix socket is cheaper than TCP.
            env["DAGSTER_PG_URL"] = f"postgresql+psycopg2://postgres@/{dagster_db}?host=/var/run/postgresql"
            with dagster_stack(run_root, env) as stack:
                wait_ready(stack)
                keys = [f"{lg}|{s}" for lg in scale.leagues for s in seasons()]
                t0 = time.time()
                launched = stack.graphql(LAUNCH, {"params": {
                    "partitionNames": keys,
                    "assetSelection": [{"path": [a]} for a in INGEST_ASSETS],
                    "title": f"bench {len(keys)} partitions",
                }})["launchPartitionBackfill"]
                if launched["__typename"] != "LaunchBackfillSuccess":
                    raise RuntimeError(str(launched))
                backfill = launched["backfillId"]
                status, t_done = None, None
                deadline = time.monotonic() + 1800
                while time.monotonic() < deadline:
                    status = stack.graphql(STATUS, {"id": backfill})["partitionBackfillOrError"]["status"]
                    if status in DONE:
                        t_done = time.time() - t0
                        break
                    time.sleep(0.25)
                runs = stack.graphql(RUNS, {"filter": {"tags": [{"key": "dagster/backfill",
                                                                 "value": backfill}]}})
                results = runs["runsOrError"]["results"]
                if status not in ("COMPLETED", "COMPLETED_SUCCESS"):
                    raise RuntimeError(f"backfill ended {status}:\n{stack.log_tail()}")
            ends = [r["endTime"] for r in results if r["endTime"]]
            starts = [r["startTime"] for r in results if r["startTime"]]
            ranges = sorted({(t["value"]) for r in results for t in r["tags"]
                             if t["key"] == "dagster/asset_partition_range_start"})
            out.append({
                "runs": len(results),
                "succeeded": sum(r["status"] == "SUCCESS" for r in results),
                "ranged_runs": len(ranges),
                "to_first_start_s": min(starts) - t0 if starts else float("nan"),
                "to_last_success_s": max(ends) - t0 if ends else float("nan"),
                "to_complete_s": t_done,
                "run_durations": [r["endTime"] - r["startTime"] for r in results
                                  if r["endTime"] and r["startTime"]],
                # Per run: partition range, created / started / ended, seconds after the launch.
                "timeline": sorted(
                    (tag_of(r, "dagster/asset_partition_range_start") + ".."
                     + tag_of(r, "dagster/asset_partition_range_end"),
                     round(r["creationTime"] - t0, 1), round((r["startTime"] or t0) - t0, 1),
                     round((r["endTime"] or t0) - t0, 1))
                    for r in results),
            })
        shutil.rmtree(run_root, ignore_errors=True)
    return out


def tag_of(run: dict, key: str) -> str:
    return next((t["value"] for t in run["tags"] if t["key"] == key), "?")


def wait_ready(stack: Any, timeout: float = 180) -> None:
    """Code location loaded in the webserver and the daemon's backfill loop heartbeating."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = stack.graphql(READY)
        entries = data["workspaceOrError"].get("locationEntries", [])
        loaded = entries and all(e["loadStatus"] == "LOADED"
                                 and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                                 for e in entries)
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        healthy = {d["daemonType"]: d["healthy"] for d in statuses}
        if loaded and healthy.get("BACKFILL") and healthy.get("QUEUED_RUN_COORDINATOR"):
            return
        time.sleep(1)
    raise RuntimeError(f"Dagster stack not ready:\n{stack.log_tail()}")


def seasons() -> list[str]:
    from soccer_assets.core.seasons import seasons_between

    return seasons_between(FIRST, LAST)


def main_job_env(home: Path) -> dict[str, str]:
    """The environment of ``soccer pipeline`` for figure e: no ``SOCCER_*`` setting (they would
    override the command's partitions and stores) and no MLflow URI, so the warehouse and the MLflow
    store are new SQLite files in the data dir."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOCCER_") and k not in ("MLFLOW_TRACKING_URI", "DAGSTER_HOME")}
    return {**env, **QUIET, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}


STAGE_LINE = re.compile(r"^[✓✗] (.+?)\s+([\d.]+) s(?:\s|$)", re.M)


def run_main_job(root: Path, sources: list[Path], leagues: str, full: bool) -> dict:
    """One ``soccer pipeline`` process from a fresh data dir and Dagster home: its wall time, the
    time it prints, the matches it reports and its stage lines."""
    run_root = Path(tempfile.mkdtemp(prefix="main-", dir=root))
    home, data_dir = sqlite_home(run_root), run_root / "data"
    args = [str(BIN / "soccer"), "pipeline", "--leagues", leagues, "--first-season", MAIN_FIRST,
            "--last-season", LAST, "--data-dir", str(data_dir)]
    for source in sources:
        args += ["--source", str(source)]
    if not full:
        args += ["--test-seasons", "none", "--no-champion"]
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(args, env=main_job_env(home), cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    printed = re.search(r"(\d+) partitions in ([\d.]+) s", proc.stdout)
    matches = re.search(r"total matches: (\d+)", proc.stdout)
    leagues_run = set(re.findall(r"^(\S+)\s+\d{4}(?:-\d{2})?\s+(?:ok|FAILED)\b", proc.stdout, re.M))
    # A stage label names its partition range (e.g. "ingest + features D1|2019-20..SP1|2023-24").
    stages: dict[str, float] = {}
    for label, secs in STAGE_LINE.findall(proc.stdout):
        name = re.sub(r"\s+\S*\|\S*$", "", label.strip())
        stages[name] = stages.get(name, 0.0) + float(secs)
    return {"wall_s": wall, "printed_s": float(printed.group(2)) if printed else float("nan"),
            "partitions": int(printed.group(1)) if printed else -1, "leagues": len(leagues_run),
            "matches": int(matches.group(1)) if matches else 0, "stages": stages, "load": load_text()}


MAIN_SHAPES = {False: "ingest+features+team_state (--test-seasons none --no-champion)",
               True: "full (walk-forward 2023-24 + champion)"}


def figure_main_job(root: Path, repeat: int) -> dict[tuple[str, bool], list[dict]]:
    """Figure e: every division of both shared folders against the six leagues, both shapes, the four
    runs alternating within each repetition (the machine's noise then hits them alike)."""
    sets = {"six": ([DATA], ",".join(sorted(REAL_LEAGUES))), "all": ([DATA, MORE], "all")}
    out: dict[tuple[str, bool], list[dict]] = {(k, f): [] for f in (False, True) for k in sets}
    for _ in range(repeat):
        for full in (False, True):
            for name, (sources, leagues) in sets.items():
                out[(name, full)].append(run_main_job(root, sources, leagues, full))
    return out


def print_main_job(res: dict[tuple[str, bool], list[dict]], line: Callable[..., None]) -> None:
    labels = {"six": f"six leagues ({','.join(sorted(REAL_LEAGUES))}; football-data)",
              "all": "every league of both shared folders (--leagues all; football-data + -more)"}
    for full in (False, True):
        for name in ("six", "all"):
            rs = res[(name, full)]
            walls, printed = [r["wall_s"] for r in rs], [r["printed_s"] for r in rs]
            matches = rs[0]["matches"]
            # The working tree may change between repetitions (other people editing): say so.
            differ = {(r["leagues"], r["partitions"], r["matches"]) for r in rs}
            note = f" (repetitions differ: {sorted(differ)})" if len(differ) > 1 else ""
            line(f"e  soccer pipeline, {labels[name]}, {MAIN_FIRST}..{LAST}, {MAIN_SHAPES[full]}: "
                 f"{rs[0]['leagues']} leagues, {rs[0]['partitions']} partitions, {matches} matches{note}; "
                 f"printed {med(printed):.1f} s [{runs_text(printed)}], process {med(walls):.1f} s "
                 f"[{runs_text(walls)}] = "
                 f"{1000 * med(walls) / matches:.2f} s per 1k matches; after the last: {rs[-1]['load']}")
            stages = {k: [r["stages"].get(k, float("nan")) for r in rs] for k in rs[0]["stages"]}
            line("e    stages (median of each, as printed by the command): "
                 + ", ".join(f"{k} {med(v):.1f} s [{runs_text(v)}]" for k, v in stages.items()))
    for full in (False, True):
        six, alls = res[("six", full)], res[("all", full)]
        m_ratio = alls[0]["matches"] / six[0]["matches"]
        t_ratio = med([r["wall_s"] for r in alls]) / med([r["wall_s"] for r in six])
        p_ratio = med([r["printed_s"] for r in alls]) / med([r["printed_s"] for r in six])
        pairs = [a["wall_s"] / s["wall_s"] for a, s in zip(alls, six, strict=True)]
        line(f"e  --leagues all / six leagues, {MAIN_SHAPES[full]}: matches {m_ratio:.2f}x; process time "
             f"{t_ratio:.2f}x (per repetition [{', '.join(f'{x:.2f}' for x in pairs)}]), printed time "
             f"{p_ratio:.2f}x; time per 1k matches {t_ratio / m_ratio:.2f}x "
             f"(printed {p_ratio / m_ratio:.2f}x)")


def print_profile(path: Path, top: int = 18) -> None:
    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    print("  cProfile of the bulk run (cumulative, top functions):")
    for ln in lines[-(top + 1):]:
        print("   ", ln[:160])
    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.sort_stats("tottime").print_stats(12)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    print("  cProfile of the bulk run (own time, top functions):")
    for ln in lines[-13:]:
        print("   ", ln[:160])


# --------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="repetitions per figure (median printed)")
    p.add_argument("--only", default="a,b,c,d,e", help="figures to run, e.g. a,c")
    p.add_argument("--quick", action="store_true", help="one repetition, 5× only for d, no per-partition")
    p.add_argument("--scales", default="5,20", help="synthetic scales for d")
    p.add_argument("--repeat-large", type=int, default=None,
                   help="repetitions of figure d at scales >= 20 (default --repeat)")
    p.add_argument("--skip-base", action="store_true", help="d without re-measuring the 1x run")
    p.add_argument("--wf-scales", default="5,20", help="synthetic scales at which d times the walk-forward")
    p.add_argument("--repeat-per-partition", type=int, default=3,
                   help="repetitions of the --per-partition comparison in a (0: skip it)")
    p.add_argument("--profile", action="store_true", help="cProfile an extra bulk run (not timed) in d")
    p.add_argument("--profile-scale", type=int, default=5, help="the synthetic scale profiled")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--profile-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "ingest":
        return worker_ingest(args.profile_out)
    if args.worker == "walkforward":
        return worker_walkforward()

    only = set(args.only.split(","))
    repeat = 1 if args.quick else args.repeat
    factors = [5] if args.quick else [int(x) for x in args.scales.split(",") if x]
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    print(f"bench/pipeline.py {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; "
          f"repeat {repeat}; {load_text()}")
    try:
        run(only, repeat, factors, args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def guarded(figure: str, fn: Callable[[], list[dict]]) -> list[dict]:
    """A failing figure is reported and the others still run."""
    try:
        return fn()
    except Exception as exc:  # the bench reports any failure and goes on
        print(f"{figure}  FAILED: {str(exc)[-2000:]}", flush=True)
        return []


def run(only: set[str], repeat: int, factors: list[int], args: argparse.Namespace, root: Path) -> None:
    base = Scale(1, root)
    scales = {1: base}
    line: Callable[..., None] = lambda *a: print(*a, flush=True)  # noqa: E731

    if "a" in only or "c" in only or ("d" in only and not args.skip_base):
        res = res1 = figure_ingest(base, repeat, keep=("c" in only or "d" in only))
        ing = [r["ingest_s"] for r in res]
        line(f"a  league_season_pipeline, {base.partitions} partitions ({base.matches} matches) as ONE run "
             f"(raw_match_files+matches+match_features; in-process, SQLite instance, PG warehouse): "
             f"median {med(ing):.1f} s [{runs_text(ing)}] "
             f"(CPU {med([r['ingest_cpu_s'] for r in res]):.1f} s); "
             f"target <= 15 s; {load_text()}")
        line(f"a  + team_state {med([r['team_state_s'] for r in res]):.1f} s; imports/definitions "
             f"{med([r['import_s'] for r in res]):.1f} s; runs recorded {res[0]['runs']}")
    if "a" in only:
        walls, printed, runs = figure_cli(base, repeat, per_partition=False)
        line(f"a  soccer pipeline CLI (--test-seasons none --no-champion), {base.partitions} partitions: "
             f"printed {med(printed):.1f} s [{runs_text(printed)}] (ingest+features+team_state), process "
             f"{med(walls):.1f} s [{runs_text(walls)}]; Dagster runs {runs[0]}; {load_text()}")
        if not args.quick and args.repeat_per_partition > 0:
            walls, printed, runs = figure_cli(base, args.repeat_per_partition, per_partition=True)
            line(f"a  soccer pipeline CLI --per-partition: printed {med(printed):.1f} s "
                 f"[{runs_text(printed)}], process {med(walls):.1f} s; Dagster runs {runs[0]}; {load_text()}")
    if "b" in only:
        res_b = guarded("b", lambda: figure_backfill(base, repeat))
    if "b" in only and res_b:
        last = [r["to_last_success_s"] for r in res_b]
        done = [r["to_complete_s"] for r in res_b]
        first = [r["to_first_start_s"] for r in res_b]
        durations = [d for r in res_b for d in r["run_durations"]]
        line(f"b  daemon backfill via GraphQL (PG instance, daemon), {base.partitions} partitions x "
             f"{len(INGEST_ASSETS)} assets: runs created {[r['runs'] for r in res_b]} (ranged "
             f"{[r['ranged_runs'] for r in res_b]}); launch -> last run success median {med(last):.1f} s "
             f"[{runs_text(last)}]; target <= 60 s; {load_text()}")
        line(f"b  launch -> first run start {med(first):.1f} s [{runs_text(first)}]; run duration median "
             f"{med(durations):.1f} s; launch -> backfill marked complete {med(done):.1f} s "
             f"[{runs_text(done)}]")
        mid = sorted(res_b, key=lambda r: r["to_last_success_s"])[len(res_b) // 2]
        line("b  runs of the median backfill (range: created/started/ended s after launch): "
             + "; ".join(f"{rg} {c}/{s_}/{e}" for rg, c, s_, e in mid["timeline"]))
    wf = guarded("c", lambda: figure_walkforward(base, repeat)) if "c" in only else []
    if wf:
        tot = [r["total_s"] for r in wf]
        line(f"c  walk-forward backtest, 8 seasons (8 Dagster runs, 2 models each), 1x: median "
             f"{med(tot):.1f} s [{runs_text(tot)}]; target <= 180 s; MLflow store warm-up excluded "
             f"({med([r['warmup_s'] for r in wf]):.1f} s); CPU {med([r['cpu_s'] for r in wf]):.1f} s; "
             f"ok={all(r['ok'] for r in wf)}; {load_text()}")
        per = wf[len(wf) // 2]["per_season"]
        line("c  per season (one repetition): " + ", ".join(f"{s} {v:.1f}" for s, v in per.items()))
        base_wf = med(tot)
    else:
        base_wf = None
    if "d" in only:
        base_ing = None
        if base.matches and not args.skip_base:
            base_ing = med(ing)
            line(f"d  1x  {base.partitions:>5} partitions {base.matches:>7} matches: ingest+features "
                 f"{base_ing:7.1f} s = {1000 * base_ing / base.matches:.2f} s per 1k matches; CPU "
                 f"{med([r['ingest_cpu_s'] for r in res1]):.1f} s")
        for f in factors:
            scale = scales[f] = Scale(f, root)
            profile = root / "profile.out" if args.profile and f == args.profile_scale else None
            n_large = args.repeat_large if (args.repeat_large and f >= 20) else repeat
            res = figure_ingest(scale, n_large, keep=True, profile=profile)
            ing_s = [r["ingest_s"] for r in res]
            ratio = f" = {med(ing_s) / base_ing:.1f}x the 1x time" if base_ing else ""
            line(f"d  {f}x {scale.partitions:>5} partitions {scale.matches:>7} matches: ingest+features "
                 f"{med(ing_s):7.1f} s [{runs_text(ing_s)}] = {1000 * med(ing_s) / scale.matches:.2f} s per "
                 f"1k matches{ratio}; CPU {med([r['ingest_cpu_s'] for r in res]):.1f} s; team_state "
                 f"{med([r['team_state_s'] for r in res]):.1f} s; {load_text()}")
            if profile:
                print_profile(profile)
            wf_here = f in [int(x) for x in args.wf_scales.split(",") if x]
            wf = guarded("d", lambda: figure_walkforward(scale, n_large)) if wf_here else []  # noqa: B023
            if wf:
                tot = [r["total_s"] for r in wf]
                ratio = f" = {med(tot) / base_wf:.1f}x the 1x time" if base_wf else ""
                line(f"d  {f}x walk-forward 8 seasons: median {med(tot):.1f} s [{runs_text(tot)}] = "
                     f"{1000 * med(tot) / scale.matches:.2f} s per 1k matches{ratio}; CPU "
                     f"{med([r['cpu_s'] for r in wf]):.1f} s; {load_text()}")
            if scale.ingested:
                pg_drop(scale.ingested[2])
                scale.ingested = None
            shutil.rmtree(scale.root, ignore_errors=True)
    if base.ingested:
        pg_drop(base.ingested[2])
    if "e" in only:
        if not (MORE.is_dir() and DATA.is_dir()):
            line(f"e  skipped: football-data-more not found at {MORE} (set SOCCER_SHARED_DATA_MORE)"
                 if DATA.is_dir() else f"e  skipped: football-data not found at {DATA}")
        else:
            res_e = guarded("e", lambda: [figure_main_job(root, repeat)])
            if res_e:
                print_main_job(res_e[0], line)


if __name__ == "__main__":
    main()
