"""API behaviour that needs no model: readiness, validation, unknown teams, errors without stack
traces, metrics. (Auth, the body limit, no model = 503 and Redis down at submission are reliability
and security tests: ``tests/reliability/``.)

The app runs in-process (FastAPI TestClient, lifespan included) on a real PostgreSQL database and
real Redis. Its registry URI points at a closed port: the "registry unreachable at start" case.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from soccer_assets.storage.tables import team_state
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.jobs import store as jobs_store
from soccer_serving.main import create_app
from tests.soccer_serving.support import load_league, offline_api_settings, offline_client, write_team_state

pytestmark = pytest.mark.integration

KEYS = ("first-key-0123", "second-key-4567")
AS_OF = dt.date(2023, 8, 11)  # first match day of 2023-24: the state holds 2012-13 … 2022-23

# Settings of the in-process API (registry at a closed port); keyword arguments override.
_settings = functools.partial(offline_api_settings, job_queue="unit-jobs", api_keys=KEYS)


@pytest.fixture(scope="module")
def warehouse(pg_module_url: str, e0_matches: pd.DataFrame, shared_data) -> Iterator[Warehouse]:
    w = Warehouse(pg_module_url)
    jobs_store.create_serving_schema(w.engine)
    write_team_state(w, "E0", e0_matches, AS_OF)
    # A league whose state was built with other feature parameters.
    i1 = load_league("I1", shared_data)
    write_team_state(w, "I1", i1, dt.date(2023, 8, 19))
    with w.engine.begin() as conn:
        conn.execute(text("UPDATE team_state SET feature_params_hash = 'other' WHERE league = 'I1'"))
    yield w
    w.dispose()


@pytest.fixture(scope="module")
def client(warehouse: Warehouse, pg_module_url: str, redis_namespace: str) -> Iterator[TestClient]:
    with offline_client(_settings(pg_module_url, redis_namespace)) as c:
        yield c


MATCH = {"league": "E0", "home_team": "Arsenal", "away_team": "Nott'm Forest", "kickoff": "2023-08-12"}


def test_liveness_and_readiness_without_registry(client: TestClient) -> None:
    assert client.get("/healthcheck").status_code == 200
    r = client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False
    assert body["checks"]["model"]["ok"] is False
    assert body["checks"]["model"]["ratings"]["registry_error"]
    assert body["checks"]["warehouse"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    leagues = {x["league"]: x for x in body["checks"]["warehouse"]["team_state"]}
    assert leagues["E0"]["feature_params_match"] is True
    assert body["checks"]["warehouse"]["feature_params_mismatch"] == ["I1"]


def test_unknown_team_404_with_closest_names(client: TestClient) -> None:
    r = client.post("/v1/predict", json={**MATCH, "home_team": "Arsenl"})
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert err["code"] == "unknown_team"
    assert "Arsenal" in err["suggestions"]
    r = client.post("/v1/predict", json={**MATCH, "away_team": "Nottingham Forrest"})
    assert r.status_code == 404
    assert "Nott'm Forest" in r.json()["error"]["suggestions"]
    # Aliases resolve (no 404): the request then fails only for lack of a model.
    ok = client.post("/v1/predict", json={**MATCH, "home_team": "Manchester United"})
    assert ok.status_code == 503
    league = client.post("/v1/predict", json={**MATCH, "league": "E3"})
    assert league.status_code == 404
    assert league.json()["error"]["code"] == "unknown_league"
    assert "E0" in league.json()["error"]["suggestions"]


def test_invalid_bodies_are_422(client: TestClient) -> None:
    bad = [
        {k: v for k, v in MATCH.items() if k != "home_team"},
        {**MATCH, "league": "premier league"},
        {**MATCH, "odds": {"home": 1.0, "draw": 3.0, "away": 4.0}},
        {**MATCH, "odds": {"home": 2.0, "draw": 3.0}},
        {**MATCH, "kickoff": "12/08/2023"},
        {**MATCH, "unexpected": 1},
        {**MATCH, "home_team": ""},
        # Non-ASCII digits (Arabic-Indic): \d would take them, the codes are ASCII only.
        {**MATCH, "league": "E\u0661"},
        {**MATCH, "season": "\u0662\u0660\u0662\u0663-\u0662\u0664"},
        {**MATCH, "kickoff": "\u0662\u0660\u0662\u0663-08-12"},
    ]
    for body in bad:
        r = client.post("/v1/predict", json=body)
        assert r.status_code == 422, (body, r.text)
        assert "Traceback" not in r.text
    r = client.post("/v1/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    same = client.post("/v1/predict", json={**MATCH, "away_team": "Arsenal"})
    assert same.status_code == 422 and same.json()["error"]["code"] == "invalid_match"
    # A season that does not hold the kick-off (it would roll the state to the wrong season).
    wrong = client.post("/v1/predict", json={**MATCH, "kickoff": "2023-12-26", "season": "2022-23"})
    assert wrong.status_code == 422 and "is not in it" in wrong.text, wrong.text
    assert client.post("/v1/predict", json={**MATCH, "kickoff": "2023-08-12", "season": "2023-24"}
                       ).status_code != 422
    # Valid in itself but the state already holds later matches: a conflict with the state, 409.
    early = client.post("/v1/predict", json={**MATCH, "kickoff": "2023-05-28"})
    assert early.status_code == 409 and "as_of" in early.json()["error"]["message"]
    assert early.json()["error"]["code"] == "kickoff_before_team_state"
    tiny = {"league": "E0", "home_team": "A", "away_team": "B"}
    many = client.post("/v1/predict/batch", json={"matches": [tiny] * 101})
    assert many.status_code == 422
    both = client.post("/v1/jobs", json={"matches": [MATCH], "league": "E0", "upcoming": True},
                       headers={"X-API-Key": KEYS[0]})
    assert both.status_code == 422


def test_state_built_with_other_feature_params_is_refused(client: TestClient) -> None:
    r = client.post("/v1/predict", json={"league": "I1", "home_team": "Inter", "away_team": "Monza",
                                         "kickoff": "2023-08-19"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "feature_params_mismatch"


def test_a_restarted_api_still_knows_submitted_jobs(
    warehouse: Warehouse, pg_module_url: str, redis_namespace: str
) -> None:
    """Job state lives in PostgreSQL: a new API process (here: a new app) serves it unchanged."""
    settings = _settings(pg_module_url, redis_namespace, job_queue="unit-no-worker")
    with TestClient(create_app(settings)) as first:
        r = first.post("/v1/jobs", json={"matches": [MATCH, MATCH]}, headers={"X-API-Key": KEYS[0]})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        seen = first.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": KEYS[0]}).json()
    with TestClient(create_app(settings)) as second:
        again = second.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": KEYS[1]}).json()
    assert again == seen
    assert again["status"] == "queued" and again["progress"]["total"] == 2


def test_unexpected_error_is_generic_500_with_request_id(client: TestClient, warehouse: Warehouse) -> None:
    # A corrupt row in the feature store: the API must answer without leaking internals.
    with warehouse.engine.begin() as conn:
        conn.execute(
            team_state.insert(),
            {"league": "X1", "team": "Broken", "season": "2023-24", "state": {"league": "X1"},
             "last_match_date": None, "as_of": dt.date(2023, 8, 1),
             "feature_params_hash": client.app.state.serving.predictor.params_hash,
             "updated_at": dt.datetime.now(dt.UTC)},
        )
    r = client.post("/v1/predict", json={"league": "X1", "home_team": "Broken", "away_team": "Other",
                                         "kickoff": "2023-08-12"}, headers={"X-Request-ID": "req-123"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert r.json()["error"]["request_id"] == "req-123"
    assert "Traceback" not in r.text and "KeyError" not in r.text and "File " not in r.text


def test_background_prediction_log_writes_every_row(warehouse: Warehouse) -> None:
    from soccer_serving.logwriter import PredictionLogWriter

    row = {"source": "api", "league": "ZZ", "season": "2023-24", "home_team": "A", "away_team": "B",
           "kickoff": dt.date(2024, 1, 1), "p_home": 0.5, "p_draw": 0.3, "p_away": 0.2,
           "model_name": "m", "model_version": "1"}

    def logged() -> int:
        with warehouse.engine.connect() as conn:
            q = text("SELECT count(*) FROM prediction_log WHERE league = 'ZZ'")
            return int(conn.execute(q).scalar_one())

    before = logged()
    writer = PredictionLogWriter(warehouse.engine, "background", max_queue=50, batch_rows=20)
    writer.start()
    for _ in range(120):  # more than the queue holds: the writer waits for room, nothing is dropped
        writer.write([row])
    writer.stop()
    assert logged() - before == 120
    assert writer.pending() == 0


def test_metrics_expose_requests_models_and_team_state(client: TestClient) -> None:
    client.post("/v1/predict", json=MATCH)
    text_ = client.get("/metrics").text
    assert 'soccer_http_requests_total{method="POST",route="/v1/predict",status="503"}' in text_
    assert "soccer_http_request_duration_seconds_bucket" in text_
    assert 'soccer_model_loaded{variant="ratings"} 0.0' in text_
    assert 'soccer_model_registry_up{variant="ratings"} 0.0' in text_
    assert 'soccer_team_state_age_seconds{league="E0"}' in text_
    assert 'soccer_jobs{status="queued"}' in text_
    assert "soccer_warehouse_up 1.0" in text_
    assert 'soccer_prediction_errors_total{code="unknown_team"}' in text_


def test_openapi_documents_routes_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/v1/predict", "/v1/predict/batch", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/model",
                 "/healthcheck", "/ready", "/metrics"):
        assert path in spec["paths"], path
    assert spec["components"]["schemas"]["MatchRequest"].get("examples")
    assert "ApiKey" in spec["components"]["securitySchemes"]
    assert {"404", "503", "413", "422"} <= set(spec["paths"]["/v1/predict"]["post"]["responses"])


def test_job_times_are_rfc3339_with_an_offset_on_sqlite(tmp_path, redis_namespace: str) -> None:
    """SQLite returns the stored UTC times without an offset; the answer (schema `date-time`,
    RFC 3339) must carry one."""
    import re

    url = f"sqlite:///{tmp_path / 'w.db'}"
    settings = _settings(url, redis_namespace, job_queue="unit-rfc3339")
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/jobs", json={"matches": [MATCH]}, headers={"X-API-Key": KEYS[0]})
        assert r.status_code == 202, r.text
        job = c.get(f"/v1/jobs/{r.json()['job_id']}", headers={"X-API-Key": KEYS[0]}).json()
    rfc3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
    assert re.fullmatch(rfc3339, job["created_at"]), job
    assert dt.datetime.fromisoformat(job["created_at"]).utcoffset() == dt.timedelta(0)
