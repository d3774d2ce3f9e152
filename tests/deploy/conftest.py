"""Fixtures of the deployment tests: the rendered overlays, the options of the image's roles and
one live serving stack shared by the package (one API start)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import _drop_db
from tests.deploy import kustomize
from tests.deploy.roles import role_options
from tests.deploy.stack import LiveStack, start_stack
from tests.soccer_serving.conftest import _MLFLOW, ensure_mlflow_server, stop_mlflow_server

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "production")


@pytest.fixture(scope="session")
def role_helps() -> dict[tuple[str, ...], set[str]]:
    return role_options()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each overlay rendered by kubectl where installed, else by the in-repo renderer (the two are
    compared by test_renderer_equals_kubectl)."""
    out = {}
    for name in OVERLAYS:
        path = K8S / "overlays" / name
        out[name] = kustomize.kubectl_render(path) or kustomize.render(path)
    return out


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Boot the serving tests' MLflow server at collection when a live-stack test is selected (it
    takes tens of seconds; the offline deployment tests run meanwhile). Shared with tests/soccer_serving:
    whichever conftest sees it first starts it, once."""
    ensure_mlflow_server(items, "live_stack")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_mlflow_server()


@pytest.fixture(scope="package")
def live_stack(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """API + worker + PostgreSQL + Redis + MLflow, started once for the deployment tests."""
    if not _MLFLOW:
        pytest.fail("the MLflow server was not launched at collection")
    stack, db = start_stack(str(_MLFLOW["uri"]), _MLFLOW["service"],
                            tmp_path_factory.mktemp("deploy-stack"), Path(sys.executable).parent)
    try:
        yield stack
    finally:
        stack.stop()
        _drop_db(db)
        client = redis.Redis.from_url(stack.env["SOCCER_REDIS_URL"])
        keys = list(client.scan_iter(match=f"{stack.env['SOCCER_BROKER_NAMESPACE']}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
