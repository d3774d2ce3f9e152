"""Declarative automation reacts to new data only (issue 19, ADR 0014), on a real Dagster instance.

The code location is built from settings (2 leagues × 3 seasons, a ``file://`` copy of the real
season files), materialized in bulk runs as a backfill would, and then driven tick by tick with
``dg.evaluate_automation_conditions`` against the same on-disk (SQLite) instance, carrying the
cursor like the automation daemon, and running what each tick requests like the daemon would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from soccer_assets.config import load_config
from soccer_assets.core.seasons import season_to_code
from soccer_assets.definitions import build_definitions

pytestmark = pytest.mark.slow

LEAGUES = ["E0", "SP1"]
SEASONS = ["2021-22", "2022-23", "2023-24"]
DATA_PATH = ["raw_match_files", "matches", "match_features", "team_state"]
PARTITIONED = DATA_PATH[:3]
# One result of E0 2022-23 (the season's first match) gets another away goal: same outcome, so the
# file stays valid, but the ratings carried into 2023-24 change.
OLD_ROW, NEW_ROW = b"Crystal Palace,Arsenal,0,2,A,", b"Crystal Palace,Arsenal,0,3,A,"


class Stack:
    """A code location over a local copy of the source, and a persistent instance."""

    def __init__(self, tmp: Path, shared: Path):
        self.source = tmp / "source"
        for season in SEASONS:
            folder = self.source / "mmz4281" / season_to_code(season)
            folder.mkdir(parents=True)
            for league in LEAGUES:
                shutil.copy(shared / "mmz4281" / season_to_code(season) / f"{league}.csv", folder)
        config = load_config(
            leagues=",".join(LEAGUES), first_season=SEASONS[0], last_season=SEASONS[-1],
            data_dir=tmp / "data", warehouse_url=f"sqlite:///{tmp / 'warehouse.db'}",
            source_url=self.source.as_uri(),
        )
        self.defs = build_definitions(config)
        (tmp / "dagster_home").mkdir()
        self.instance = dg.DagsterInstance.local_temp(str(tmp / "dagster_home"))
        self.cursor = None
        self.assets = {k: self.defs.resolve_assets_def(k) for k in DATA_PATH}

    def run(self, keys: list[str], partitions: set[str] | None = None) -> None:
        """One run of ``keys`` over ``partitions`` (a range when several: a bulk run)."""
        tags = {}
        partition_key = None
        if partitions and len(partitions) == 1:
            (partition_key,) = partitions
        elif partitions:
            tags = {"dagster/asset_partition_range_start": min(partitions),
                    "dagster/asset_partition_range_end": max(partitions)}
        result = dg.materialize(
            list(self.assets.values()), selection=[self.assets[k] for k in keys],
            partition_key=partition_key, tags=tags,  # resources: bound by the definitions
            instance=self.instance, raise_on_error=False,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]

    def everything(self) -> set[str]:
        return {f"{lg}|{s}" for lg in LEAGUES for s in SEASONS}

    def tick(self) -> dict[str, set[str | None]]:
        """One evaluation of every automation condition: what it requests, by asset."""
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        requested = {}
        for key in self.defs.resolve_asset_graph().get_all_asset_keys():
            parts = result.get_requested_partitions(key)
            if parts:
                requested[key.to_user_string()] = set(parts)
        return requested

    def data_versions(self, asset: str) -> dict[str, str]:
        """Each partition's current data version, as automation reads it: the tag of its latest
        materialization or observation (a bulk run observes each partition after materializing)."""
        out = {}
        for key in self.everything():
            records = [
                *self.instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
                ).records,
                *self.instance.fetch_observations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=1
                ).records,
            ]
            latest = max(records, key=lambda r: r.storage_id)
            out[key] = latest.asset_event.tags["dagster/data_version"]
        return out


@pytest.fixture
def stack(tmp_path, shared_data):
    s = Stack(tmp_path, shared_data)
    # Materialize everything, as a backfill does: one bulk run over every partition, then the state.
    s.run(PARTITIONED, s.everything())
    s.run(["team_state"])
    assert s.tick() == {}  # the first tick only records where it starts
    yield s
    s.instance.dispose()


def test_a_refetch_with_unchanged_bytes_requests_nothing(stack):
    before = {a: stack.data_versions(a) for a in PARTITIONED}
    stack.run(["raw_match_files"], stack.everything())  # the weekly fetch, same bytes
    assert stack.tick() == {}
    assert stack.data_versions("raw_match_files") == before["raw_match_files"]


def test_one_changed_file_rebuilds_exactly_what_it_reaches(stack):
    before = {a: stack.data_versions(a) for a in PARTITIONED}
    changed = stack.source / "mmz4281" / "2223" / "E0.csv"
    data = changed.read_bytes()
    assert data.count(OLD_ROW) == 1
    changed.write_bytes(data.replace(OLD_ROW, NEW_ROW))

    stack.run(["raw_match_files"], stack.everything())  # the weekly fetch: one file differs
    raw = stack.data_versions("raw_match_files")
    assert {k for k in raw if raw[k] != before["raw_match_files"][k]} == {"E0|2022-23"}

    # Tick 1: the matches of the changed file, nothing else (their dependents wait for the new data).
    assert stack.tick() == {"matches": {"E0|2022-23"}}
    stack.run(["matches"], {"E0|2022-23"})

    # Tick 2: the features of that season and every later season of the league (ratings carry
    # over), and the team state; live_monitoring re-scores on new results. No other league.
    requested = stack.tick()
    assert requested.pop("live_monitoring", None) == {None}
    assert requested == {"match_features": {"E0|2022-23", "E0|2023-24"}, "team_state": {None}}
    stack.run(["match_features"], {"E0|2022-23", "E0|2023-24"})  # one bulk run, like the daemon's
    stack.run(["team_state"])

    # Tick 3: the path is up to date.
    assert {k: v for k, v in stack.tick().items() if k in DATA_PATH} == {}

    # The bulk run recorded each partition's own data version: 2023-24's features changed with the
    # ratings carried over, the other league's did not move.
    features = stack.data_versions("match_features")
    assert {k for k in features if features[k] != before["match_features"][k]} == {"E0|2022-23", "E0|2023-24"}
    matches = stack.data_versions("matches")
    assert {k for k in matches if matches[k] != before["matches"][k]} == {"E0|2022-23"}
