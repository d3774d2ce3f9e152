"""``create_serving_schema`` creates every table serving uses, on an empty warehouse as on one the
pipeline created first, and the job results keep their foreign key to the jobs."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store

SERVING_TABLES = {"prediction_log", "live_monitoring", "prediction_jobs", "prediction_job_results"}


def _exercise(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.insert_job(conn, "job-1", {"matches": 1}, [{"league": "E0"}])
    row = {"item_index": 0, "ok": False, "league": "E0", "home_team": "A", "away_team": "B",
           "kickoff": dt.date(2024, 1, 1), "p_home": None, "p_draw": None, "p_away": None,
           "model_name": None, "model_version": None, "team_state_as_of": None,
           "error_code": "unknown_team", "error": "no B"}
    store.write_job_results(engine, "job-1", [row], [])
    store.write_job_results(engine, "job-1", [row], [])  # a redelivery: insert-or-ignore
    assert len(store.read_job_results(engine, "job-1")) == 1
    assert store.get_job(engine, "job-1")["n_item_errors"] == 1  # type: ignore[index]
    fks = sa.inspect(engine).get_foreign_keys("prediction_job_results")
    assert [(fk["referred_table"], fk["referred_columns"]) for fk in fks] == [("prediction_jobs", ["id"])]
    store.delete_jobs(engine, ["job-1"])
    assert store.count_jobs(engine) == 0 and store.read_job_results(engine, "job-1") == []


@pytest.mark.parametrize("pipeline_first", [False, True])
def test_serving_schema_on_sqlite(tmp_path, pipeline_first: bool) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    w = Warehouse(url, create_schema=pipeline_first)  # the pipeline creates its tables first
    store.create_serving_schema(w.engine)
    store.create_serving_schema(w.engine)  # idempotent
    tables = set(sa.inspect(w.engine).get_table_names())
    assert tables >= SERVING_TABLES and {"matches", "team_state"} <= tables
    assert plog.add_missing_columns(w.engine) == []
    _exercise(w.engine)
    w.dispose()


@pytest.mark.integration
def test_serving_schema_on_a_postgres_warehouse_the_pipeline_created(pg_url: str) -> None:
    w = Warehouse(pg_url)
    store.create_serving_schema(w.engine)
    assert set(sa.inspect(w.engine).get_table_names()) >= SERVING_TABLES
    _exercise(w.engine)
    w.dispose()


def test_the_pipeline_metadata_holds_no_job_table() -> None:
    from soccer_assets.storage.tables import metadata

    assert not {"prediction_jobs", "prediction_job_results"} & set(metadata.tables)
    assert {"prediction_log", "live_monitoring"} <= set(metadata.tables)
