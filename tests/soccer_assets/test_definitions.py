"""A snapshot of the whole code location: asset keys, deps and their partition mappings, partitions,
check specs, job selections, schedules, sensors and resources.

An unintended graph change (a renamed asset, a dropped dep, a check that stops blocking) fails here
in seconds, long before a slow integration test would. After an intended change, regenerate:

    SOCCER_UPDATE_SNAPSHOTS=1 uv run pytest tests/soccer_assets/test_definitions.py

and review the diff of ``definitions_snapshot.json`` like code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from soccer_assets.config import load_config
from soccer_assets.definitions import build_definitions

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
# Fixed partitions: the default last season is the current one, which would move the snapshot
# every July.
CONFIG = {"leagues": "E0,E1,SP1,D1,I1,F1", "first_season": "2012-13", "last_season": "2023-24"}


def _partitions(pd: dg.PartitionsDefinition | None) -> Any:
    if pd is None:
        return None
    if isinstance(pd, dg.MultiPartitionsDefinition):
        return {
            "type": "multi",
            "dimensions": {d.name: _partitions(d.partitions_def) for d in pd.partitions_defs},
        }
    return {"type": type(pd).__name__, "keys": list(pd.get_partition_keys())}


def _mapping(mapping: dg.PartitionMapping | None) -> Any:
    if mapping is None:
        return None
    if isinstance(mapping, dg.MultiPartitionMapping):
        return {
            "type": "MultiPartitionMapping",
            "dimensions": {
                upstream: {"downstream": m.dimension_name, "mapping": _mapping(m.partition_mapping)}
                for upstream, m in sorted(mapping.downstream_mappings_by_upstream_dimension.items())
            },
        }
    if isinstance(mapping, dg.StaticPartitionMapping):
        by_upstream = mapping.downstream_partition_keys_by_upstream_partition_key
        return {"type": "StaticPartitionMapping",
                "map": {k: sorted(v) if isinstance(v, (set, list, frozenset)) else v
                        for k, v in sorted(by_upstream.items())}}
    return {"type": type(mapping).__name__}


def _condition(condition: dg.AutomationCondition | None) -> str | None:
    return None if condition is None else condition.get_label() or condition.name


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets: dict[str, Any] = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets_def = defs.resolve_assets_def(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": _partitions(node.partitions_def),
            "deps": {
                parent.to_user_string(): _mapping(
                    assets_def.get_partition_mapping(parent) if assets_def.partitions_def else None
                )
                for parent in sorted(node.parent_keys)
            },
            "checks": {spec.name: {"blocking": spec.blocking} for spec in assets_def.check_specs},
            "backfill_policy": type(assets_def.backfill_policy).__name__
            if assets_def.backfill_policy else None,
            "automation": _condition(node.automation_condition),
        }
    jobs = {}
    for job in sorted(defs.jobs or [], key=lambda j: j.name):
        job_def = defs.resolve_job_def(job.name)
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job_def.asset_layer.selected_asset_keys),
            "partitioned": job_def.partitions_def is not None,
        }
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone,
                 "default_status": s.default_status.value}
        for s in defs.schedules or []
    }
    sensors = {
        s.name: {"jobs": sorted(j.name for j in s.jobs) if s.has_jobs else [],
                 "type": s.sensor_type.value, "default_status": s.default_status.value}
        for s in defs.sensors or []
    }
    checks = {}
    for key in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        checks[key.to_user_string()] = {"automation": _condition(graph.get(key).automation_condition)}
    repo = defs.get_repository_def()
    return {
        "assets": assets,
        "asset_checks": checks,
        "jobs": jobs,
        "schedules": dict(sorted(schedules.items())),
        "sensors": dict(sorted(sensors.items())),
        "resources": sorted(repo.get_top_level_resources()),
    }


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(load_config(**CONFIG))


def _diff(expected: dict, actual: dict, path: str = "") -> list[str]:
    out = []
    for key in sorted(set(expected) | set(actual), key=str):
        where = f"{path}/{key}"
        if key not in actual:
            out.append(f"missing {where}")
        elif key not in expected:
            out.append(f"unexpected {where}")
        elif isinstance(expected[key], dict) and isinstance(actual[key], dict):
            out += _diff(expected[key], actual[key], where)
        elif expected[key] != actual[key]:
            out.append(f"changed {where}: {expected[key]!r} -> {actual[key]!r}")
    return out


def test_definitions_match_the_snapshot(defs):
    actual = json.loads(json.dumps(snapshot(defs)))
    if os.environ.get("SOCCER_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    differences = _diff(expected, actual)
    assert not differences, "the definitions changed (regenerate if intended, see module doc):\n" + "\n".join(
        differences[:40]
    )


def test_a_renamed_asset_fails_the_snapshot(defs):
    """The check is not vacuous: rename one asset and the comparison names it."""
    renamed = [
        a.with_attributes(asset_key_replacements={dg.AssetKey("match_features"): dg.AssetKey("features_v2")})
        if isinstance(a, dg.AssetsDefinition) else a
        for a in defs.assets or []
    ]
    # The jobs select the old name, so only the assets and resources are kept.
    changed = dg.Definitions(assets=renamed, resources=defs.resources, executor=defs.executor)
    expected = json.loads(SNAPSHOT.read_text())
    differences = _diff(expected, json.loads(json.dumps(snapshot(changed))))
    assert "missing /assets/match_features" in differences
    assert "unexpected /assets/features_v2" in differences


def test_definitions_follow_the_settings():
    """Partitions come from the config handed in, not from whatever was imported first."""
    small = build_definitions(load_config(leagues="E0", first_season="2021-22", last_season="2022-23"))
    parts = small.resolve_assets_def("matches").partitions_def
    assert isinstance(parts, dg.MultiPartitionsDefinition)
    assert sorted(parts.get_partition_keys()) == ["E0|2021-22", "E0|2022-23"]
    assert list(small.resolve_assets_def("trained_model").partitions_def.get_partition_keys()) == [
        "2021-22", "2022-23"]
