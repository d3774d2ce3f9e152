"""Shared fixtures: the real data, a local mirror of the site, and throw-away PostgreSQL databases."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    from tests.support.mirror import shared_football_data

    path = shared_football_data()
    if not (path / "mmz4281").is_dir():
        pytest.skip(f"shared football-data files not found at {path}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


PG_ADMIN_URL = os.environ.get("SOCCER_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _create_db(prefix: str) -> str:
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def _drop_db(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def db_url(name: str) -> str:
    """URL of database ``name`` on the test server (same user and host as ``PG_ADMIN_URL``)."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def fresh_db_url(prefix: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database named ``<prefix>_<random>``; dropped on exit."""
    name = _create_db(prefix)
    try:
        yield db_url(name)
    finally:
        _drop_db(name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    with fresh_db_url("soccer_test") as url:
        yield url


@pytest.fixture
def pg_db_factory() -> Iterator:
    names: list[str] = []

    def make(prefix: str = "soccer_test") -> str:
        name = _create_db(prefix)
        names.append(name)
        return name

    yield make
    for name in names:
        _drop_db(name)


@pytest.fixture(scope="session")
def mlflow_server_url(tmp_path_factory) -> Iterator[str]:
    """One real MLflow tracking/registry server for the session (it takes a while to start)."""
    from tests.support.mlflow_server import mlflow_server

    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture
def mlflow_url(mlflow_server_url) -> Iterator[str]:
    """The session's MLflow server, with an empty model registry for this test."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server_url, registry_uri=mlflow_server_url)
    for rm in client.search_registered_models():
        client.delete_registered_model(rm.name)
    yield mlflow_server_url
