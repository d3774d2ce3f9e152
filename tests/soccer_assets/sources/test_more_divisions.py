"""The 14 further divisions of ``football-data-more`` (70 real files): codes, quirks, repeated pairings.

Row counts come from that folder's own provenance table (``SOURCES.md``), as for the six leagues.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from soccer_assets.core import quality
from soccer_assets.core.seasons import SeasonError, code_to_season, validate_league
from soccer_assets.sources.parser import parse_season_csv
from tests.conftest import shared_data_dir

NEW_DIVISIONS = ["E2", "E3", "EC", "SC0", "SC1", "D2", "I2", "SP2", "F2", "N1", "B1", "P1", "T1", "G1"]


def more_data_dir() -> Path:
    path = shared_data_dir().parent / "football-data-more"
    if not (path / "mmz4281").is_dir():
        pytest.skip(f"football-data-more not found at {path}")
    return path


def _counts() -> dict[tuple[str, str], int]:
    text = (more_data_dir() / "SOURCES.md").read_text()
    return {(div, code_to_season(code)): int(n)
            for code, div, n in re.findall(r"mmz4281/(\d{4})/([A-Z0-9]+)\.csv` \| (\d+) \|", text)}


def _files() -> list[tuple[str, str, Path]]:
    return [(f.stem, code_to_season(f.parent.name), f)
            for f in sorted((more_data_dir() / "mmz4281").glob("*/*.csv"))]


def test_the_folder_holds_every_new_division_for_five_seasons():
    files = _files()
    assert len(files) == len(_counts()) == 70
    assert sorted({lg for lg, _s, _f in files}) == sorted(NEW_DIVISIONS)


@pytest.mark.parametrize("code", [*NEW_DIVISIONS, "E0", "SP1", "ARG", "USA"])
def test_every_division_and_extra_league_code_is_valid(code):
    assert validate_league(code) == code


@pytest.mark.parametrize("code", ["", "e0", "E", "EC1X", "ABCD", "E01", "E\u0660", "E0 "])
def test_malformed_codes_are_refused(code):
    with pytest.raises(SeasonError, match="league code must look like"):
        validate_league(code)


def test_every_new_file_parses_to_its_documented_rows_with_unique_keys():
    counts = _counts()
    repeated = {}
    for league, season, path in _files():
        parsed = parse_season_csv(path.read_bytes(), league, season)
        df = parsed.matches
        assert len(df) == counts[(league, season)], (league, season)
        assert df["match_id"].is_unique, (league, season)
        for outcome in quality.run_all(df, season):
            assert outcome.passed or not outcome.blocking, (league, season, outcome)
        pairs = df.groupby(["home_team", "away_team"]).size()
        repeated[(league, season)] = int((pairs > 1).sum())
    # Split rounds and play-offs: the same pairing at the same venue two or more times a season.
    assert repeated[("SC0", "2023-24")] > 0 and repeated[("B1", "2023-24")] > 0
    assert repeated[("G1", "2023-24")] > 0 and repeated[("SC1", "2023-24")] > 0
    assert repeated[("E2", "2023-24")] == 0


def test_the_files_quirks(shared_data):
    root = more_data_dir() / "mmz4281"

    def parse(code: str, div: str):
        return parse_season_csv((root / code / f"{div}.csv").read_bytes(), div, code_to_season(code))

    # EC 2020/21: Windows-1252 (0x92, a right quote in King’s Lynn), no shots/fouls columns.
    ec = parse("2021", "EC")
    assert "King’s Lynn" in set(ec.matches["home_team"]) | set(ec.matches["away_team"])
    assert ec.matches["hs"].isna().all()
    # B1 2021/22: the header ends with an empty column name (every line has the extra field).
    b1 = parse("2122", "B1")
    assert "" not in b1.source_columns and len(b1.matches) == 306
    # F2 2023/24: 379 matches (one absent) is a warning, not a refusal.
    f2 = parse("2324", "F2")
    short = quality.expected_row_count(f2.matches)
    assert len(f2.matches) == 379 and not short.passed and not short.blocking
    # N1 2022/23 marks one lost price with "#": missing, the rest of the row and file kept.
    n1 = parse("2223", "N1").matches
    row = n1[(n1["home_team"] == "Utrecht") & (n1["away_team"] == "Feyenoord")]
    assert row["odds_b365_close_h"].isna().all() and row["odds_b365_close_d"].notna().all()
    # The COVID-stopped 2019/20 seasons are final as published.
    assert len(parse("1920", "SC0").matches) == 179 and len(parse("1920", "N1").matches) == 232
