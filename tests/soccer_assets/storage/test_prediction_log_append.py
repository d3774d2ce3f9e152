"""``SqliteAppender`` stores exactly what ``log_predictions`` stores, commits all or nothing."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse


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
         "offers": [{"market": "1x2", "selection": "home", "price": 2.5, "edge": 0.025}],
         "team_state_updated_at": dt.datetime(2024, 1, 1, 6, 30, 15)},
    ]


def _stored(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as c:  # the raw text SQLite holds, not what SQLAlchemy reads back
        return c.execute("SELECT * FROM prediction_log ORDER BY id").fetchall()


def test_the_same_text_as_log_predictions(tmp_path: Path) -> None:
    stores = {}
    for name in ("core", "appender"):
        path = tmp_path / f"{name}.db"
        w = Warehouse(f"sqlite:///{path}")
        plog.create_schema(w.engine)
        if name == "core":
            plog.log_predictions(w.engine, _rows())
        else:
            appender = plog.SqliteAppender(w.engine)
            assert appender.append(_rows()) == 2
            assert appender.append([]) == 0
            appender.close()
        stores[name] = _stored(path)
        # and SQLAlchemy reads both back to the same values
        back = plog.read_prediction_log_rows(w.engine)
        assert [plog.decode_json(r["features"]) for r in back] == [_rows()[0]["features"], None]
        assert plog.decode_json(back[1]["offers"]) == _rows()[1]["offers"]
        w.dispose()
    created = 1  # column 0 is the id, column 1 the commit's own timestamp
    json_cols = {22, 23, 24}  # features, markets, offers: the same JSON, spaced differently

    def cells(row: tuple) -> tuple:
        return tuple(json.loads(v) if i in json_cols and v is not None else v
                     for i, v in enumerate(row) if i != created)

    core, fast = ([cells(row) for row in stores[k]] for k in ("core", "appender"))
    assert core == fast
    assert core[1][2:5] == ("batch", "5b0c", 7)  # a key only the second row has is kept
    assert core[0][21] == {"elo_diff": 12.5, "home_rest_days": None, "ünïcode": math.pi, "np": 0.25}
    assert all(isinstance(r[created], str) and r[created][:2] == "20" for r in stores["appender"])
    assert [len(r[created]) for r in stores["appender"]] == [len(r[created]) for r in stores["core"]]


def test_a_feature_that_is_not_finite_is_stored_as_null(tmp_path: Path) -> None:
    """JSON has no NaN: the appender writes null where a caller forgot ``finite_or_none``."""
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    plog.create_schema(w.engine)
    appender = plog.SqliteAppender(w.engine)
    row = {**_rows()[0], "features": {"a": math.nan, "b": -math.inf, "c": np.float64("nan"), "d": 1.5}}
    appender.append([row])
    appender.close()
    [stored] = _stored(tmp_path / "w.db")
    assert json.loads(stored[22]) == {"a": None, "b": None, "c": None, "d": 1.5}
    assert plog.finite_or_none(row["features"]) == json.loads(stored[22])
    w.dispose()


def test_a_failed_append_keeps_nothing_and_the_next_one_works(tmp_path: Path) -> None:
    w = Warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    plog.create_schema(w.engine)
    appender = plog.SqliteAppender(w.engine)
    good, bad = _rows()
    with pytest.raises(sqlite3.IntegrityError):  # a NOT NULL column missing in the second row
        appender.append([good, {**bad, "league": None}])
    assert plog.count_predictions(w.engine) == 0
    assert appender.append([good, bad]) == 2
    assert plog.count_predictions(w.engine) == 2
    appender.close()
    w.dispose()


def test_refuses_another_database() -> None:
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with pytest.raises(ValueError, match="SQLite only"):
        plog.SqliteAppender(engine)
    engine.dispose()
