"""``fetch_seasons``: the one league × season loop of ingestion, snapshot fetch and evaluate."""

from __future__ import annotations

from pathlib import Path

from soccer_assets.sources.client import SeasonNotPublished, SourceError
from soccer_assets.sources.fetch import CachedFile, fetch_seasons
from tests.support.mirror import FaultKind, Mirror


def test_outcomes_in_order_with_unpublished_seasons_returned(make_client, football_data_root: Path) -> None:
    client = make_client(base_url=football_data_root.as_uri())
    pairs = [("E0", "2023-24"), ("E0", "2030-31"), ("SP1", "2022-23")]

    items = list(fetch_seasons(client, pairs))

    assert [(i.league, i.season, i.path) for i in items] == [
        ("E0", "2023-24", "mmz4281/2324/E0.csv"),
        ("E0", "2030-31", "mmz4281/3031/E0.csv"),
        ("SP1", "2022-23", "mmz4281/2223/SP1.csv"),
    ]
    ok, missing, other = items
    assert ok.error is None and not ok.not_published
    assert ok.result is not None
    assert ok.result.content == (football_data_root / ok.path).read_bytes()
    assert missing.result is None and missing.not_published
    assert isinstance(missing.error, SeasonNotPublished)
    assert other.result is not None and other.error is None


def test_requests_are_lazy_and_other_errors_are_returned(make_client, mirror: Mirror) -> None:
    mirror.inject("/mmz4281/2324/E0.csv", FaultKind.STATUS, status=403, times=None)
    outcomes = fetch_seasons(make_client(), [("E0", "2023-24"), ("E1", "2023-24")])
    assert mirror.requests == []  # nothing is fetched before the caller asks

    refused = next(outcomes)
    assert len(mirror.requests) == 1
    assert type(refused.error) is SourceError and not refused.not_published
    assert "403" in str(refused.error) and refused.result is None
    assert next(outcomes).result is not None
    assert len(mirror.requests) == 2


def test_cached_copies_make_conditional_requests(make_client, mirror: Mirror) -> None:
    client = make_client()
    (first,) = fetch_seasons(client, [("E0", "2023-24")])
    assert first.result is not None
    asked: list[tuple[str, str]] = []

    def cached(league: str, season: str) -> CachedFile | None:
        asked.append((league, season))
        if league != "E0":
            return None
        return CachedFile(first.result.content, first.result.etag, first.result.last_modified)

    again, other = fetch_seasons(client, [("E0", "2023-24"), ("E1", "2023-24")], cached=cached)

    assert asked == [("E0", "2023-24"), ("E1", "2023-24")]
    assert again.result is not None and again.result.not_modified
    assert again.result.content == first.result.content
    assert mirror.requests[-2].header("If-None-Match") == first.result.etag
    assert other.result is not None and not other.result.not_modified
    assert mirror.requests[-1].header("If-None-Match") is None
