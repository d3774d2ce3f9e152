"""``fixtures.csv`` -> canonical fixture rows: the shared snapshot and the malformed cases."""

from __future__ import annotations

import json
import math

import pytest

from soccer_assets.sources.fixtures import FIXTURE_KEY_COLUMNS, parse_fixtures_csv
from soccer_assets.sources.parser import ParseError

HEADER = b"Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,PSH,PSD,PSA,Max>2.5,AHh\r\n"


def test_the_shared_snapshot(shared_data):
    parsed = parse_fixtures_csv((shared_data / "fixtures.csv").read_bytes())
    df = parsed.fixtures
    assert len(df) == 176 and parsed.played_rows == 0
    assert list(df.columns[: len(FIXTURE_KEY_COLUMNS)]) == FIXTURE_KEY_COLUMNS
    assert set(df["season"]) == {"2021-22"} and not df["match_id"].duplicated().any()
    first = df[(df["league"] == "D1")].iloc[0]
    assert first["match_id"] == "D1|2021-22|Wolfsburg|Mainz|2022-04-22"
    assert str(first["kickoff"]) == "2022-04-22 19:30:00" and first["kickoff_time_known"]
    assert (first["odds_ps_open_h"], first["odds_max_open_d"], first["odds_avg_open_a"]) == (2.37, 3.47, 3.14)
    assert math.isnan(first["odds_ps_close_h"])  # the closing columns are blank before kick-off
    extra = json.loads(first["extra"])
    assert extra["AHh"] == "-0.25" and extra["Max>2.5"] == "1.95"


def test_played_and_blank_rows_are_skipped_and_bad_rows_refused():
    data = HEADER + b"E0,23/04/2022,12:30,Arsenal,Man United,3,1,H,1.8,3.9,4.5,1.7,-0.5\r\n" \
        b"E0,23/04/2022,15:00,Chelsea,West Ham,,,,1.5,4.2,6.5,1.8,-1\r\n,,,,,,,,,,,,\r\n"
    parsed = parse_fixtures_csv(data)
    assert parsed.played_rows == 1 and parsed.blank_rows == 1
    assert parsed.fixtures["home_team"].tolist() == ["Chelsea"]
    assert parse_fixtures_csv(HEADER).fixtures.empty  # between two seasons
    with pytest.raises(ParseError, match="line 2"):
        parse_fixtures_csv(HEADER + b"E0,31/02/2022,,A,B,,,,1.5,4,6,1.8,-1\r\n")
    with pytest.raises(ParseError, match="not a number"):
        parse_fixtures_csv(HEADER + b"E0,23/04/2022,,A,B,,,,1.5x,4,6,1.8,-1\r\n")
    with pytest.raises(ParseError, match="fields"):
        parse_fixtures_csv(HEADER + b"E0,23/04/2022,,A,B\r\n")
    with pytest.raises(ParseError, match="required"):
        parse_fixtures_csv(b"Div,Date,HomeTeam\r\nE0,23/04/2022,A\r\n")
    with pytest.raises(ParseError, match="empty"):
        parse_fixtures_csv(b"")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b"E0,23/04/2022,,A\x81,B,,,,1.5,4,6,1.8,-1", r"line 2: byte b'\\x81' is neither UTF-8"),
        ("E0,٢٣/04/2022,,A,B,,,,1.5,4,6,1.8,-1".encode(), r"line 2: date .* is not dd/mm"),
        ("E0,23/04/2022,١٢:30,A,B,,,,1.5,4,6,1.8,-1".encode(), r"line 2: kick-off time"),
        (b"E0,23/04/2022,,A" + b"x" * 300 + b",B,,,,1.5,4,6,1.8,-1", r"line 2: a field of 301"),
        (b'E0,23/04/2022,,"A,B,,,,1.5,4,6,1.8,-1', r"line 2: "),
    ],
    ids=["undecodable-byte", "arabic-indic-date", "arabic-indic-time", "oversized-field",
         "unterminated-quote"],
)
def test_the_fixtures_parser_refuses_what_the_season_parser_refuses(row, message):
    with pytest.raises(ParseError, match=message):
        parse_fixtures_csv(HEADER + row + b"\r\n")
