"""Defaults shared by the Dagster resources and the CLI, read from the environment.

Embedded defaults keep a fresh checkout runnable with nothing installed but the project:
local files under ``./data`` and a SQLite warehouse there.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SOURCE_URL = "https://www.football-data.co.uk"


def data_dir() -> str:
    return os.environ.get("SOCCER_DATA_DIR") or str(Path.cwd() / "data")


def warehouse_url() -> str:
    return os.environ.get("SOCCER_WAREHOUSE_URL") or f"sqlite:///{Path(data_dir()) / 'warehouse.db'}"


def source_url() -> str:
    return os.environ.get("SOCCER_SOURCE_URL") or DEFAULT_SOURCE_URL


def source_min_interval() -> float:
    """Seconds between two requests to the source: polite on the real site, free on a mirror."""
    raw = os.environ.get("SOCCER_SOURCE_MIN_INTERVAL")
    if raw:
        return float(raw)
    return 1.0 if source_url().startswith("https://www.football-data.co.uk") else 0.0


def mlflow_tracking_uri() -> str:
    """Local SQLite tracking store under the data dir unless ``MLFLOW_TRACKING_URI`` says otherwise."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(data_dir()) / 'mlflow.db'}"


def mlflow_artifact_location() -> str | None:
    """Artifacts of a local store live beside it; a tracking server chooses its own location."""
    uri = mlflow_tracking_uri()
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    return (Path(data_dir()).resolve() / "mlartifacts").as_uri()
