"""Declarative automation of the data path, and the versions it runs on (ADR 0014).

* **Code versions** are derived: a hash of the source files of the modules that implement an asset
  (:func:`code_version`), so a change to the logic changes the version and nobody bumps a number.
* **Data versions** are content hashes, one per partition, also in a bulk (single-run,
  many-partition) materialization: ``Output``/``MaterializeResult`` carry one data version, so a
  bulk run records each partition's as an ``AssetObservation`` of the partition right after the
  materialization (:func:`partition_versions`), as Dagster's own ``DataVersionsByPartition`` does.
* :func:`on_new_data` requests a partition when the data version of a partition it depends on has
  changed (or its own code version has), so a re-fetch that gets the same bytes starts nothing.
* :data:`automation_sensor` evaluates the conditions; it runs only where ``SOCCER_AUTOMATION`` is
  set (production), and the UI can start it anywhere.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import dagster as dg
import pandas as pd

from soccer_assets.defs.partitions import loading_config

# The tag Dagster reads a data version from (dagster._core.definitions.data_version.DATA_VERSION_TAG).
DATA_VERSION_TAG = "dagster/data_version"
SENSOR_NAME = "default_automation_condition_sensor"


def _module_files(name: str) -> list[Path]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"no source for module {name!r}")
    origin = Path(spec.origin)
    if spec.submodule_search_locations:  # a package: every module in it
        return sorted(origin.parent.rglob("*.py"))
    return [origin]


def code_version(*modules: str) -> str:
    """A hash of the source of ``modules`` (a package counts all its modules), 12 hex digits."""
    digest = hashlib.sha256()
    for name in modules:
        for path in _module_files(name):
            digest.update(path.name.encode())
            digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()[:12]


def frame_version(df: pd.DataFrame) -> str:
    """A content hash of a table: its columns, dtypes and values (not its index)."""
    digest = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def json_version(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def partition_versions(
    asset_key: str, versions: Mapping[str, str]
) -> Iterator[dg.AssetObservation]:
    """Each partition's data version of a bulk run, yielded after the run's ``Output``.

    The observation is the partition's latest event, so it is the version automation compares
    (``AutomationCondition.data_version_changed`` reads materializations and observations alike).
    """
    for key, version in sorted(versions.items()):
        yield dg.AssetObservation(
            asset_key=asset_key,
            partition=key,
            tags={DATA_VERSION_TAG: version},
            metadata={"data_version": version},
        )


def on_new_data() -> dg.AutomationCondition:
    """Request a partition when an upstream partition it reads has a new data version, or will be
    requested in the same tick, or when its own code version changed; never while it or an
    upstream partition is running. Updates made by a run that also targeted this asset (a bulk
    run over the whole path) do not count twice."""
    ac = dg.AutomationCondition
    upstream_changed = ac.any_deps_match(
        (ac.data_version_changed() & ~ac.executed_with_root_target()).with_label("new_data_version")
        | ac.will_be_requested()
    ).with_label("upstream_data_changed")
    return (
        (upstream_changed | ac.code_version_changed()).since_last_handled()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
    ).with_label("on_new_data")


def default_status() -> tuple[dg.DefaultSensorStatus, dg.DefaultScheduleStatus]:
    """Running where the settings turn automation on (production), stopped elsewhere."""
    if loading_config().automation:
        return dg.DefaultSensorStatus.RUNNING, dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultSensorStatus.STOPPED, dg.DefaultScheduleStatus.STOPPED


# Named like the sensor Dagster would add on its own, and targeting every asset and check, so the
# code location has exactly one automation sensor and its start state comes from the settings.
automation_sensor = dg.AutomationConditionSensorDefinition(
    SENSOR_NAME,
    target=dg.AssetSelection.all(),
    default_status=default_status()[0],
    minimum_interval_seconds=60,
    description="Evaluates the automation conditions: the data path (matches, match_features, "
    "team_state) on new data versions, live_monitoring on new results, the freshness checks daily. "
    "Started where SOCCER_AUTOMATION=true (production); training and the champion stay manual.",
)
