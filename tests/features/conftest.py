"""Shared fixtures of the feature tests: the real football-data files, parsed once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from soccer_assets.partitions import code_to_season
from soccer_assets.sources.parser import parse_season_csv

DATA_DIR = Path("/work/shared/data/football-data/mmz4281")


@pytest.fixture(scope="session")
def real_matches() -> pd.DataFrame:
    files = sorted(DATA_DIR.glob("*/*.csv"))
    if not files:
        pytest.skip(f"no football-data files under {DATA_DIR}")
    return pd.concat(
        [
            parse_season_csv(p.read_bytes(), p.stem, code_to_season(p.parent.name)).matches
            for p in files
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="session")
def real_features(real_matches: pd.DataFrame) -> pd.DataFrame:
    from soccer_assets.features.build import build_match_features

    return build_match_features(real_matches)
