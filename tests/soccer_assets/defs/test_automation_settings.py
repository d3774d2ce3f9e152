"""What is automated, what starts it, and where the versions come from (issue 19, ADR 0014). Fast."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from soccer_assets.config import load_config
from soccer_assets.definitions import build_definitions

REPO = Path(__file__).resolve().parents[3]
SMALL = {"leagues": "E0,SP1", "first_season": "2021-22", "last_season": "2023-24"}
AUTOMATED = {"matches", "match_features", "team_state", "live_monitoring"}


def _statuses(defs: dg.Definitions) -> tuple[str, str]:
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    schedule = defs.resolve_schedule_def("weekly_current_season")
    return sensor.default_status.value, schedule.default_status.value


def test_automation_is_quiet_by_default_and_on_with_the_setting():
    assert _statuses(build_definitions(load_config(**SMALL))) == ("STOPPED", "STOPPED")
    assert _statuses(build_definitions(load_config(**SMALL, automation=True))) == ("RUNNING", "RUNNING")


def test_production_turns_automation_on_and_the_base_does_not():
    def literals(overlay: str) -> list[str]:
        doc = yaml.safe_load((REPO / "deploy/k8s" / overlay / "kustomization.yaml").read_text())
        return [lit for gen in doc.get("configMapGenerator", []) if gen["name"] == "soccer-config"
                for lit in gen.get("literals", [])]

    assert "SOCCER_AUTOMATION=true" in literals("overlays/production")
    quiet = literals("base") + literals("overlays/local")
    assert not any(lit.startswith("SOCCER_AUTOMATION") for lit in quiet)
    instance = yaml.safe_load((REPO / "deploy/k8s/overlays/production/dagster-instance.yaml").read_text())
    assert instance["auto_materialize"]["enabled"] and instance["auto_materialize"]["use_sensors"]


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions(load_config(**SMALL))


def test_only_the_data_path_and_monitoring_are_automated(defs):
    graph = defs.resolve_asset_graph()
    automated = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert automated == AUTOMATED  # fetch: scheduled; training and the champion: manual, gated
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    automation_sensors = {
        s.name for s in defs.sensors if isinstance(s, dg.AutomationConditionSensorDefinition)
    }
    assert automation_sensors == {sensor.name}


def test_code_versions_are_derived_from_the_source(defs, tmp_path, monkeypatch):
    from soccer_assets.defs import automation

    features = defs.resolve_assets_def("match_features").code_versions_by_key[dg.AssetKey("match_features")]
    assert features == automation.code_version("soccer_assets.defs.features", "soccer_assets.features")
    assert len({defs.resolve_assets_def(k).code_versions_by_key[dg.AssetKey(k)]
                for k in ("raw_match_files", "matches", "match_features", "trained_model")}) == 4

    module = tmp_path / "logic_under_test.py"
    module.write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = automation.code_version("logic_under_test")
    assert automation.code_version("logic_under_test") == first  # stable
    module.write_text("def f():\n    return 2\n")
    assert automation.code_version("logic_under_test") != first  # a logic change is a new version
    sys.modules.pop("logic_under_test", None)
