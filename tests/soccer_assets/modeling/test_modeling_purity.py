"""modeling/ is pure: importing it pulls in neither Dagster nor MLflow (serving imports it)."""

from __future__ import annotations

import subprocess
import sys


def test_modeling_imports_no_orchestration_or_tracking():
    code = (
        "import sys\n"
        "import soccer_assets.modeling.metrics, soccer_assets.modeling.split\n"
        "import soccer_assets.modeling.baselines, soccer_assets.modeling.train\n"
        "import soccer_assets.modeling.evaluate\n"
        "bad = sorted(m for m in ('dagster', 'mlflow', 'sqlalchemy', 'httpx') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
