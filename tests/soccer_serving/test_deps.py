"""The routes take the shared state, the settings and the key check from ``soccer_serving.deps``:
``app.dependency_overrides`` replaces them (no database, Redis or registry needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from soccer_serving.deps import get_settings, get_state, require_admin_key
from soccer_serving.main import create_app
from soccer_serving.metrics import ApiMetrics
from soccer_serving.predictor import MatchQuery, PredictionError, UnknownLeague
from soccer_serving.settings import ServingSettings

MATCH = {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": "2024-01-01"}


class StubModels:
    def __init__(self) -> None:
        self.refreshed = 0

    def describe(self) -> dict[str, Any]:
        return {"ratings": {"stub": True}}

    def refresh(self) -> None:
        self.refreshed += 1


class StubState:
    """Just what the routes use; ``predict_async`` records its calls and answers a known error."""

    def __init__(self) -> None:
        self.metrics = ApiMetrics()
        self.models = StubModels()
        self.calls: list[tuple[list[MatchQuery], str]] = []

    async def predict_async(self, queries: list[MatchQuery], source: str, request_id: str
                            ) -> list[PredictionError]:
        self.calls.append((queries, source))
        return [UnknownLeague(f"stub knows no league {q.league!r}", suggestions=["STUB"]) for q in queries]

    async def reload_models(self) -> None:
        self.models.refresh()

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        return True, {"stub": {"ok": True}}


@pytest.fixture
def app() -> Iterator[FastAPI]:
    # Nothing listens at these addresses: only the overridden dependencies can answer.
    settings = ServingSettings(warehouse_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
                               mlflow_tracking_uri="http://127.0.0.1:9", redis_url="redis://127.0.0.1:9/0",
                               api_keys="real-key", admin_api_keys="admin-key", batch_max_items=3)
    application = create_app(settings)
    yield application
    application.dependency_overrides.clear()


def test_routes_use_the_state_dependency(app: FastAPI) -> None:
    stub = StubState()
    app.dependency_overrides[get_state] = lambda: stub
    c = TestClient(app, raise_server_exceptions=False)  # no lifespan: the real state never starts

    r = c.post("/v1/predict", json=MATCH)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == "stub knows no league 'E0'"
    assert r.json()["error"]["suggestions"] == ["STUB"]
    assert [(q[0].home_team, source) for q, source in stub.calls] == [("Arsenal", "api")]

    r = c.post("/v1/predict/batch", json={"matches": [MATCH, MATCH]})
    assert r.status_code == 200, r.text
    assert r.json()["n_errors"] == 2 and stub.calls[-1][1] == "batch"

    assert c.get("/v1/model").json() == {"alias": "champion", "variants": {"ratings": {"stub": True}}}
    r = c.get("/ready")
    assert r.status_code == 200 and r.json()["checks"] == {"stub": {"ok": True}}
    r = c.post("/v1/model/reload", headers={"X-API-Key": "real-key"})  # a client key
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_key_required"
    r = c.post("/v1/model/reload", headers={"X-API-Key": "admin-key"})
    assert r.status_code == 200 and stub.models.refreshed == 1


def test_routes_use_the_settings_and_auth_dependencies(app: FastAPI) -> None:
    stub = StubState()
    app.dependency_overrides[get_state] = lambda: stub
    app.dependency_overrides[get_settings] = lambda: ServingSettings(
        warehouse_url="sqlite:///:memory:", batch_max_items=1, model_alias="stub-alias")
    c = TestClient(app, raise_server_exceptions=False)

    assert c.get("/v1/model").json()["alias"] == "stub-alias"
    r = c.post("/v1/predict/batch", json={"matches": [MATCH, MATCH]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "batch_too_large", r.text
    # The overriding settings have no keys: the admin route fails closed...
    r = c.post("/v1/model/reload")
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth_not_configured"
    # ...unless auth is explicitly turned off.
    app.dependency_overrides[get_settings] = lambda: ServingSettings(
        warehouse_url="sqlite:///:memory:", auth_disabled=True)
    assert c.post("/v1/model/reload").status_code == 200

    app.dependency_overrides.pop(get_settings)
    assert c.post("/v1/model/reload").status_code == 401  # the app's key is required again
    app.dependency_overrides[require_admin_key] = lambda: None
    assert c.post("/v1/model/reload").status_code == 200
