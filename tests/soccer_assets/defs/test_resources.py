"""The resources are built from the config handed in; values that came from the environment and
may hold a password reach Dagster as ``dg.EnvVar`` (the UI shows the variable's name, not its value)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from soccer_assets.config import load_config
from soccer_assets.defs.resources import default_resources

SECRET_URL = "postgresql+psycopg://soccer:s3cret@db:5432/warehouse"


def test_urls_from_the_environment_are_env_vars(monkeypatch):
    monkeypatch.setenv("SOCCER_WAREHOUSE_URL", SECRET_URL)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    res = default_resources(load_config())
    assert isinstance(res["warehouse"].url, dg.EnvVar)
    assert res["warehouse"].url == "SOCCER_WAREHOUSE_URL"
    assert isinstance(res["mlflow_store"].tracking_uri, dg.EnvVar)
    assert res["mlflow_store"].tracking_uri == "MLFLOW_TRACKING_URI"
    # Dagster resolves it when the resource is used, in the run's own process.
    assert res["mlflow_store"].process_config_and_initialize().tracking_uri == "http://mlflow:5000"


def test_embedded_defaults_and_explicit_values_are_plain(monkeypatch, tmp_path):
    for name in ("SOCCER_WAREHOUSE_URL", "SOCCER_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI",
                 "SOCCER_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(data_dir=tmp_path, source_url="file:///snap/", data_snapshot="abc.dir")
    res = default_resources(config)
    assert res["warehouse"].url == f"sqlite:///{tmp_path / 'warehouse.db'}"
    assert res["mlflow_store"].tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert res["mlflow_store"].artifact_location == (Path(tmp_path).resolve() / "mlartifacts").as_uri()
    assert res["mlflow_store"].run_tags() == {"soccer.data_snapshot": "abc.dir"}
    assert res["source"].base_url == "file:///snap"
    assert res["source"].min_interval_seconds == 0.0  # free on a mirror; 1 s on the real site
    assert default_resources(load_config())["source"].min_interval_seconds == 1.0


def test_more_sources_reach_the_source_resource_and_bad_ones_are_refused(monkeypatch):
    monkeypatch.delenv("SOCCER_SOURCE_URL", raising=False)
    monkeypatch.setenv("SOCCER_MORE_SOURCE_URLS", "file:///more/, http://127.0.0.1:8765")
    config = load_config(source_url="file:///snap")
    assert config.more_source_url_list() == ["file:///more", "http://127.0.0.1:8765"]
    source = default_resources(config)["source"]
    assert [c.base_url for c in source.client().clients] == ["file:///snap", "file:///more",
                                                             "http://127.0.0.1:8765"]
    assert source.min_interval_seconds == 0.0
    # The real site anywhere in the chain keeps the polite interval.
    assert load_config(source_url="file:///snap",
                       more_source_urls="https://www.football-data.co.uk").source_min_interval == 1.0
    with pytest.raises(ValueError, match="not an http"):
        load_config(more_source_urls="/no/scheme")
