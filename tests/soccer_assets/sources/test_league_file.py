"""The extra leagues' all-seasons files ``new/<CODE>.csv`` (8 real files of ``football-data-more``):
split by season byte for byte, parsed like season files, fetched once per client.

Row counts come from that folder's provenance table (``SOURCES.md``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pytest

from soccer_assets.core.seasons import season_bounds, season_key
from soccer_assets.sources.client import FootballDataClient
from soccer_assets.sources.errors import SeasonNotPublished, SourceError
from soccer_assets.sources.league_file import is_league_file, split_league_file
from soccer_assets.sources.parser import ParseError, parse_season_csv
from tests.soccer_assets.sources.test_more_divisions import more_data_dir
from tests.support.mirror import Mirror

EXTRA = ["ARG", "BRA", "CHN", "FIN", "IRL", "JPN", "MEX", "USA"]


def _file(code: str) -> bytes:
    return (more_data_dir() / "new" / f"{code}.csv").read_bytes()


def _documented_rows() -> dict[str, int]:
    text = (more_data_dir() / "SOURCES.md").read_text()
    rows = re.findall(r"`data/football-data-more/new/([A-Z]+)\.csv` \| (\d+) \|", text)
    return {code: int(n) for code, n in rows}


def _labels(data: bytes) -> dict[str, int]:
    """Rows per Season cell, counted with the csv module alone (independent of the code)."""
    counts: dict[str, int] = {}
    for row in list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]:
        if any(c.strip() for c in row):
            counts[row[2]] = counts.get(row[2], 0) + 1
    return counts


@pytest.mark.parametrize("code", EXTRA)
def test_each_file_splits_into_its_seasons_losing_no_line(code):
    data = _file(code)
    parts = split_league_file(data)
    labels = _labels(data)
    assert len(parts) == len(labels)
    assert list(parts) == sorted(parts, key=season_key)  # in order
    header, *body = data.splitlines(keepends=True)
    rows = [line for line in body if line.strip(b",\r\n")]
    sliced = [line for part in parts.values() for line in part.splitlines(keepends=True)[1:]]
    assert sorted(sliced) == sorted(rows)  # every row in exactly one slice, byte for byte
    assert all(part.startswith(header) for part in parts.values())
    matches = unplayed = misdated = 0
    season_of_last = list(parts)[-1]
    for season, part in parts.items():
        parsed = parse_season_csv(part, code, season)
        m = parsed.matches
        assert set(m["season"]) == {season} and set(m["league"]) == {code}
        assert m["match_id"].is_unique
        lo, hi = season_bounds(season)
        assert m["date"].dt.date.between(lo, hi).all()
        if season in (next(iter(parts)), season_of_last):
            # The slice and the whole file give the same table for the season.
            assert parse_season_csv(data, code, season).matches.equals(m)
        matches += len(m)
        unplayed += len(parsed.unplayed_lines)
        misdated += len(parsed.misdated_lines)
    assert matches + unplayed + misdated == _documented_rows()[code] == sum(labels.values())


def test_season_labels_mix_split_and_calendar_years():
    assert list(split_league_file(_file("ARG"))) == [
        "2012-13", "2013-14", "2014", "2015", "2016", "2016-17", "2017-18", "2018-19", "2019-20",
        "2020", "2021", "2022", "2023", "2024", "2025", "2026"]
    assert list(split_league_file(_file("MEX")))[-2:] == ["2024-25", "2025-26"]
    assert list(split_league_file(_file("JPN")))[-1] == "2025"  # no 2026 rows in the snapshot
    assert len(parse_season_csv(_file("BRA"), "BRA", "2025").matches) == 380


def test_the_files_quirks():
    # BRA 2016: Chapecoense v Atletico-MG was never played (the air crash): no score, no result.
    bra = parse_season_csv(_file("BRA"), "BRA", "2016")
    assert len(bra.unplayed_lines) == 1 and len(bra.matches) == 379
    line = _file("BRA").splitlines()[bra.unplayed_lines[0] - 1]
    assert b"Chapecoense-SC,Atletico-MG,,," in line
    # ARG "2013/2014" has one row dated 29/01/2015, outside that season's window.
    arg = parse_season_csv(_file("ARG"), "ARG", "2013-14")
    assert len(arg.misdated_lines) == 1 and len(arg.matches) == 382
    assert b"29/01/2015" in _file("ARG").splitlines()[arg.misdated_lines[0] - 1]
    # Trailing spaces in League (ARG, IRL) are not part of the value; Country and League are kept.
    extra = parse_season_csv(_file("ARG"), "ARG", "2019-20").matches["extra"].iloc[0]
    assert '"League": "Liga Profesional"' in extra and '"Country": "Argentina"' in extra
    # JPN's header spells B365CA "B36CA": it still lands in the Bet365 closing column.
    jpn = parse_season_csv(_file("JPN"), "JPN", "2025")
    b365 = jpn.matches.filter(like="odds_b365_close_").notna().sum()
    assert jpn.unknown_columns == [] and b365["odds_b365_close_a"] == b365["odds_b365_close_h"] == 130
    # USA 2025: an AvgCH of "x" (a lost value) is missing, not an error.
    usa = parse_season_csv(_file("USA"), "USA", "2025").matches
    row = usa[(usa.home_team == "Atlanta Utd") & (usa.date == "2025-04-12")].iloc[0]
    assert math.isnan(row["odds_avg_close_h"]) and row["odds_avg_close_d"] == 4.65
    # Only closing prices: no opening odds to bet on.
    assert usa.filter(regex=r"^odds_.*_open_").isna().all().all()
    assert usa["odds_ps_close_h"].notna().any()


def _synthetic(*rows: str) -> bytes:
    header = "Country,League,Season,Date,Time,Home,Away,HG,AG,Res,PSCH,PSCD,PSCA"
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def test_malformed_all_seasons_files_are_refused_naming_the_line():
    ok = "Narnia,Liga,2025,01/03/2025,18:00,A,B,1,0,H,2,3,4"
    with pytest.raises(ParseError, match=r"line 3: season label must look like"):
        split_league_file(_synthetic(ok, "Narnia,Liga,25/26,01/03/2025,18:00,A,B,1,0,H,2,3,4"))
    with pytest.raises(ParseError, match="line 3: date '31/02/2025' is not a calendar date"):
        parse_season_csv(_synthetic(ok, "Narnia,Liga,2025,31/02/2025,18:00,B,A,1,0,H,2,3,4"), "ARG", "2025")
    with pytest.raises(ParseError, match="line 2: 12 fields"):
        parse_season_csv(_synthetic("Narnia,Liga,2025,01/03/2025,18:00,A,B,1,0,H,2,3"), "ARG", "2025")
    with pytest.raises(ParseError, match="no matches of season 2024"):
        parse_season_csv(_synthetic(ok), "ARG", "2024")
    with pytest.raises(ParseError, match="quoted line break"):
        split_league_file(_synthetic('Narnia,"Li\r\nga",2025,01/03/2025,18:00,A,B,1,0,H,2,3,4'))
    with pytest.raises(ParseError, match="not an all-seasons file"):
        split_league_file(b"Div,Date,HomeTeam\r\nE0,01/01/2024,A\r\n")
    assert is_league_file(_synthetic(ok)) and is_league_file(b"\xef\xbb\xbf" + _synthetic(ok))
    # A shorter file is still split; a file without a row is refused.
    assert list(split_league_file(_synthetic(ok))) == ["2025"]
    with pytest.raises(ParseError, match="header but no matches"):
        split_league_file(_synthetic(",,,,,,,,,,,,"))


def test_the_client_fetches_the_file_once_and_serves_every_season_of_it():
    with Mirror(more_data_dir()) as mirror, FootballDataClient(mirror.url, min_interval=0) as client:
        whole = split_league_file(_file("USA"))
        for season in ("2023", "2024", "2025"):
            got = client.fetch_season("USA", season)
            assert got.content == whole[season] and got.url.endswith("/new/USA.csv")
            assert got.etag is None  # validators belong to the whole file
        assert client.league_file_seasons("USA") == list(whole)
        assert len(mirror.requests_for("/new/USA.csv")) == 1
        with pytest.raises(SeasonNotPublished, match="has no season 2011"):
            client.fetch_season("USA", "2011")
        with pytest.raises(SeasonNotPublished):
            client.fetch_season("NOR", "2025")  # not in this folder: a 404
        # A mirror answering with an error page, and a file with a bad season label in it.
        mirror.put("/new/CHN.csv", b"<html><body>Service temporarily unavailable</body></html>")
        with pytest.raises(SourceError, match="not a valid all-seasons file"):
            client.fetch_season("CHN", "2025")
        mirror.put("/new/FIN.csv", _file("FIN").replace(b",2019,", b",2019/2021,", 1))
        with pytest.raises(SourceError, match=r"line \d+: season label must look like"):
            client.fetch_season("FIN", "2025")


def test_a_file_source_serves_the_same_seasons(tmp_path: Path):
    client = FootballDataClient(f"file://{more_data_dir()}")
    assert client.fetch_season("IRL", "2024").content == split_league_file(_file("IRL"))["2024"]
    assert client.season_path("IRL", "2024") == "new/IRL.csv"
    assert client.season_path("E2", "2023-24") == "mmz4281/2324/E2.csv"
