"""The parser on all 72 real files and on every malformed variant we know of."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from soccer_assets.core import quality
from soccer_assets.core.seasons import code_to_season, season_bounds
from soccer_assets.sources.parser import ParseError, parse_season_csv
from tests.conftest import shared_data_dir


def _expected_counts() -> dict[tuple[str, str], int]:
    """Row counts per file from the provenance table in SOURCES.md."""
    text = (shared_data_dir() / "SOURCES.md").read_text()
    counts = {}
    for code, div, n in re.findall(r"mmz4281/(\d{4})/([A-Z0-9]+)\.csv` \| (\d+) \|", text):
        counts[(div, code_to_season(code))] = int(n)
    return counts


def _files() -> list[tuple[str, str, Path]]:
    root = shared_data_dir() / "mmz4281"
    return [
        (f.stem, code_to_season(f.parent.name), f) for f in sorted(root.glob("*/*.csv"))
    ]


def test_sources_table_lists_all_72_files():
    assert len(_expected_counts()) == 72
    assert len(_files()) == 72


@pytest.mark.parametrize(("league", "season", "path"), _files(), ids=lambda v: str(v)[-12:])
def test_every_shared_file_parses_to_the_documented_rows(league, season, path):
    parsed = parse_season_csv(path.read_bytes(), league, season)
    df = parsed.matches
    assert len(df) == _expected_counts()[(league, season)]
    assert not df["match_id"].duplicated().any()
    lo, hi = season_bounds(season)
    assert df["date"].dt.date.min() >= lo and df["date"].dt.date.max() <= hi
    assert set(df["ftr"]) <= {"H", "D", "A"}
    for outcome in quality.run_all(df, season):
        if outcome.blocking:
            assert outcome.passed, outcome
    assert quality.no_columns_dropped(df, parsed.raw_records, set(parsed.mapped_columns)).passed
    # Pinnacle opening and closing odds are present in every season, if with gaps.
    assert df["odds_ps_open_h"].notna().mean() > 0.95
    assert df["odds_ps_close_h"].notna().mean() > 0.95
    assert df["odds_avg_open_h"].notna().mean() > 0.95


def test_known_counts_and_quirks(shared_data):
    f1 = parse_season_csv((shared_data / "mmz4281/1920/F1.csv").read_bytes(), "F1", "2019-20")
    assert len(f1.matches) == 279  # Ligue 1 stopped in March 2020
    exp = quality.expected_row_count(f1.matches)
    assert not exp.passed and not exp.blocking
    # 2012-13 Serie A ends with rows of bare commas.
    i1 = parse_season_csv((shared_data / "mmz4281/1213/I1.csv").read_bytes(), "I1", "2012-13")
    assert i1.blank_rows == 3 and len(i1.matches) == 380
    # Betbrain averages (before 2019-20) and the later Avg columns land in the same column.
    old = parse_season_csv((shared_data / "mmz4281/1718/E0.csv").read_bytes(), "E0", "2017-18")
    new = parse_season_csv((shared_data / "mmz4281/2324/E0.csv").read_bytes(), "E0", "2023-24")
    assert old.matches["odds_avg_open_h"].notna().all()
    assert new.matches["odds_avg_close_h"].notna().all()
    assert not old.matches["kickoff_time_known"].any()
    assert new.matches["kickoff_time_known"].all()
    first = new.matches.iloc[0]
    assert (first["home_team"], first["away_team"]) == ("Burnley", "Man City")
    assert first["kickoff"] == pd.Timestamp("2023-08-11 20:00")
    assert (first["fthg"], first["ftag"], first["ftr"]) == (0, 3, "A")
    # Over/under and Asian-handicap odds are kept verbatim.
    assert "B365>2.5" in json.loads(first["extra"])


def _real(shared_data: Path) -> bytes:
    return (shared_data / "mmz4281/2324/E0.csv").read_bytes()


def test_new_layout_with_bom_lf_and_new_columns(shared_data):
    text = _real(shared_data).decode()
    lines = text.split("\r\n")
    lines[0] += ",BFEH,BFED,BFEA,NewStat"
    lines[1:] = [ln + ",2.1,3.3,3.9,7" if ln else ln for ln in lines[1:]]
    data = b"\xef\xbb\xbf" + "\n".join(lines).encode()
    parsed = parse_season_csv(data, "E0", "2023-24")
    assert len(parsed.matches) == 380
    assert parsed.matches["odds_bfe_open_h"].iloc[0] == 2.1
    assert parsed.unknown_columns == ["NewStat"]
    assert json.loads(parsed.matches["extra"].iloc[0])["NewStat"] == "7"
    df = parsed.matches
    assert quality.no_columns_dropped(df, parsed.raw_records, set(parsed.mapped_columns)).passed


def test_mixed_two_and_four_digit_years(shared_data):
    text = _real(shared_data).decode().split("\r\n")
    text[1] = text[1].replace("11/08/2023", "11/08/23")
    parsed = parse_season_csv("\r\n".join(text).encode(), "E0", "2023-24")
    assert parsed.matches["date"].min() == pd.Timestamp("2023-08-11")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[: len(b) // 2], "fields where the header has"),
        (lambda b: b"", "empty"),
        (lambda b: b.split(b"\r\n", 1)[0] + b"\r\n", "no matches"),
        (lambda b: b.replace(b"HomeTeam", b"Home", 1), "required columns"),
        (lambda b: b.replace(b"E0,11/08/2023", b"E1,11/08/2023", 1), "division"),
        (lambda b: b.replace(b"E0,11/08/2023,20:00,Burnley,Man City,0,3",
                             b"E0,11/08/2023,20:00,Burnley,Man City,x,3", 1), "goal count"),
        (lambda b: b.replace(b"11/08/2023", b"31/02/2023", 1), "calendar date"),
        (lambda b: b.replace(b"11/08/2023", b"2023-08-11", 1), "dd/mm"),
        (lambda b: b + b"garbage,row\r\n", "fields where the header has"),
        (lambda b: b.replace(b",A,0,2,A,", b",Q,0,2,A,", 1), "FTR"),
        (lambda b: b.replace(b"20:00", b"8pm", 1), "kick-off time"),
    ],
    ids=["truncated", "empty", "header-only", "missing-column", "wrong-division", "bad-goals",
         "bad-date", "iso-date", "garbage-row", "bad-result", "bad-time"],
)
def test_malformed_files_fail_with_a_clear_message(shared_data, mutate, message):
    with pytest.raises(ParseError, match=message):
        parse_season_csv(mutate(_real(shared_data)), "E0", "2023-24")


def test_non_numeric_odds_name_the_line(shared_data):
    row = b"Man City,0,3,A,0,2,A,C Pawson,6,17,1,8,11,8,6,5,0,0,1,0,8,5.5"
    assert row in _real(shared_data)
    data = _real(shared_data).replace(row, row.replace(b",8,5.5", b",abc,5.5"), 1)
    with pytest.raises(ParseError, match=r"line 2: B365H"):
        parse_season_csv(data, "E0", "2023-24")


_FIRST = b"E0,11/08/2023,20:00,Burnley,Man City,0,3"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        # 0x81 is undefined in Windows-1252 and not valid UTF-8 on its own.
        (lambda b: b.replace(b"Burnley,Man City", b"Burnl\x81y,Man City", 1),
         r"line 2: byte b'\\x81' is neither UTF-8 nor Windows-1252"),
        (lambda b: b.replace(_FIRST, _FIRST.replace(b"11/08/2023", "١١/08/2023".encode()), 1),
         r"line 2: date .* is not dd/mm"),
        (lambda b: b.replace(_FIRST, _FIRST[:-3] + "٠,3".encode(), 1), r"line 2: FTHG .* goal count"),
        (lambda b: b.replace(_FIRST, _FIRST[:-3] + "²,3".encode(), 1), r"line 2: FTHG .* goal count"),
        (lambda b: b.replace(b"20:00", "٢٠:٠٠".encode(), 1), r"line 2: kick-off time"),
        (lambda b: b.replace(b",8,5.5", ",٨,5.5".encode(), 1), r"line 2: B365H .* not a number"),
        (lambda b: b.replace(b"C Pawson", b"C " + b"P" * 300, 1), r"line 2: a field of 302 characters"),
        (lambda b: b.replace(b"C Pawson", b"C " + b"P" * 200_000, 1), r"line 2: .*field"),
        (lambda b: b.replace(b"C Pawson", b'"C\r\nPawson', 1), r"line \d+: "),
        (lambda b: b.replace(b"HomeTeam", b"H" * 300, 1), r"line 1: a field of 300 characters"),
    ],
    ids=["undecodable-byte", "arabic-indic-date", "arabic-indic-goals", "superscript-goals",
         "arabic-indic-time", "arabic-indic-odds", "oversized-field", "field-over-csv-limit",
         "unterminated-quote", "oversized-header"],
)
def test_bytes_digits_and_fields_the_parser_refuses_name_their_line(shared_data, mutate, message):
    """Each of these used to be accepted (the digits) or to escape as a traceback that is not a
    ParseError (UnicodeDecodeError, csv.Error, ValueError from float('²'))."""
    data = mutate(_real(shared_data))
    assert data != _real(shared_data)
    with pytest.raises(ParseError, match=message):
        parse_season_csv(data, "E0", "2023-24")


def test_a_windows_1252_byte_still_decodes(shared_data):
    data = _real(shared_data).replace(b"C Pawson", b"C Pa\xe9son", 1)
    df = parse_season_csv(data, "E0", "2023-24").matches
    assert "C Paéson" in set(df["referee"])


def test_quality_rules_catch_bad_data(shared_data):
    df = parse_season_csv(_real(shared_data), "E0", "2023-24").matches
    bad = df.copy()
    bad.loc[0, "ftr"] = "H"  # 0-3 recorded as a home win
    assert not quality.result_consistent_with_goals(bad).passed
    dup = pd.concat([df, df.iloc[[5]]], ignore_index=True)
    assert quality.unique_match_key(dup).metadata["duplicates"] == 2
    late = df.copy()
    late.loc[3, "date"] = pd.Timestamp("2024-09-01")
    assert not quality.dates_inside_season(late, "2023-24").passed
    odds = df.copy()
    odds.loc[7, "odds_ps_open_d"] = 0.9
    assert not quality.odds_above_one(odds).passed
    assert quality.expected_row_count(df).passed
    assert not quality.expected_row_count(df.iloc[:-1]).passed
