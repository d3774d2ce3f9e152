"""The real Dagster machinery: webserver, daemon, PostgreSQL instance storage, a season backfill."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from soccer_assets.core.seasons import DEFAULT_LEAGUES
from soccer_assets.storage.warehouse import Warehouse
from tests.support.dagster_stack import dagster_stack
from tests.support.mirror import Mirror

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ASSET_GRAPH = """
query { assetNodes { assetKey { path } groupName isPartitioned
                     dependencyKeys { path } dependedByKeys { path } } }
"""
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
  }
}
"""
STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }
"""


def _pg_socket_url(db: str) -> str:
    # dagster-postgres opens a connection per query: the unix socket is much cheaper than TCP.
    return f"postgresql+psycopg2://postgres@/{db}?host=/var/run/postgresql"


def test_season_backfill_through_webserver_and_daemon(tmp_path, shared_data, pg_db_factory, pg_url):
    dagster_db = pg_db_factory("dagster_test")
    env = {
        "DAGSTER_PG_URL": _pg_socket_url(dagster_db),
        "SOCCER_DATA_DIR": str(tmp_path / "data"),
        "SOCCER_WAREHOUSE_URL": pg_url,
        "SOCCER_LAST_SEASON": "2023-24",
    }
    with Mirror(shared_data) as mirror:
        env["SOCCER_SOURCE_URL"] = mirror.url
        with dagster_stack(tmp_path, env) as stack:
            # Lineage, as the UI reads it.
            nodes = {"/".join(n["assetKey"]["path"]): n for n in stack.graphql(ASSET_GRAPH)["assetNodes"]}
            m = nodes["matches"]
            assert [k["path"] for k in m["dependencyKeys"]] == [["raw_match_files"]]
            assert ["matches"] in [k["path"] for k in nodes["raw_match_files"]["dependedByKeys"]]
            assert m["isPartitioned"] and m["groupName"] == "ingestion"

            keys = [f"{league}|2023-24" for league in DEFAULT_LEAGUES]
            launched = stack.graphql(LAUNCH, {"params": {
                "partitionNames": keys,
                "assetSelection": [{"path": ["raw_match_files"]}, {"path": ["matches"]}],
                "title": "2023-24 season",
            }})["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            backfill_id = launched["backfillId"]

            deadline = time.monotonic() + 420
            status = None
            while time.monotonic() < deadline:
                status = stack.graphql(STATUS, {"id": backfill_id})["partitionBackfillOrError"]
                if status.get("status") in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED",
                                            "FAILED", "CANCELED"):
                    break
                time.sleep(2)
            assert status and status["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (
                f"{status}\n{stack.log_tail()}"
            )
            home = stack.dagster_home

    # Read back from the same PostgreSQL-backed instance, as a later session would.
    os.environ["DAGSTER_PG_URL"] = env["DAGSTER_PG_URL"]
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            # The single-run backfill policy: one run whose range covers leagues E0..F1 × 2023-24.
            assert len(runs) == 1
            assert runs[0].status == dg.DagsterRunStatus.SUCCESS
            assert runs[0].tags["dagster/asset_partition_range_start"] == "E0|2023-24"
            assert runs[0].tags["dagster/asset_partition_range_end"] == "F1|2023-24"
            # ... and exactly the selected partitions are recorded, no other season.
            for asset in ("raw_match_files", "matches"):
                assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys)
            for key in keys:
                result = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey("matches"), asset_partitions=[key]),
                    limit=1,
                )
                assert len(result.records) == 1, key
    finally:
        os.environ.pop("DAGSTER_PG_URL", None)
    wh = Warehouse(pg_url)
    try:
        expected = {"E0": 380, "E1": 552, "SP1": 380, "D1": 306, "I1": 380, "F1": 306}
        for league, n in expected.items():
            assert wh.count_matches(league, "2023-24") == n
    finally:
        wh.dispose()
