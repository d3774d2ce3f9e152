"""The lineage is true: no partition depends on a later season's partition."""

from __future__ import annotations

import warnings

import dagster as dg
import pytest

from soccer_assets.config import load_config
from soccer_assets.core.seasons import season_start_year, seasons_between, split_partition_key
from soccer_assets.definitions import build_definitions

# The default last season is the current one: the lineage must hold with future seasons defined.
CONFIG = {"leagues": "E0,SP1", "first_season": "2012-13", "last_season": "2026-27"}


@pytest.fixture(scope="module")
def graph():
    return build_definitions(load_config(**CONFIG)).resolve_asset_graph()


def _season(key: str) -> str:
    return split_partition_key(key)[1] if "|" in key else key


def upstream(graph, child: str, key: str, parent: str) -> list[str]:
    node, parent_node = graph.get(dg.AssetKey(child)), graph.get(dg.AssetKey(parent))
    mapping = graph.get_partition_mapping(dg.AssetKey(child), dg.AssetKey(parent))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mapping.get_upstream_mapped_partitions_result_for_partitions(
            node.partitions_def.subset_with_partition_keys([key]), node.partitions_def,
            parent_node.partitions_def)
    return sorted(result.partitions_subset.get_partition_keys())


def test_match_features_of_a_season_depend_on_that_and_earlier_seasons_of_the_league(graph):
    got = upstream(graph, "match_features", dg.MultiPartitionKey({"league": "E0", "season": "2023-24"}),
                   "matches")
    assert got == [f"E0|{s}" for s in seasons_between("2012-13", "2023-24")]


def test_no_partition_depends_on_a_later_season(graph):
    checked = 0
    for node in graph.asset_nodes:
        if node.partitions_def is None:
            continue
        for parent in node.parent_keys:
            parent_node = graph.get(parent)
            if parent_node.partitions_def is None:
                continue
            for key in node.partitions_def.get_partition_keys():
                season = season_start_year(_season(str(key)))
                ups = upstream(graph, node.key.to_user_string(), key, parent.to_user_string())
                assert ups, f"{node.key.to_user_string()} {key} has no upstream partition of {parent}"
                later = [u for u in ups if season_start_year(_season(u)) > season]
                assert not later, f"{node.key.to_user_string()} {key} depends on later {parent}: {later}"
                if "|" in str(key) and "|" in ups[0]:  # same league only
                    assert {split_partition_key(u)[0] for u in ups} == {split_partition_key(str(key))[0]}
                checked += 1
    assert checked > 100  # the graph's partitioned deps were all walked
