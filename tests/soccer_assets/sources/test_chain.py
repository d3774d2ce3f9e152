"""Two sources served together (``SourceChain``): a file the first lacks comes from the second;
anything else the first answers (a fault, a bad file) is its answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from soccer_assets.defs.resources import FootballDataSource
from soccer_assets.sources.chain import SourceChain
from soccer_assets.sources.client import FootballDataClient
from soccer_assets.sources.errors import SeasonNotPublished, SourceUnavailable
from soccer_assets.sources.fetch import fetch_seasons
from soccer_assets.sources.layout import local_league_files, local_season_files
from tests.support.mirror import FaultKind, Mirror


@pytest.fixture
def more(shared_data: Path) -> Path:
    path = shared_data.parent / "football-data-more"
    if not (path / "mmz4281").is_dir():
        pytest.skip("football-data-more is not here")
    return path


def test_a_file_comes_from_the_first_source_that_has_it(shared_data: Path, more: Path):
    with Mirror(shared_data) as first, SourceChain([FootballDataClient(first.url, min_interval=0),
                                                   FootballDataClient(more.as_uri())]) as chain:
        e0 = chain.fetch_season("E0", "2023-24")
        assert e0.url == first.url_for("mmz4281/2324/E0.csv")
        assert e0.content == (shared_data / "mmz4281/2324/E0.csv").read_bytes()
        ec = chain.fetch_season("EC", "2023-24")  # a 404 at the first, a file at the second
        assert ec.url == (more / "mmz4281/2324/EC.csv").as_uri()
        assert ec.content == (more / "mmz4281/2324/EC.csv").read_bytes()
        assert len(first.requests_for("/mmz4281/2324/EC.csv")) == 1
        with pytest.raises(SeasonNotPublished, match="no source has SC0 2012-13") as caught:
            chain.fetch_season("SC0", "2012-13")
        assert caught.value.url == first.url_for("mmz4281/1213/SC0.csv")
        assert chain.base_url == first.url and not chain.is_local
        # fetch_seasons (what raw_match_files runs) reports per pair, the miss as "not published".
        out = {(f.league, f.season): f for f in fetch_seasons(chain, [("EC", "2023-24"), ("SC0", "2012-13")])}
        assert out["EC", "2023-24"].result is not None and out["SC0", "2012-13"].not_published


def test_a_fault_of_the_first_source_is_not_papered_over_by_the_second(shared_data: Path, more: Path):
    """E0 2023-24 is in both folders: a 503 at the first is a failure, not the second's copy."""
    with Mirror(shared_data) as first:
        first.inject("/mmz4281/2324/E0.csv", FaultKind.HTTP_503, times=None)
        chain = SourceChain([FootballDataClient(first.url, max_retries=1, backoff=0, min_interval=0),
                             FootballDataClient(shared_data.as_uri())])
        with chain, pytest.raises(SourceUnavailable):
            chain.fetch_season("E0", "2023-24")
    with pytest.raises(ValueError, match="at least one source"):
        SourceChain([])


def test_the_resource_chains_its_more_urls(shared_data: Path, more: Path):
    one = FootballDataSource(base_url=shared_data.as_uri()).client()
    assert isinstance(one, FootballDataClient)
    chain = FootballDataSource(base_url=shared_data.as_uri(), more_urls=f" {more.as_uri()} ,").client()
    assert isinstance(chain, SourceChain) and [c.base_url for c in chain.clients] == [
        shared_data.as_uri(), more.as_uri()]
    assert chain.is_local


def test_local_season_files_lists_the_season_files_only(shared_data: Path, more: Path, tmp_path: Path):
    files = local_season_files(more)
    assert len(files) == 70 and {lg for lg, _s, _p in files} >= {"EC", "SC0", "T1"}
    assert all(p == more / "mmz4281" / f"{s[2:4]}{s[5:7]}" / f"{lg}.csv" for lg, s, p in files)
    assert len(local_season_files(shared_data)) == 72
    (tmp_path / "mmz4281" / "latest").mkdir(parents=True)
    (tmp_path / "mmz4281" / "2324").mkdir()
    (tmp_path / "mmz4281" / "2324" / "README.txt").write_text("not a season")
    (tmp_path / "mmz4281" / "2324" / "E0.csv").write_text("Div\n")
    assert local_season_files(tmp_path) == [("E0", "2023-24", tmp_path / "mmz4281" / "2324" / "E0.csv")]
    assert local_season_files(tmp_path / "nothing") == []
    assert [lg for lg, _p in local_league_files(more)] == [
        "ARG", "BRA", "CHN", "FIN", "IRL", "JPN", "MEX", "USA"]
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "notes.csv").write_text("not a league")
    (tmp_path / "new" / "USA.csv").write_text("Country\n")
    assert local_league_files(tmp_path) == [("USA", tmp_path / "new" / "USA.csv")]
