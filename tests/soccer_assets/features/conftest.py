"""Shared fixtures of the feature tests: the real football-data files, parsed once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from soccer_assets.core.seasons import code_to_season
from soccer_assets.sources.parser import parse_season_csv


@pytest.fixture(scope="session")
def real_matches(shared_data: Path) -> pd.DataFrame:
    """Every season file under the shared data (``shared_data`` skips when it is absent)."""
    files = sorted((shared_data / "mmz4281").glob("*/*.csv"))
    if not files:
        pytest.skip(f"no football-data files under {shared_data}")
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
