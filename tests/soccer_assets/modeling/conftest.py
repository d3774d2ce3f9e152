"""Real data for the modelling tests: a few league-seasons, parsed and featurised once."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from soccer_assets.core.seasons import season_to_code
from soccer_assets.sources.parser import parse_season_csv

E2E_LEAGUES = ("E0", "D1")
E2E_SEASONS = ("2020-21", "2021-22", "2022-23")
E2E_TEST_SEASON = "2022-23"
ROOT = Path(__file__).resolve().parents[3]


def results_script() -> ModuleType:
    """``scripts/results.py`` (not a package module): what writes docs/results.md and markets.md."""
    spec = importlib.util.spec_from_file_location("results", ROOT / "scripts" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def small_matches(shared_data: Path) -> pd.DataFrame:
    """E0 and D1, 2020-21 to 2022-23 (~2,100 matches): train / validation / test one season each."""
    frames = [
        parse_season_csv(
            (shared_data / "mmz4281" / season_to_code(s) / f"{lg}.csv").read_bytes(), lg, s
        ).matches
        for lg in E2E_LEAGUES
        for s in E2E_SEASONS
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="session")
def small_features(small_matches: pd.DataFrame) -> pd.DataFrame:
    from soccer_assets.features.build import build_match_features

    return build_match_features(small_matches)
