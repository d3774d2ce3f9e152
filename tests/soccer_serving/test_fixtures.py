"""Reading fixtures.csv for upcoming-fixture jobs: HTTP, file:// and failures."""

from __future__ import annotations

import httpx
import pytest

from soccer_serving.fixtures import parse_fixtures, read_fixtures_file
from tests.support.mirror import FaultKind, Mirror


def test_http_and_file_sources_give_the_same_bytes(shared_data):
    expected = (shared_data / "fixtures.csv").read_bytes()
    with Mirror(shared_data) as mirror:
        assert read_fixtures_file(mirror.url) == expected
    assert read_fixtures_file(shared_data.resolve().as_uri()) == expected
    assert len(parse_fixtures(expected, "D1")) == 9


def test_failures_raise_so_the_job_retries(shared_data, tmp_path):
    with Mirror(shared_data) as mirror:
        mirror.inject("/fixtures.csv", FaultKind.HTTP_500, times=1)
        with pytest.raises(httpx.HTTPStatusError):
            read_fixtures_file(mirror.url)
        assert read_fixtures_file(mirror.url)  # the next attempt succeeds
    with pytest.raises(FileNotFoundError):
        read_fixtures_file(tmp_path.as_uri())
    with pytest.raises(ValueError, match="http"):
        read_fixtures_file("ftp://example.invalid")
