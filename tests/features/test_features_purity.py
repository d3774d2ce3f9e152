"""``soccer_assets.features`` is pure: no IO, no Dagster, no platform modules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import soccer_assets.features as features_pkg

FORBIDDEN = re.compile(
    r"^\s*(?:from|import)\s+(?:dagster|sqlalchemy|httpx|requests|mlflow|"
    r"soccer_assets\.(?:assets|sources|warehouse|resources|definitions))\b",
    re.MULTILINE,
)
IO_CALLS = re.compile(r"\bopen\(|read_csv|read_parquet|to_parquet|to_csv|urlopen")


def test_no_forbidden_imports_or_io() -> None:
    files = sorted(Path(features_pkg.__file__).parent.glob("*.py"))
    assert len(files) >= 7
    for f in files:
        text = f.read_text()
        assert not FORBIDDEN.search(text), f
        assert not IO_CALLS.search(text), f


def test_importing_features_does_not_load_dagster() -> None:
    code = (
        "import sys, soccer_assets.features.build, soccer_assets.features.state; "
        "assert 'dagster' not in sys.modules; "
        "assert 'soccer_assets.sources' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
