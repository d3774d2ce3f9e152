"""``LogAppender`` stores what ``log_predictions`` stores, on SQLite and PostgreSQL, all or nothing."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.log_append import LogAppender
from soccer_assets.storage.warehouse import Warehouse
from tests.conftest import db_url

pytestmark = pytest.mark.integration


def _rows() -> list[dict]:
    base = {
        "request_id": "r-1", "source": "api", "league": "E0", "season": "2023-24",
        "home_team": "Arsenal", "away_team": "Man City", "kickoff": dt.date(2024, 1, 20),
        "odds_home": 2.1, "odds_draw": 3.4, "odds_away": None, "p_home": 0.41, "p_draw": 0.27,
        "p_away": 0.32, "model_name": "soccer-outcome-ratings", "model_version": "3",
        "model_alias": "champion", "team_state_as_of": dt.date(2024, 1, 1),
        "team_state_updated_at": dt.datetime(2024, 1, 1, 6, 30, 15, 123456, tzinfo=dt.UTC),
        # As Prediction.log_row hands them over: NaN already null (plog.finite_or_none).
        "features": {"elo_diff": 12.5, "home_rest_days": None, "ünïcode": math.pi, "np": np.float64(0.25)},
        "markets": None, "offers": None,
    }
    return [
        base,
        {**base, "source": "batch", "job_id": "5b0c", "item_index": 7, "features": None,
         "markets": {"1x2": [[0.41, 0.27, 0.32]], "ou": {"2.5": [0.52, 0.48]}},
         "offers": [{"market": "1x2", "selection": "home", "price": 2.5, "edge": 0.025}]},
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def engines(request, tmp_path: Path, pg_db_factory) -> Iterator[dict[str, Warehouse]]:
    """Two empty warehouses of one kind: one written by Core, one by the appender."""
    out = {}
    for name in ("core", "appender"):
        url = f"sqlite:///{tmp_path / f'{name}.db'}" if request.param == "sqlite" else db_url(pg_db_factory())
        out[name] = Warehouse(url)
        plog.create_schema(out[name].engine)
    yield out
    for w in out.values():
        w.dispose()


def _read(w: Warehouse) -> list[dict]:
    rows = plog.read_prediction_log_rows(w.engine)
    for r in rows:
        r.pop("created_at")
        for k in ("features", "markets", "offers"):
            r[k] = plog.decode_json(r[k])
    return rows


def test_the_same_rows_as_log_predictions(engines: dict[str, Warehouse]) -> None:
    plog.log_predictions(engines["core"].engine, _rows())
    appender = LogAppender(engines["appender"].engine)
    assert appender.append(_rows()) == 2
    assert appender.append([]) == 0
    appender.close()
    core, fast = _read(engines["core"]), _read(engines["appender"])
    assert core == fast
    assert fast[1]["source"] == "batch" and fast[1]["job_id"] == "5b0c" and fast[1]["item_index"] == 7
    assert fast[0]["features"] == {"elo_diff": 12.5, "home_rest_days": None, "ünïcode": math.pi, "np": 0.25}
    assert fast[1]["offers"] == _rows()[1]["offers"] and fast[0]["markets"] is None
    stamped = plog.read_prediction_log_rows(engines["appender"].engine)
    assert all(abs((dt.datetime.now(dt.UTC) - _utc(r["created_at"])).total_seconds()) < 60 for r in stamped)
    assert fast[0]["team_state_updated_at"] == core[0]["team_state_updated_at"]


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def test_the_sqlite_text_is_sqlalchemys(tmp_path: Path) -> None:
    """Dates and timestamps are stored as the text SQLAlchemy writes (its readers parse it)."""
    texts = {}
    for name in ("core", "appender"):
        w = Warehouse(f"sqlite:///{tmp_path / f'{name}.db'}")
        plog.create_schema(w.engine)
        if name == "core":
            plog.log_predictions(w.engine, _rows())
        else:
            LogAppender(w.engine).append(_rows())
        w.dispose()
        with sqlite3.connect(tmp_path / f"{name}.db") as c:
            texts[name] = c.execute("SELECT kickoff, team_state_as_of, team_state_updated_at, "
                                    "length(created_at) FROM prediction_log ORDER BY id").fetchall()
    assert texts["core"] == texts["appender"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_feature_that_is_not_finite_is_stored_as_null(kind: str, tmp_path: Path, pg_db_factory) -> None:
    """JSON has no NaN (PostgreSQL refuses it): null where a caller forgot ``finite_or_none``."""
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}" if kind == "sqlite" else db_url(pg_db_factory()))
    plog.create_schema(w.engine)
    appender = LogAppender(w.engine)
    row = {**_rows()[0], "features": {"a": math.nan, "b": -math.inf, "c": np.float64("nan"), "d": 1.5}}
    appender.append([row])
    appender.close()
    [stored] = _read(w)
    assert stored["features"] == {"a": None, "b": None, "c": None, "d": 1.5}
    assert stored["features"] == plog.finite_or_none(row["features"])
    w.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failed_append_keeps_nothing_and_the_next_one_works(kind: str, tmp_path: Path,
                                                               pg_db_factory) -> None:
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}" if kind == "sqlite" else db_url(pg_db_factory()))
    plog.create_schema(w.engine)
    appender = LogAppender(w.engine)
    good, bad = _rows()
    with pytest.raises(Exception, match=r"(?i)not.null|null value"):  # league is NOT NULL
        appender.append([good, {**bad, "league": None}])
    assert plog.count_predictions(w.engine) == 0
    with pytest.raises(Exception, match=r"(?i)not.null|null value"):  # one row: its own statement
        appender.append([{**good, "league": None}])
    assert plog.count_predictions(w.engine) == 0
    assert appender.append([good, bad]) == 2
    assert plog.count_predictions(w.engine) == 2
    appender.close()
    w.dispose()


def test_refuses_another_database() -> None:
    engine = sa.create_mock_engine("mysql://", executor=lambda *a, **k: None)  # a dialect, no driver
    with pytest.raises(ValueError, match="SQLite and PostgreSQL"):
        LogAppender(engine)  # type: ignore[arg-type]
