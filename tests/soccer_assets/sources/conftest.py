"""Fixtures for the source-client tests: one mirror server per session, reset for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from soccer_assets.sources.client import FootballDataClient
from tests.support.mirror import Mirror, serve_mirror, shared_football_data


@pytest.fixture(scope="session")
def football_data_root() -> Path:
    root = shared_football_data()
    if not (root / "mmz4281").is_dir():
        pytest.fail(f"shared football-data snapshot not found at {root}; set SOCCER_SHARED_DATA")
    return root


@pytest.fixture(scope="session")
def _mirror_server(football_data_root: Path) -> Iterator[Mirror]:
    yield from serve_mirror(football_data_root)


@pytest.fixture
def mirror(_mirror_server: Mirror) -> Iterator[Mirror]:
    """The running mirror with no faults, overlays or logged requests left over from other tests."""
    _mirror_server.reset()
    yield _mirror_server
    _mirror_server.reset()


class FakeTime:
    """A clock that only moves when something sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(mirror: Mirror, fake_time: FakeTime) -> Iterator:
    """Factory for clients pointed at the mirror: no rate limit, no jitter, and a fake sleep so
    backoff costs nothing and is observable (``fake_time.sleeps``). Override any keyword."""
    clients: list[FootballDataClient] = []

    def make(**overrides: object) -> FootballDataClient:
        kwargs: dict[str, object] = {
            "timeout": 2.0,
            "max_retries": 3,
            "backoff": 0.01,
            "jitter": 0.0,
            "min_interval": 0.0,
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
        }
        kwargs.update(overrides)
        base_url = str(kwargs.pop("base_url", mirror.url))
        client = FootballDataClient(base_url, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
