"""The ``live_monitoring`` asset exports the value picks' closing-line value (PostgreSQL, Dagster).

A few hand-made predictions and matches instead of the replay, so that the figures are known and the
test takes seconds: the registry is a stub that knows no version (every version is reported, not
judged) and the log carries no features (drift is not computed), so no MLflow server is needed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, STAT_COLUMNS, odds_triplet
from soccer_assets.defs import monitoring
from soccer_assets.defs.resources import LakeResource, MlflowResource, WarehouseResource
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse

pytestmark = pytest.mark.integration

SEASON = "2023-24"


class _NoVersions:
    def get_model_version(self, name: str, version: str) -> Any:
        from mlflow.exceptions import MlflowException

        raise MlflowException(f"no {name} v{version}")

    get_model_version_by_alias = get_model_version


class StubRegistry(MlflowResource):
    def client(self) -> Any:  # type: ignore[override]
        return _NoVersions()


def _match(home: str, away: str, ftr: str, **odds: tuple[float, float, float]) -> dict[str, Any]:
    day = pd.Timestamp("2023-09-02")
    row = {"match_id": f"E0|{SEASON}|{home}|{away}", "league": "E0", "season": SEASON, "date": day,
           "kickoff": day + pd.Timedelta(hours=15), "kickoff_time_known": True, "home_team": home,
           "away_team": away, "fthg": 1, "ftag": 0 if ftr == "H" else 1, "ftr": ftr, "hthg": 0,
           "htag": 0, "htr": "D", "referee": None, "extra": "{}",
           **dict.fromkeys([*STAT_COLUMNS.values(), *CORE_ODDS_COLUMNS], float("nan"))}
    for key, prices in odds.items():
        book, phase = key.split("_")
        row.update(zip(odds_triplet(book, phase), prices, strict=True))
    return row


def _pred(home: str, away: str, p: tuple[float, float, float], version: str,
          odds: tuple[float | None, ...] = (None, None, None)) -> dict[str, Any]:
    return {"source": "api", "league": "E0", "season": SEASON, "home_team": home, "away_team": away,
            "kickoff": dt.date(2023, 9, 2), "p_home": p[0], "p_draw": p[1], "p_away": p[2],
            "odds_home": odds[0], "odds_draw": odds[1], "odds_away": odds[2],
            "model_name": "m", "model_version": version}


@pytest.fixture
def warehouse(pg_url: str) -> Iterator[Warehouse]:
    w = Warehouse(pg_url)
    plog.create_schema(w.engine)
    plog.log_predictions(w.engine, [
        _pred("A", "B", (0.50, 0.25, 0.25), "1"),  # best opening 2.10/3.50/4.00 -> H, edge +0.05
        _pred("C", "D", (0.30, 0.35, 0.35), "1"),  # average opening 2.50/3.20/3.00 -> D, edge +0.12
        _pred("A", "B", (0.40, 0.30, 0.30), "2", odds=(2.20, 3.40, 3.60)),  # the request's -> A, +0.08
    ])
    yield w
    w.dispose()


def _run(w: Warehouse, tmp_path: Path) -> tuple[dict[str, Any], dict[tuple, float]]:
    result = dg.materialize(
        [monitoring.live_monitoring], instance=dg.DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(url=w.url), "lake": LakeResource(data_dir=str(tmp_path)),
                   "mlflow_store": StubRegistry(tracking_uri="stub://")},
    )
    assert result.success
    meta = result.asset_materializations_for_node("live_monitoring")[0].metadata
    gauges = {(g["metric"], g["labels"].get("version"), g["labels"].get("league"), g["labels"].get("pick")):
              g["value"] for g in plog.read_live_monitoring(w.engine) if g["metric"].startswith("clv_")}
    return meta, gauges


def test_live_monitoring_exports_the_clv_of_value_picks(warehouse: Warehouse, tmp_path: Path) -> None:
    frame = pd.DataFrame([
        _match("A", "B", "H", max_open=(2.10, 3.50, 4.00), max_close=(1.90, 3.60, 4.50),
               ps_close=(1.95, 3.55, 4.30)),
        _match("C", "D", "D", avg_open=(2.50, 3.20, 3.00), avg_close=(2.60, 3.10, 2.90)),
    ])
    warehouse.replace_partition("E0", SEASON, frame, source_sha256="test")
    meta, g = _run(warehouse, tmp_path)
    v1 = (math.log(2.10 / 1.90) + math.log(3.20 / 3.10)) / 2  # both beat the close
    assert g[("clv_bets", "1", "E0", "value")] == 2
    assert g[("clv_mean", "1", "E0", "value")] == pytest.approx(v1, abs=1e-12)
    assert g[("clv_beat_rate", "1", "E0", "value")] == 1.0
    # The client's 3.60 for the away win closes at Pinnacle's 4.30: negative CLV.
    assert g[("clv_mean", "2", "ALL", "value")] == pytest.approx(math.log(3.60 / 4.30), abs=1e-12)
    assert g[("clv_beat_rate", "2", "E0", "value")] == 0.0
    assert g[("clv_mean", "1", "E0", "favourite")] == pytest.approx(
        (math.log(2.10 / 1.90) + math.log(2.50 / 2.60)) / 2, abs=1e-12)
    by_version = meta["live_clv_by_version"].value
    assert by_version["m v1"]["clv_bets"] == 2 and by_version["m v1"]["clv_mean"] == pytest.approx(v1)
    assert "clv_beat_rate" in meta["live_clv"].value and "clv_mean" in meta["league_E0"].value
    picks = pd.read_parquet(meta["path_value_picks"].value)
    assert sorted(picks.loc[picks["pick"] == "value", "price_source"]) == ["avg", "max", "request"]


def test_without_closing_odds_the_clv_is_absent_not_an_error(warehouse: Warehouse, tmp_path: Path) -> None:
    frame = pd.DataFrame([_match("A", "B", "H", max_open=(2.10, 3.50, 4.00)), _match("C", "D", "D")])
    warehouse.replace_partition("E0", SEASON, frame, source_sha256="test")
    meta, g = _run(warehouse, tmp_path)
    assert g[("clv_bets", "1", "E0", "value")] == 0 and g[("clv_bets", "2", "ALL", "value")] == 0
    assert not [k for k in g if k[0] != "clv_bets"]  # NaN means and beat rates are not exported
    assert meta["live_clv_by_version"].value["m v1"] == {"clv_bets": 0.0, "clv_mean": None,
                                                         "clv_beat_rate": None}
    json.dumps(meta["live_clv_by_version"].value, allow_nan=False)
    # No result at all yet: nothing scored, no CLV series, still a successful run.
    warehouse.replace_partition("E0", SEASON, frame.iloc[:0], source_sha256="test")
    meta, g = _run(warehouse, tmp_path)
    assert g == {} and meta["scored_predictions"].value == 0 and meta["live_clv"].value == "_no rows_"
