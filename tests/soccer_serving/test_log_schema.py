"""A warehouse whose ``prediction_log`` and ``prediction_job_results`` predate the markets columns
(and the log's ``features``): the serving schema step adds them in place, old rows read back
unchanged, and new rows carry markets. On SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from soccer_assets.storage import prediction_log as plog
from soccer_serving.jobs import store
from soccer_serving.routes.jobs import job_status

NEW_LOG_COLUMNS = ("features", "markets", "offers")
NEW_RESULT_COLUMNS = ("markets", "offers")
LOG_ROW = {"source": "api", "league": "E0", "season": "2023-24", "home_team": "A", "away_team": "B",
           "kickoff": dt.date(2024, 1, 1), "p_home": 0.5, "p_draw": 0.3, "p_away": 0.2,
           "model_name": "m", "model_version": "1"}
RESULT_ROW = {"item_index": 0, "ok": True, "league": "E0", "home_team": "A", "away_team": "B",
              "kickoff": dt.date(2024, 1, 1), "p_home": 0.5, "p_draw": 0.3, "p_away": 0.2,
              "model_name": "m", "model_version": "1", "team_state_as_of": dt.date(2024, 1, 1),
              "error_code": None, "error": None}
MARKETS = {"1x2": [{"selection": "home", "probability": 0.5, "fair_price": 2.0},
                   {"selection": "draw", "probability": 0.3, "fair_price": 1 / 0.3},
                   {"selection": "away", "probability": 0.2, "fair_price": 5.0}],
           "totals": [{"selection": "over", "line": 2.5, "probability": 0.52, "fair_price": 1 / 0.52,
                       "outcomes": {"win": 0.52, "half_win": 0.0, "push": 0.0, "half_loss": 0.0,
                                    "loss": 0.48}}]}
OFFERS = [{"market": "1x2", "selection": "home", "line": None, "price": 2.2, "probability": 0.5,
           "edge": 0.1, "kelly": 0.1 / 1.2}]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield eng
        eng.dispose()
        return
    from tests.conftest import fresh_db_url

    with fresh_db_url("soccer_log_schema") as url:
        eng = sa.create_engine(url)
        yield eng
        eng.dispose()


def _old_schema(engine: sa.Engine) -> None:
    """The two tables as released before the markets (constraints the writers rely on kept)."""
    old = sa.MetaData()
    store.prediction_jobs.to_metadata(old)
    sa.Table("prediction_log", old,
             *[c._copy() for c in plog.prediction_log.columns if c.name not in NEW_LOG_COLUMNS],
             sa.UniqueConstraint("job_id", "item_index"))
    sa.Table("prediction_job_results", old,
             *[c._copy() for c in store.prediction_job_results.columns if c.name not in NEW_RESULT_COLUMNS])
    old.create_all(engine)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(old.tables["prediction_log"].insert(), [{"created_at": now, **LOG_ROW}])
        store.insert_job(conn, "old-job", {"matches": 2}, [{"league": "E0"}, {"league": "E0"}])
        conn.execute(old.tables["prediction_job_results"].insert(),
                     [{"job_id": "old-job", "created_at": now, **RESULT_ROW}])


def test_an_old_warehouse_gets_the_markets_columns_and_keeps_its_rows(engine: sa.Engine) -> None:
    _old_schema(engine)
    store.create_serving_schema(engine)
    assert plog.add_missing_columns(engine) == []  # idempotent
    inspector = sa.inspect(engine)
    assert set(NEW_LOG_COLUMNS) <= {c["name"] for c in inspector.get_columns("prediction_log")}
    assert set(NEW_RESULT_COLUMNS) <= {c["name"] for c in inspector.get_columns("prediction_job_results")}

    # Old rows: null markets, and the job answer of an old item is today's (no market keys).
    [old_row] = plog.read_prediction_log_rows(engine)
    assert (old_row["home_team"], old_row["markets"], old_row["offers"]) == ("A", None, None)
    job = store.get_job(engine, "old-job")
    assert job is not None
    [old_result] = store.read_job_results(engine, "old-job")
    item = job_status(job, [old_result], 0).model_dump(mode="json")["results"][0]
    assert "markets" not in item and "offers" not in item and item["probabilities"]["home"] == 0.5

    # New rows carry markets and offers, through the same writers the API and the worker use.
    plog.log_predictions(engine, [{**LOG_ROW, "home_team": "C", "markets": {"1x2": {"home": 0.5}},
                                   "offers": OFFERS}])
    new_result = {**RESULT_ROW, "item_index": 1, "markets": MARKETS, "offers": OFFERS}
    store.write_job_results(engine, "old-job", [new_result], [{**LOG_ROW, "item_index": 1,
                                                               "markets": {"btts": {"yes": 0.5}}}])
    rows = plog.read_prediction_log_rows(engine)
    assert [(r["home_team"], r["markets"]) for r in rows] == [
        ("A", None), ("C", {"1x2": {"home": 0.5}}), ("A", {"btts": {"yes": 0.5}})]
    assert rows[1]["offers"] == OFFERS
    results = store.read_job_results(engine, "old-job")
    assert [r["markets"] for r in results] == [None, MARKETS]
    answer = job_status(store.get_job(engine, "old-job"), results, 0).model_dump(mode="json")  # type: ignore[arg-type]
    assert answer["results"][1]["markets"] == MARKETS and answer["results"][1]["offers"] == OFFERS
    assert answer["progress"] == {"done": 2, "total": 2, "item_errors": 0}
