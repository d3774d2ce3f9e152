"""The league × season partitions of the code location, built from the settings being loaded.

Dagster needs partition keys when an asset is defined, so they are read once per load of the
definitions: ``soccer_assets.definitions.build_definitions(config)`` sets the config below and
then (re)imports the ``defs`` modules, each of which asks :func:`league_season_partitions`.
"""

from __future__ import annotations

import dagster as dg

from soccer_assets.config import SoccerConfig, load_config
from soccer_assets.core.seasons import LEAGUE_DIM, SEASON_DIM

_loading: SoccerConfig | None = None


def set_loading_config(config: SoccerConfig | None) -> None:
    """The settings the next import of the ``defs`` modules is built from (None: the environment)."""
    global _loading
    _loading = config


def loading_config() -> SoccerConfig:
    global _loading
    if _loading is None:
        _loading = load_config()
    return _loading


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


# Built once per import of the defs modules; every asset and job shares these objects.
PARTITIONS = league_season_partitions()
SEASONS = season_partitions()
