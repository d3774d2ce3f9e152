"""FootballDataClient against the local mirror: real HTTP, real sockets, injected faults.

Backoff and rate-limit sleeps go through a fake clock (``fake_time``), so the module runs in about
a second and the schedule is asserted exactly instead of by wall-clock timing.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from pathlib import Path

import pytest

from soccer_assets.core.names import SITE_URL
from soccer_assets.sources.client import (
    DEFAULT_BASE_URL,
    FetchResult,
    FootballDataClient,
    SeasonNotPublished,
    SourceError,
    SourceUnavailable,
)
from tests.support.mirror import Fault, FaultKind, Mirror

E0_PATH = "/mmz4281/2324/E0.csv"


@pytest.fixture
def e0_bytes(football_data_root: Path) -> bytes:
    return (football_data_root / E0_PATH.lstrip("/")).read_bytes()


# --------------------------------------------------------------------------- URLs and settings


def test_urls_follow_the_site_layout() -> None:
    client = FootballDataClient("https://www.football-data.co.uk/")
    assert client.season_url("E0", "2023-24") == "https://www.football-data.co.uk/mmz4281/2324/E0.csv"
    assert client.fixtures_url() == "https://www.football-data.co.uk/fixtures.csv"
    prefixed = FootballDataClient("http://127.0.0.1:9/mirror/")
    assert prefixed.season_url("SP1", "2012-13") == "http://127.0.0.1:9/mirror/mmz4281/1213/SP1.csv"
    client.close()
    prefixed.close()


def test_default_base_url_is_the_site() -> None:
    assert DEFAULT_BASE_URL == SITE_URL
    with FootballDataClient() as client:
        assert client.base_url == SITE_URL and not client.is_local


@pytest.mark.parametrize(("league", "season"), [("premier", "2023-24"), ("E0", "2023-25"), ("E0", "2324")])
def test_bad_league_or_season_fails_before_any_request(league: str, season: str) -> None:
    with FootballDataClient("http://127.0.0.1:9") as client, pytest.raises(ValueError):
        client.fetch_season(league, season)


@pytest.mark.parametrize(
    "kwargs",
    [{"base_url": "ftp://example.org"}, {"max_retries": -1}, {"jitter": 1.5}, {"timeout": 0}],
)
def test_rejects_invalid_configuration(kwargs: dict) -> None:
    kwargs = {"base_url": "http://127.0.0.1:9", **kwargs}
    with pytest.raises(ValueError):
        FootballDataClient(kwargs.pop("base_url"), **kwargs)


# ------------------------------------------------------------------------------- happy path


def test_fetch_returns_the_file_byte_for_byte(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    result = make_client().fetch_season("E0", "2023-24")

    assert isinstance(result, FetchResult)
    assert result.content == e0_bytes
    assert result.sha256 == hashlib.sha256(e0_bytes).hexdigest()
    assert result.url == mirror.url_for(E0_PATH)
    assert (result.status, result.not_modified, result.attempts) == (200, False, 1)
    assert result.etag == mirror.etag_of(E0_PATH)
    assert result.last_modified and result.last_modified.endswith("GMT")
    assert "content" not in repr(result)  # 170 kB of CSV must not end up in logs

    (request,) = mirror.requests
    assert (request.method, request.path) == ("GET", E0_PATH)
    assert "soccer-predict" in (request.header("User-Agent") or "")
    assert request.header("If-None-Match") is None and request.header("If-Modified-Since") is None


def test_every_file_in_the_snapshot_round_trips(make_client, football_data_root: Path) -> None:
    client = make_client()
    files = sorted((football_data_root / "mmz4281").glob("*/*.csv"))
    assert files
    for file in files:
        code, league = file.parent.name, file.stem
        season = f"20{code[:2]}-{code[2:]}"
        assert client.fetch_season(league, season).content == file.read_bytes(), file


def test_fetch_fixtures(make_client, football_data_root: Path) -> None:
    result = make_client().fetch_fixtures()
    assert result.content == (football_data_root / "fixtures.csv").read_bytes()
    assert result.url.endswith("/fixtures.csv")


# ---------------------------------------------------------------------------------- retries


def test_two_500s_then_success(make_client, mirror: Mirror, fake_time, e0_bytes: bytes) -> None:
    fault = mirror.inject(E0_PATH, FaultKind.HTTP_500, times=2)

    result = make_client(backoff=0.01).fetch_season("E0", "2023-24")

    assert result.attempts == 3
    assert result.content == e0_bytes
    assert fault.hits == 2
    assert [r.status for r in mirror.requests_for(E0_PATH)] == [500, 500, 200]
    assert fake_time.sleeps == pytest.approx([0.01, 0.02])  # exponential backoff, no jitter


def test_timeout_then_success(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    mirror.inject(E0_PATH, FaultKind.SLOW, delay=5.0, times=1)
    started = time.monotonic()

    result = make_client(timeout=0.25).fetch_season("E0", "2023-24")

    assert result.attempts == 2
    assert result.content == e0_bytes
    assert len(mirror.requests_for(E0_PATH)) == 2
    assert time.monotonic() - started < 4.0  # gave up on the slow answer instead of waiting it out


def test_connection_reset_then_success(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    mirror.inject(E0_PATH, FaultKind.RESET, times=1)
    result = make_client().fetch_season("E0", "2023-24")
    assert (result.attempts, result.content) == (2, e0_bytes)


def test_connection_refused_is_unavailable(make_client) -> None:
    # Port 9 (discard) on localhost: nothing listens there in a test environment.
    with pytest.raises(SourceUnavailable, match=r"ConnectError"):
        make_client(base_url="http://127.0.0.1:9", max_retries=1).fetch_season("E0", "2023-24")


def test_persistent_500_exhausts_bounded_retries(make_client, mirror: Mirror, fake_time) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_500, times=None)
    client = make_client(max_retries=3, backoff=0.01)

    with pytest.raises(SourceUnavailable) as info:
        client.fetch_season("E0", "2023-24")

    err = info.value
    assert not isinstance(err, SeasonNotPublished)
    assert err.url == mirror.url_for(E0_PATH)
    message = str(err)
    assert mirror.url_for(E0_PATH) in message
    assert "after 4 attempts" in message
    assert all(f"attempt {n}: HTTP 500 Internal Server Error" in message for n in range(1, 5))
    assert len(err.attempts) == 4
    assert len(mirror.requests_for(E0_PATH)) == 4
    assert fake_time.sleeps == pytest.approx([0.01, 0.02, 0.04])  # no sleep after the last try


def test_max_retries_zero_means_a_single_attempt(make_client, mirror: Mirror) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_503, times=None)
    with pytest.raises(SourceUnavailable, match="after 1 attempt: "):
        make_client(max_retries=0).fetch_season("E0", "2023-24")
    assert len(mirror.requests) == 1


def test_truncated_body_is_retried(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    mirror.inject(E0_PATH, FaultKind.TRUNCATE, times=1)
    result = make_client().fetch_season("E0", "2023-24")
    assert result.attempts == 2
    assert result.content == e0_bytes  # never the half body


def test_persistent_truncation_is_unavailable(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    mirror.inject(E0_PATH, FaultKind.TRUNCATE, times=None)
    with pytest.raises(SourceUnavailable) as info:
        make_client(max_retries=2).fetch_season("E0", "2023-24")
    assert len(info.value.attempts) == 3
    assert f"expected {len(e0_bytes)}" in str(info.value)  # says the body was cut short
    assert len(mirror.requests_for(E0_PATH)) == 3


def test_retry_after_is_honoured_and_capped(make_client, mirror: Mirror, fake_time) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_503, retry_after=3, times=1)
    mirror.inject(E0_PATH, FaultKind.STATUS, status=429, retry_after=120, times=1)

    result = make_client(backoff=0.01, max_backoff=10.0).fetch_season("E0", "2023-24")

    assert result.attempts == 3
    assert fake_time.sleeps == pytest.approx([3.0, 10.0])


def test_jitter_is_bounded_and_reproducible(make_client, mirror: Mirror, fake_time) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_500, times=None)
    schedules = []
    for _ in range(2):
        fake_time.sleeps.clear()
        client = make_client(max_retries=4, backoff=0.1, jitter=0.5, rng=random.Random(7))
        with pytest.raises(SourceUnavailable):
            client.fetch_season("E0", "2023-24")
        schedules.append(list(fake_time.sleeps))

    assert schedules[0] == schedules[1]
    for n, delay in enumerate(schedules[0], start=1):
        base = 0.1 * 2 ** (n - 1)
        assert 0.5 * base <= delay <= base


# ------------------------------------------------------------------- not published / refused


def test_404_is_season_not_published_and_not_retried(make_client, mirror: Mirror, fake_time) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_404, times=None)

    with pytest.raises(SeasonNotPublished) as info:
        make_client().fetch_season("E0", "2023-24")

    assert not isinstance(info.value, SourceUnavailable)
    assert isinstance(info.value, SourceError)
    assert info.value.url in str(info.value)
    assert len(mirror.requests) == 1
    assert fake_time.sleeps == []


def test_season_missing_from_the_site_is_not_published(make_client, mirror: Mirror) -> None:
    client = make_client()
    with pytest.raises(SeasonNotPublished, match=r"mmz4281/2526/E0\.csv"):
        client.fetch_season("E0", "2025-26")
    mirror.delete("/fixtures.csv")
    with pytest.raises(SeasonNotPublished):
        client.fetch_fixtures()


def test_other_4xx_is_a_plain_source_error_without_retry(make_client, mirror: Mirror) -> None:
    mirror.inject(E0_PATH, FaultKind.STATUS, status=403, times=None)
    with pytest.raises(SourceError, match="403") as info:
        make_client().fetch_season("E0", "2023-24")
    assert type(info.value) is SourceError
    assert len(mirror.requests) == 1


# ------------------------------------------------------------------------ conditional requests


def test_304_returns_cached_bytes(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    client = make_client()
    first = client.fetch_season("E0", "2023-24")

    again = client.fetch_season(
        "E0", "2023-24", etag=first.etag, last_modified=first.last_modified, cached=first.content
    )

    assert again.not_modified is True
    assert again.status == 304
    assert again.content == e0_bytes
    assert again.sha256 == first.sha256
    assert (again.etag, again.last_modified) == (first.etag, first.last_modified)
    conditional = mirror.requests[-1]
    assert conditional.header("If-None-Match") == first.etag
    assert conditional.header("If-Modified-Since") == first.last_modified
    assert conditional.status == 304


def test_if_modified_since_alone_gives_304(make_client, mirror: Mirror) -> None:
    client = make_client()
    first = client.fetch_season("E0", "2023-24")
    again = client.fetch_season("E0", "2023-24", last_modified=first.last_modified, cached=first.content)
    assert again.not_modified
    assert mirror.requests[-1].header("If-None-Match") is None


def test_changed_file_is_downloaded_again(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    client = make_client()
    first = client.fetch_season("E0", "2023-24")
    updated = e0_bytes + b"E0,26/05/2024,16:00,Arsenal,Everton,2,1,H\r\n"
    mirror.put(E0_PATH, updated)

    again = client.fetch_season("E0", "2023-24", etag=first.etag, cached=first.content)

    assert not again.not_modified
    assert again.status == 200
    assert again.content == updated
    assert again.sha256 != first.sha256
    assert again.etag != first.etag


def test_validators_without_cached_bytes_are_not_sent(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    etag = mirror.etag_of(E0_PATH)
    result = make_client().fetch_season("E0", "2023-24", etag=etag)
    assert (result.status, result.content) == (200, e0_bytes)
    assert mirror.requests[-1].header("If-None-Match") is None


# ------------------------------------------------------------------------------------ file://


def test_file_base_url_reads_the_snapshot(make_client, football_data_root: Path, e0_bytes: bytes) -> None:
    over_http = make_client().fetch_season("E0", "2023-24")
    client = make_client(base_url=football_data_root.as_uri(), min_interval=5.0)

    result = client.fetch_season("E0", "2023-24")
    fixtures = client.fetch_fixtures()

    assert client.is_local
    assert result.content == e0_bytes
    assert result.sha256 == over_http.sha256  # same data version whichever way it was fetched
    assert result.url == football_data_root.as_uri() + E0_PATH
    assert (result.status, result.attempts, result.not_modified) == (200, 1, False)
    assert result.etag and result.last_modified
    assert fixtures.content == (football_data_root / "fixtures.csv").read_bytes()


def test_file_base_url_missing_file_is_not_published(
    make_client, football_data_root: Path, tmp_path: Path
) -> None:
    with pytest.raises(SeasonNotPublished, match="2526"):
        make_client(base_url=football_data_root.as_uri()).fetch_season("E0", "2025-26")
    with pytest.raises(SeasonNotPublished):
        make_client(base_url=(tmp_path / "nowhere").as_uri()).fetch_season("E0", "2023-24")


def test_file_base_url_reports_unchanged_content(make_client, football_data_root: Path) -> None:
    client = make_client(base_url=football_data_root.as_uri())
    first = client.fetch_season("E0", "2023-24")
    again = client.fetch_season("E0", "2023-24", etag=first.etag, cached=first.content)
    assert again.not_modified and again.status == 304 and again.content == first.content
    changed = client.fetch_season("E0", "2023-24", cached=b"old bytes")
    assert not changed.not_modified and changed.content == first.content


# --------------------------------------------------------------------------------- politeness


def test_min_interval_spaces_consecutive_requests(make_client, fake_time) -> None:
    client = make_client(min_interval=1.0)

    client.fetch_season("E0", "2023-24")
    assert fake_time.sleeps == []  # the first request never waits
    client.fetch_season("E1", "2023-24")
    assert fake_time.sleeps == pytest.approx([1.0])
    fake_time.advance(0.4)
    client.fetch_fixtures()
    assert fake_time.sleeps == pytest.approx([1.0, 0.6])
    fake_time.advance(5.0)
    client.fetch_season("D1", "2023-24")
    assert fake_time.sleeps == pytest.approx([1.0, 0.6])  # already long enough ago


def test_min_interval_also_spaces_retries(make_client, mirror: Mirror, fake_time) -> None:
    mirror.inject(E0_PATH, FaultKind.HTTP_500, times=1)
    make_client(min_interval=1.0, backoff=0.25).fetch_season("E0", "2023-24")
    # 0.25 s backoff, then the rate limit tops it up to a full second between the two requests.
    assert fake_time.sleeps == pytest.approx([0.25, 0.75])


def test_min_interval_with_the_real_clock(mirror: Mirror) -> None:
    with FootballDataClient(mirror.url, min_interval=0.05, max_retries=0) as client:
        for league in ("E0", "E1", "D1"):
            client.fetch_season(league, "2023-24")
    times = [r.time for r in mirror.requests]
    assert len(times) == 3
    assert times[-1] - times[0] >= 0.08  # two gaps of ~0.05 s; loose on purpose


# ------------------------------------------------------- mirror behaviour other suites rely on


def test_body_fault_serves_given_bytes_once(make_client, mirror: Mirror, e0_bytes: bytes) -> None:
    mirror.inject(E0_PATH, Fault.BODY, body=b"Div,Date\r\n,,,garbage\r\n")
    client = make_client()
    garbage = client.fetch_season("E0", "2023-24")
    assert garbage.content == b"Div,Date\r\n,,,garbage\r\n"  # the client does not judge content
    assert garbage.etag != mirror.etag_of(E0_PATH)
    assert client.fetch_season("E0", "2023-24").content == e0_bytes


def test_fault_patterns_glob_and_regex(make_client, mirror: Mirror) -> None:
    client = make_client(max_retries=0)
    glob = mirror.inject("/mmz4281/*/E0.csv", FaultKind.HTTP_503, times=None)
    regex = mirror.add_fault(Fault(re.compile(r"/D1\.csv$"), FaultKind.HTTP_500, times=1))

    with pytest.raises(SourceUnavailable):
        client.fetch_season("E0", "2012-13")
    with pytest.raises(SourceUnavailable):
        client.fetch_season("D1", "2015-16")
    client.fetch_season("D1", "2015-16")  # regex rule used up
    client.fetch_season("E1", "2012-13")  # glob does not match

    assert (glob.hits, regex.hits) == (1, 1)
    assert len(mirror.requests_for("/mmz4281/*/D1.csv")) == 2


def test_mirror_serves_nothing_outside_its_root(mirror: Mirror) -> None:
    assert mirror.content_of("/../../etc/passwd") is None
    assert mirror.content_of("/mmz4281") is None  # no directory listings
    assert mirror.content_of(E0_PATH) is not None
