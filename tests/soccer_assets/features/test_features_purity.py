"""``soccer_assets.features`` is pure: no IO, no Dagster, no platform modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import soccer_assets.features as features_pkg
from tests.support.purity import impure_files


def test_no_forbidden_imports_or_io() -> None:
    files, impure = impure_files(Path(features_pkg.__file__).parent)
    assert len(files) >= 7
    assert impure == []


def test_importing_features_does_not_load_dagster() -> None:
    code = (
        "import sys, soccer_assets.features.build, soccer_assets.features.state; "
        "assert 'dagster' not in sys.modules; "
        "assert 'soccer_assets.sources' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
