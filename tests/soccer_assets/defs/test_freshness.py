"""Freshness of the current season (issue 19): the rule, the Dagster checks and the /metrics gauges."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import dagster as dg
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from soccer_assets.config import load_config
from soccer_assets.definitions import build_definitions
from soccer_assets.monitoring.freshness import freshness
from soccer_assets.storage.warehouse import Warehouse

D = dt.date


@pytest.mark.parametrize(
    ("last", "today", "stale", "age"),
    [
        (D(2024, 5, 19), D(2024, 5, 26), False, 7),   # the window's last fresh day
        (D(2024, 5, 19), D(2024, 5, 27), True, 8),
        (D(2024, 5, 19), D(2024, 6, 20), False, 32),  # after the season: nothing is stale
        (D(2024, 5, 19), D(2024, 8, 5), False, 4),    # a new season counts from its start ...
        (D(2024, 5, 19), D(2024, 8, 20), True, 19),   # ... and goes stale without its matches
        (None, D(2024, 8, 20), True, 19),
        (D(2024, 9, 1), D(2024, 8, 30), False, 0),    # a match after the judged day
    ],
)
def test_the_rule(last, today, stale, age):
    f = freshness(last, today, max_age_days=7)
    assert (f.stale, f.age_days) == (stale, age)


LEAGUES = "E0,SP1"  # 2023-24 ends on 19 May (E0) and 26 May (SP1)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("freshness")
    config = load_config(leagues=LEAGUES, first_season="2023-24", last_season="2023-24", freshness_days=7,
                         data_dir=tmp / "data", warehouse_url=f"sqlite:///{tmp / 'warehouse.db'}",
                         source_url=shared_data.as_uri())
    defs = build_definitions(config)
    (tmp / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp / "home"))
    assets = [defs.resolve_assets_def(k) for k in ("raw_match_files", "matches", "team_state")]
    both_leagues = {"dagster/asset_partition_range_start": "E0|2023-24",
                    "dagster/asset_partition_range_end": "SP1|2023-24"}
    result = dg.materialize(assets, instance=instance, tags=both_leagues, selection=assets[:2])
    assert result.success
    assert dg.materialize(assets, instance=instance, selection=assets[2:]).success
    yield defs, instance, config
    instance.dispose()


def _run_checks(defs, instance, today: str) -> dict[str, dg.AssetCheckEvaluation]:
    checks = [c for c in defs.asset_checks or [] if c.check_key.name in ("matches_fresh", "team_state_fresh")]
    assert len(checks) == 2
    result = dg.materialize(
        checks, selection=dg.AssetSelection.checks(*checks), instance=instance, resources=defs.resources,
        run_config={"ops": {c.node_def.name: {"config": {"today": today}} for c in checks}},
    )
    assert result.success
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_season_past_its_window_fails_the_checks(loaded):
    defs, instance, _ = loaded
    got = _run_checks(defs, instance, "2024-05-30")  # E0's last match 11 days back, SP1's 4
    for name in ("matches_fresh", "team_state_fresh"):
        assert not got[name].passed, name
        assert got[name].severity == dg.AssetCheckSeverity.WARN
        assert got[name].metadata["stale_leagues"].value == ["E0"]
    # As the UI reads it: the latest execution of each check, from the instance.
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("matches"), "matches_fresh")])
    (record,) = records.values()
    assert record.event.dagster_event.event_specific_data.passed is False

    assert all(e.passed for e in _run_checks(defs, instance, "2024-05-22").values())  # in the window
    assert all(e.passed for e in _run_checks(defs, instance, "2024-06-20").values())  # off season


def test_metrics_show_the_stale_league(loaded):
    from soccer_serving.metrics import ServingCollector

    _, _, config = loaded
    wh = Warehouse(config.warehouse_url)
    try:
        registry = CollectorRegistry()
        registry.register(ServingCollector(
            SimpleNamespace(status={}, get=lambda v: None), lambda: wh.engine, freshness_days=7,
            clock=lambda: dt.datetime(2024, 5, 30, 12, tzinfo=dt.UTC)))
        text = generate_latest(registry).decode()
    finally:
        wh.dispose()
    values = {m[0]: float(m[1]) for m in re.findall(r"^(soccer_data_\w+(?:\{[^}]*\})?) (\S+)$", text, re.M)}
    for asset in ("matches", "team_state"):
        assert values[f'soccer_data_stale{{asset="{asset}",league="E0"}}'] == 1.0
        assert values[f'soccer_data_stale{{asset="{asset}",league="SP1"}}'] == 0.0
        assert values[f'soccer_data_age_seconds{{asset="{asset}",league="E0"}}'] == 11.5 * 86400
    assert values["soccer_data_freshness_window_seconds"] == 7 * 86400
