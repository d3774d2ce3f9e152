"""The code location: every Dagster object under ``soccer_assets/defs/``, loaded by ``dg``."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg

from soccer_assets.config import SoccerConfig, load_config

_PROJECT = Path(__file__).resolve().parent.parent


def build_definitions(config: SoccerConfig | None = None) -> dg.Definitions:
    """The definitions for ``config`` (default: the environment's settings).

    The partitions and resources depend on the settings, so the ``defs`` modules are imported
    afresh for each call: two configs in one process never share partition definitions.
    """
    import soccer_assets.defs as package

    for name in [m for m in sys.modules if m.startswith("soccer_assets.defs.")]:
        del sys.modules[name]
        package.__dict__.pop(name.rsplit(".", 1)[1], None)
    package.LOADING_CONFIG = config or load_config()
    return dg.load_from_defs_folder(path_within_project=_PROJECT)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
