"""One ``file://`` / directory handling for the client, the CLI and serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from soccer_assets.sources.location import file_url_path, source_dir, to_source_url


def test_file_url_path_round_trips_a_directory(tmp_path: Path) -> None:
    odd = tmp_path / "with space" / "ünï"
    odd.mkdir(parents=True)
    assert file_url_path(odd.as_uri()) == odd
    assert file_url_path(odd.as_uri() + "/") == odd
    assert file_url_path("file://localhost/data/fd") == Path("/data/fd")
    assert file_url_path("FILE:///data/fd") == Path("/data/fd")


@pytest.mark.parametrize("url", ["https://www.football-data.co.uk", "http://127.0.0.1:9/x", "ftp://x"])
def test_file_url_path_is_none_for_other_schemes(url: str) -> None:
    assert file_url_path(url) is None


def test_file_url_path_rejects_a_remote_host() -> None:
    with pytest.raises(ValueError, match="local path"):
        file_url_path("file://fileserver/share/fd")


def test_source_dir_accepts_file_urls_and_plain_paths(tmp_path: Path) -> None:
    assert source_dir(tmp_path.as_uri()) == tmp_path
    assert source_dir(str(tmp_path)) == tmp_path
    assert source_dir("relative/dir") == Path("relative/dir")
    assert source_dir("https://www.football-data.co.uk") is None
    assert source_dir("HTTP://127.0.0.1:9") is None


def test_to_source_url_turns_a_directory_into_a_file_url(tmp_path: Path) -> None:
    assert to_source_url(str(tmp_path)) == tmp_path.resolve().as_uri()
    assert file_url_path(to_source_url(str(tmp_path))) == tmp_path.resolve()
    assert to_source_url("http://127.0.0.1:9/mirror//") == "http://127.0.0.1:9/mirror"
    assert to_source_url(tmp_path.as_uri() + "/") == tmp_path.as_uri()
    with pytest.raises(ValueError, match="neither a URL nor an existing directory"):
        to_source_url(str(tmp_path / "missing"))
