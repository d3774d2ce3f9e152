"""Pinned data snapshots for DVC (``soccer snapshot ...``; see docs/dvc.md).

Three actions, each one a DVC stage's command or a step of refreshing a snapshot:

* :func:`fetch_snapshot` copies the raw season files from a source (the live site, a mirror or a
  directory) into a directory in the site's layout (``mmz4281/<code>/<DIV>.csv``), byte for byte as
  served. Every file must parse before anything is replaced, and the old snapshot is swapped out only
  once the new one is complete: a failed refresh leaves the pinned snapshot as it was.
* :func:`dvc_dir_md5` is the hash DVC records for such a directory (``<md5>.dir`` in ``dvc.lock``),
  computed from the files themselves, so a model can be tagged with the snapshot it was built from.
* :func:`build_from_snapshot` runs ``soccer pipeline`` offline on a snapshot in a stage-local work
  directory and exports what DVC versions: the champion models (``booster.ubj`` + ``model_meta.json``)
  and deterministic metrics JSON (sorted keys, rounded floats, no timestamps, run ids or paths).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soccer_assets.config import load_config
from soccer_assets.core.names import EXPERIMENT, REGISTERED_NAMES, SNAPSHOT_TAG, VARIANTS
from soccer_assets.core.seasons import partition_key, seasons_between, validate_league

# Metrics are rounded so that the files compare byte for byte and diff readably; 1e-6 is far below
# any difference between two forecasters worth reading.
DIGITS = 6


class SnapshotError(RuntimeError):
    """A snapshot that cannot be fetched, read or built from; the message says which file and why."""


# ------------------------------------------------------------------------------------- hashing


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_dir_md5(directory: Path) -> str:
    """The ``md5`` DVC 3 records for ``directory`` as an output (``<hex>.dir``).

    DVC hashes a directory as the md5 of the JSON list of its files' md5 and ``/``-separated relative
    paths, sorted by path (``dvc_data.hashfile.tree.Tree.digest``). Recomputing it here tags a model
    with the hash of the files it really read, and the DVC test checks it against ``dvc.lock``.
    Files that ``.dvcignore`` would hide must not be present (the snapshot holds only season files).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SnapshotError(f"snapshot directory {directory} does not exist")
    entries = [
        {"md5": _file_md5(path), "relpath": path.relative_to(directory).as_posix()}
        for path in directory.rglob("*")
        if path.is_file()
    ]
    entries.sort(key=lambda e: e["relpath"])
    payload = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(payload).hexdigest() + ".dir"


# -------------------------------------------------------------------------------------- fetch


@dataclass(frozen=True)
class FetchedFile:
    league: str
    season: str
    relpath: str
    size: int
    rows: int


@dataclass(frozen=True)
class FetchReport:
    files: list[FetchedFile]
    not_published: list[str]
    md5: str


def fetch_snapshot(
    source_url: str,
    out: Path,
    leagues: Sequence[str],
    seasons: Sequence[str],
    *,
    min_interval: float | None = None,
) -> FetchReport:
    """Copy the season files of ``leagues`` × ``seasons`` from ``source_url`` into ``out``.

    A season the source does not publish (404, or a missing file under ``file://``) is skipped and
    reported; any other failure, or a file that does not parse, raises :class:`SnapshotError` and
    leaves ``out`` untouched.
    """
    from soccer_assets.core.names import SITE_URL
    from soccer_assets.sources.client import FootballDataClient
    from soccer_assets.sources.fetch import fetch_seasons
    from soccer_assets.sources.parser import ParseError, parse_season_csv

    out = Path(out)
    leagues = [validate_league(x) for x in leagues]
    if min_interval is None:
        # Polite on the real site (one request a second), free on a mirror or a directory.
        min_interval = 1.0 if source_url.startswith(SITE_URL) else 0.0
    staging = out.with_name(f".{out.name}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files: list[FetchedFile] = []
    missing: list[str] = []
    try:
        with FootballDataClient(source_url, min_interval=min_interval) as client:
            pairs = [(league, season) for season in seasons for league in leagues]
            for item in fetch_seasons(client, pairs):
                league, season, relpath = item.league, item.season, item.path
                if item.not_published:
                    missing.append(relpath)
                    continue
                if item.error is not None:
                    raise SnapshotError(f"{relpath}: {item.error}") from item.error
                result = item.result
                assert result is not None
                try:
                    parsed = parse_season_csv(result.content, league, season)
                except ParseError as exc:
                    raise SnapshotError(f"{relpath} from {source_url} does not parse: {exc}") from exc
                target = staging / relpath
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(result.content)  # as served: CRLF, BOM and all
                files.append(FetchedFile(league, season, relpath, result.size, len(parsed.matches)))
        if not files:
            raise SnapshotError(f"{source_url} has none of the requested season files")
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchReport(files=files, not_published=missing, md5=dvc_dir_md5(out))


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with two renames, so ``out`` is never half-written."""
    old = out.with_name(f".{out.name}.previous")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


# -------------------------------------------------------------------------------------- build


def _round(value: object) -> object:
    """JSON-ready scalar: ints stay ints, floats get ``DIGITS`` decimals, NaN becomes null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):  # numpy integers too
        return int(value)
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else round(number, DIGITS)


def write_json(path: Path, payload: object) -> None:
    """Deterministic JSON: sorted keys, fixed indentation, trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n")


def evaluation_metrics(lake_dir: Path, test_seasons: Iterable[str]) -> dict:
    """``{season: {league|ALL: {forecaster: {metric: value}}}}`` from the ``model_evaluation`` tables.

    Baselines come from the ``ratings`` table (both variants are scored on the same test rows); the
    models appear as ``model:ratings`` and ``model:market``.
    """
    import pandas as pd

    from soccer_assets.storage.lake import Lake

    lake = Lake(lake_dir)
    out: dict[str, dict] = {}
    for season in test_seasons:
        by_league: dict[str, dict] = {}
        for variant in VARIANTS:
            path = lake.season_dir("model_evaluation", season) / f"{variant}_metrics.parquet"
            if not path.is_file():
                raise SnapshotError(f"the pipeline wrote no evaluation for {season} ({path.name} missing)")
            table = pd.read_parquet(path)
            for row in table.to_dict("records"):
                name = row.pop("forecaster")
                league = row.pop("league")
                if name == "model":
                    name = f"model:{variant}"
                elif variant != "ratings":
                    continue
                by_league.setdefault(league, {})[name] = {k: _round(v) for k, v in sorted(row.items())}
        out[season] = by_league
    return out


def champion_metrics_and_models(tracking_uri: str, snapshot_md5: str, models_dir: Path) -> dict:
    """Export each variant's latest champion-candidate model built from this snapshot.

    The run is found by its tags (``dagster.asset``, ``variant`` and the snapshot hash), its registered
    version loaded through ``model_store`` and saved as ``booster.ubj`` + ``model_meta.json``. The
    returned numbers do not depend on what the registry held before (the gate's comparison with an
    earlier champion does, so it is left out).
    """
    from mlflow import MlflowClient

    from soccer_assets.storage import model_store

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise SnapshotError(f"no {EXPERIMENT} experiment in {tracking_uri}")
    out: dict[str, dict] = {}
    for variant in VARIANTS:
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=(
                "tags.`dagster.asset` = 'champion_model' and "
                f"tags.variant = '{variant}' and tags.`{SNAPSHOT_TAG}` = '{snapshot_md5}'"
            ),
            order_by=["attribute.start_time DESC"],
            max_results=1,
        )
        if not runs:
            raise SnapshotError(f"no champion_model run of the {variant} variant tagged with {snapshot_md5}")
        run = runs[0]
        name = REGISTERED_NAMES[variant]
        versions = client.search_model_versions(f"name = '{name}' and run_id = '{run.info.run_id}'")
        if not versions:
            raise SnapshotError(f"run {run.info.run_id} registered no version of {name}")
        trained = model_store.load_outcome_model(f"models:/{name}/{versions[0].version}")
        model_store.save_trained(trained, Path(models_dir) / variant)
        gate = {k.removeprefix("gate_"): v for k, v in run.data.metrics.items() if k.startswith("gate_")}
        numbers = {k: _round(gate.get(k)) for k in ("challenger_rps", "climatology_rps", "elo_rps")}
        out[variant] = {
            "registered_model": name,
            "trained_through": run.data.tags.get("trained_through"),
            "gate_seasons": run.data.params.get("gate_seasons", "").split(","),
            "best_iteration": int(run.data.params["best_iteration"]),
            **numbers,
            "beats_baselines": bool(
                numbers["challenger_rps"] is not None
                and numbers["challenger_rps"] < min(numbers["climatology_rps"], numbers["elo_rps"])
            ),
        }
    return out


def build_from_snapshot(
    snapshot: Path,
    work: Path,
    leagues: Sequence[str],
    first_season: str,
    last_season: str,
    test_seasons: Sequence[str],
    models_dir: Path,
    metrics_dir: Path,
) -> int:
    """Run the pipeline offline on ``snapshot`` in ``work`` and export models and metrics.

    ``work`` is wiped first: the Dagster instance, warehouse, lake and (unless ``MLFLOW_TRACKING_URI``
    names another store) the MLflow store are stage-local, so nothing from an earlier run leaks in.
    Every MLflow run the pipeline starts is tagged with the snapshot's DVC hash
    (``SoccerConfig.data_snapshot`` -> ``MlflowResource.data_snapshot``) next to the git commit the
    assets record. The pipeline is called as a function with its config: nothing goes through the
    environment.
    """
    snapshot, work = Path(snapshot).resolve(), Path(work).resolve()
    if not (snapshot / "mmz4281").is_dir():
        raise SnapshotError(f"{snapshot} is not a snapshot in the site's layout (no mmz4281/ inside); "
                            "run `dvc pull` or `soccer snapshot fetch` first")
    leagues = [validate_league(x) for x in leagues]
    seasons = seasons_between(first_season, last_season)
    unknown = [s for s in test_seasons if s not in seasons]
    if unknown:
        raise SnapshotError(f"test seasons {unknown} are outside {first_season}..{last_season}")
    md5 = dvc_dir_md5(snapshot)
    shutil.rmtree(work, ignore_errors=True)
    dagster_home, data_dir = work / "dagster_home", work / "data"
    dagster_home.mkdir(parents=True)
    data_dir.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    print(f"snapshot {snapshot.name}: {md5}", flush=True)
    config = load_config(
        data_dir=data_dir, warehouse_url=f"sqlite:///{data_dir / 'warehouse.db'}",
        source_url=snapshot.as_uri(), leagues=",".join(leagues), first_season=first_season,
        last_season=last_season, data_snapshot=md5,
    )

    import dagster as dg

    from soccer_assets.cli.pipeline import run_with_progress

    keys = [partition_key(league, season) for season in seasons for league in leagues]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        summary = run_with_progress(config, keys, test_seasons=list(test_seasons), instance=instance)
    print(summary.render(), flush=True)
    status = 0 if summary.ok else 1
    if status != 0:
        print("soccer snapshot build: the pipeline failed; nothing exported", file=sys.stderr)
        return status
    # models/ is this stage's own output: start it empty. metrics/ may hold other stages' files.
    shutil.rmtree(models_dir, ignore_errors=True)
    params = {"leagues": leagues, "first_season": first_season, "last_season": last_season,
              "test_seasons": list(test_seasons)}
    write_json(Path(metrics_dir) / "evaluation.json", {
        "data_snapshot": md5, "params": params,
        "seasons": evaluation_metrics(data_dir, test_seasons),
    })
    write_json(Path(metrics_dir) / "champion.json", {
        "data_snapshot": md5, "params": params,
        "models": champion_metrics_and_models(config.mlflow_tracking_uri, md5, Path(models_dir)),
    })
    return 0
