"""The serving package never imports Dagster (the serving image and start-up stay lean)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.soccer_serving.support import REPO

PROBE = """
import json, sys
import soccer_serving.main
app = soccer_serving.main.create_app()
import soccer_serving.cli, soccer_serving.jobs, soccer_serving.jobs.actors, soccer_serving.fixtures
print(json.dumps({
    "dagster": sorted(m for m in sys.modules if m == "dagster" or m.startswith("dagster.")),
    "mlflow_at_import": "mlflow" in sys.modules,
    # FastAPI keeps included routers as branches of app.routes; the schema lists every path.
    "routes": sorted(app.openapi()["paths"]),
}))
"""


def test_importing_the_app_does_not_import_dagster() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
        env={"PATH": "/usr/bin:/bin", "SOCCER_WAREHOUSE_URL": "sqlite:///:memory:"},
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["dagster"] == [], found["dagster"]
    # MLflow loads lazily (in the registry thread), so /healthcheck answers at once.
    assert found["mlflow_at_import"] is False
    assert "/v1/predict" in found["routes"]
