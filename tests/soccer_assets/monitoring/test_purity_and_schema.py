"""``soccer_assets.monitoring`` is pure; the prediction log gains its ``features`` column in place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

import soccer_assets.monitoring as monitoring_pkg
from soccer_assets.storage import prediction_log as wh
from tests.support.purity import impure_files


def test_monitoring_package_does_no_io() -> None:
    # Plots are rendered to bytes, never saved to a file.
    files, impure = impure_files(Path(monitoring_pkg.__file__).parent, extra_io=r'savefig\("|\.write_')
    assert len(files) == 7
    assert impure == []


def test_an_old_prediction_log_gets_the_features_column(tmp_path: Path) -> None:
    """A warehouse created before the column existed: the schema step adds it, nothing is lost."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    old = sa.MetaData()
    cols = [c.copy() for c in wh.prediction_log.columns if c.name != "features"]
    sa.Table("prediction_log", old, *cols)
    old.create_all(engine)
    row = {"created_at": dt.datetime.now(dt.UTC), "source": "api", "league": "E0", "season": "2023-24",
           "home_team": "A", "away_team": "B", "kickoff": dt.date(2024, 1, 1), "p_home": 0.5,
           "p_draw": 0.3, "p_away": 0.2, "model_name": "m", "model_version": "1"}
    with engine.begin() as conn:
        conn.execute(old.tables["prediction_log"].insert(), [row])
    wh.create_schema(engine)
    assert wh.add_missing_columns(engine) == []  # idempotent
    new = {k: v for k, v in row.items() if k != "created_at"}
    wh.log_predictions(engine, [{**new, "features": {"elo_diff": 12.5, "x": None}}])
    rows = wh.read_prediction_log_rows(engine)
    assert [r["features"] for r in rows] == [None, {"elo_diff": 12.5, "x": None}]
    wh.replace_live_monitoring(engine, [{"metric": "rps", "labels": {"model": "m"}, "value": 0.2}], "run-1")
    assert [(r["metric"], r["labels"], r["value"]) for r in wh.read_live_monitoring(engine)] == [
        ("rps", {"model": "m"}, 0.2)]
    engine.dispose()
