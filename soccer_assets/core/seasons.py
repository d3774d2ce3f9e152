"""Leagues, seasons and league × season keys (pure).

Season keys are human readable (``2023-24``); football-data.co.uk names the same season ``2324``.
The Dagster partitions built from them are in ``soccer_assets/defs/partitions.py``.
"""

from __future__ import annotations

import datetime as dt
import re

DEFAULT_LEAGUES: tuple[str, ...] = ("E0", "E1", "SP1", "D1", "I1", "F1")
LEAGUE_NAMES: dict[str, str] = {
    "E0": "English Premier League",
    "E1": "English Championship",
    "E2": "English League One",
    "E3": "English League Two",
    "EC": "English National League",
    "SC0": "Scottish Premiership",
    "SC1": "Scottish Championship",
    "SP1": "La Liga",
    "SP2": "La Liga 2",
    "D1": "Bundesliga",
    "D2": "2. Bundesliga",
    "I1": "Serie A",
    "I2": "Serie B",
    "F1": "Ligue 1",
    "F2": "Ligue 2",
    "N1": "Eredivisie",
    "B1": "Belgian Pro League",
    "P1": "Primeira Liga",
    "T1": "Süper Lig",
    "G1": "Super League Greece",
}
FIRST_SEASON = "2012-13"
LEAGUE_DIM = "league"
SEASON_DIM = "season"

_SEASON_RE = re.compile(r"^(\d{4})-(\d{2})$")
_CODE_RE = re.compile(r"^(\d{2})(\d{2})$")
# A division code (E0, SP1, SC0: letters then the level) or a code without a level: EC (the
# English National League) and the extra leagues' country codes (ARG, USA ...).
_LEAGUE_RE = re.compile(r"^(?:[A-Z]{1,3}[0-9]|[A-Z]{2,3})$")


class SeasonError(ValueError):
    """A season or league string that is not in the expected form."""


def season_start_year(season: str) -> int:
    """``2023-24`` -> 2023. Rejects ``2023-25`` and other non-consecutive pairs."""
    m = _SEASON_RE.match(season)
    if not m:
        raise SeasonError(f"season must look like '2023-24', got {season!r}")
    start = int(m.group(1))
    if (start + 1) % 100 != int(m.group(2)):
        raise SeasonError(f"season {season!r} does not span two consecutive years")
    return start


def season_from_start_year(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def season_to_code(season: str) -> str:
    """``2023-24`` -> ``2324`` (the site's folder name)."""
    start = season_start_year(season)
    return f"{start % 100:02d}{(start + 1) % 100:02d}"


def code_to_season(code: str) -> str:
    """``2324`` -> ``2023-24``. Two-digit years are read as 19xx from 93 on (the site starts in 1993)."""
    m = _CODE_RE.match(code)
    if not m:
        raise SeasonError(f"season code must look like '2324', got {code!r}")
    a, b = int(m.group(1)), int(m.group(2))
    if (a + 1) % 100 != b:
        raise SeasonError(f"season code {code!r} does not span two consecutive years")
    century = 1900 if a >= 93 else 2000
    return season_from_start_year(century + a)


def as_date(value: object) -> dt.date:
    """A date from what a warehouse returns for a date column (date, datetime, or ISO text on SQLite)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def season_of_date(day: dt.date) -> str:
    """The season a date belongs to; seasons turn over on 1 July."""
    return season_from_start_year(day.year if day.month >= 7 else day.year - 1)


def season_bounds(season: str) -> tuple[dt.date, dt.date]:
    """Inclusive date window a season's matches may fall in.

    Runs to mid-August of the second year because 2019-20 finished in August 2020 (COVID).
    """
    start = season_start_year(season)
    return dt.date(start, 7, 1), dt.date(start + 1, 8, 15)


def seasons_between(first: str, last: str) -> list[str]:
    a, b = season_start_year(first), season_start_year(last)
    if b < a:
        raise SeasonError(f"last season {last} is before first season {first}")
    return [season_from_start_year(y) for y in range(a, b + 1)]


def current_season(today: dt.date | None = None) -> str:
    return season_of_date(today or dt.date.today())


def validate_league(code: str) -> str:
    if not _LEAGUE_RE.match(code):
        raise SeasonError(f"league code must look like 'E0', 'SP1', 'EC' or 'ARG', got {code!r}")
    return code


def partition_key(league: str, season: str) -> str:
    """Multi-partition key string; Dagster orders the dimensions by name (league, season)."""
    return f"{league}|{season}"


def split_partition_key(key: str) -> tuple[str, str]:
    league, _, season = key.partition("|")
    season_start_year(season)
    return validate_league(league), season
