"""The league × season partitions of the code location, built from the settings being loaded.

Dagster needs partition keys when an asset is defined, so they are read once per load of the
definitions: ``soccer_assets.definitions.build_definitions(config)`` sets the config below and
then (re)imports the ``defs`` modules, which share the partitions built here.
"""

from __future__ import annotations

import dagster as dg

import soccer_assets.defs as defs_package
from soccer_assets.config import SoccerConfig, load_config
from soccer_assets.core.seasons import LEAGUE_DIM, SEASON_DIM, season_key


def loading_config() -> SoccerConfig:
    """The settings these definitions are built from (see ``soccer_assets.defs.LOADING_CONFIG``)."""
    if defs_package.LOADING_CONFIG is None:
        defs_package.LOADING_CONFIG = load_config()
    return defs_package.LOADING_CONFIG


def league_season_partitions() -> dg.MultiPartitionsDefinition:
    config = loading_config()
    return dg.MultiPartitionsDefinition(
        {
            LEAGUE_DIM: dg.StaticPartitionsDefinition(config.league_list()),
            SEASON_DIM: dg.StaticPartitionsDefinition(config.season_list()),
        }
    )


def season_partitions() -> dg.StaticPartitionsDefinition:
    """Partitions of the evaluated season, for the walk-forward modelling assets."""
    return dg.StaticPartitionsDefinition(loading_config().season_list())


def earlier_seasons_mapping(seasons: list[str]) -> dg.StaticPartitionMapping:
    """Season → itself and every later season: a downstream season depends on its own and every
    earlier upstream season, never on a later one."""
    return dg.StaticPartitionMapping({
        s: [t for t in seasons if season_key(t) >= season_key(s)] for s in seasons
    })


# Built once per import of the defs modules; every asset and job shares these objects.
PARTITIONS = league_season_partitions()
SEASONS = season_partitions()
SEASON_KEYS = SEASONS.get_partition_keys()
