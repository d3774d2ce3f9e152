"""Leagues, seasons and league × season keys (pure).

Two kinds of season key (ADR 0015): a split season ``2023-24`` (July to the next summer; the site
names it ``2324``) and a calendar-year season ``2025`` (the extra leagues that play spring to
autumn; their single files ``new/<CODE>.csv`` label it ``2025`` and a split season ``2024/2025``).
Keys of both kinds order chronologically as plain strings (``2013-14`` < ``2014`` < ``2014-15``),
and :func:`season_key` ranks them explicitly. The Dagster partitions built from them are in
``soccer_assets/defs/partitions.py``.
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
# The site's "extra" leagues: one all-seasons file each, ``new/<CODE>.csv``.
EXTRA_LEAGUES: dict[str, str] = {
    "ARG": "Argentina Liga Profesional",
    "AUT": "Austrian Bundesliga",
    "BRA": "Brazil Serie A",
    "CHN": "Chinese Super League",
    "DNK": "Danish Superliga",
    "FIN": "Finnish Veikkausliiga",
    "IRL": "League of Ireland Premier Division",
    "JPN": "Japanese J1 League",
    "MEX": "Liga MX",
    "NOR": "Norwegian Eliteserien",
    "POL": "Polish Ekstraklasa",
    "ROU": "Romanian Liga I",
    "RUS": "Russian Premier League",
    "SWE": "Swedish Allsvenskan",
    "SWZ": "Swiss Super League",
    "USA": "Major League Soccer",
}
LEAGUE_NAMES.update(EXTRA_LEAGUES)
# The divisions of one country, top first: their ratings can share one scale (a team moving
# between two of them keeps its rating, shifted; ``features.rollover``).
DIVISION_LADDERS: dict[str, tuple[str, ...]] = {
    "England": ("E0", "E1", "E2", "E3", "EC"),
    "Scotland": ("SC0", "SC1", "SC2", "SC3"),
    "Germany": ("D1", "D2"),
    "Italy": ("I1", "I2"),
    "Spain": ("SP1", "SP2"),
    "France": ("F1", "F2"),
}


def division_ladder(league: str) -> tuple[str, ...]:
    """The divisions of ``league``'s country, top first (just ``(league,)`` for a league alone)."""
    for ladder in DIVISION_LADDERS.values():
        if league in ladder:
            return ladder
    return (league,)


# Extra leagues whose current seasons are calendar years (ARG since 2020; it played split seasons
# and two short calendar ones before). The others play split seasons like the main divisions.
CALENDAR_LEAGUES = frozenset({"ARG", "BRA", "CHN", "FIN", "IRL", "JPN", "NOR", "SWE", "USA"})
FIRST_SEASON = "2012-13"
LEAGUE_DIM = "league"
SEASON_DIM = "season"

_SEASON_RE = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_RE = re.compile(r"^(\d{4})$")
_LABEL_RE = re.compile(r"^(\d{4})/(\d{4})$")
_CODE_RE = re.compile(r"^(\d{2})(\d{2})$")
# A division code (E0, SP1, SC0: letters then the level) or a code without a level: EC (the
# English National League) and the extra leagues' country codes (ARG, USA ...).
_LEAGUE_RE = re.compile(r"^(?:[A-Z]{1,3}[0-9]|[A-Z]{2,3})$")


class SeasonError(ValueError):
    """A season or league string that is not in the expected form."""


def is_calendar_season(season: str) -> bool:
    """``2025`` (a calendar-year season) rather than ``2024-25``."""
    return bool(_YEAR_RE.match(season))


def season_start_year(season: str) -> int:
    """``2023-24`` -> 2023, ``2025`` -> 2025. Rejects ``2023-25`` and other non-consecutive pairs."""
    if _YEAR_RE.match(season):
        return int(season)
    m = _SEASON_RE.match(season)
    if not m:
        raise SeasonError(f"season must look like '2023-24' or '2025', got {season!r}")
    start = int(m.group(1))
    if (start + 1) % 100 != int(m.group(2)):
        raise SeasonError(f"season {season!r} does not span two consecutive years")
    return start


def season_key(season: str) -> int:
    """Chronological rank (validates the season): a calendar season ``Y`` comes after the split
    season ``(Y-1)-Y`` and before ``Y-(Y+1)``; one year is two ranks."""
    return 2 * season_start_year(season) + (0 if is_calendar_season(season) else 1)


def season_from_start_year(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def season_from_label(label: str) -> str:
    """A ``new/<CODE>.csv`` ``Season`` cell -> a season key: ``2024/2025`` -> ``2024-25``,
    ``2025`` -> ``2025``."""
    label = label.strip()
    if _YEAR_RE.match(label):
        return label
    m = _LABEL_RE.match(label)
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise SeasonError(f"season label must look like '2024/2025' or '2025', got {label!r}")
    return season_from_start_year(int(m.group(1)))


def season_to_code(season: str) -> str:
    """``2023-24`` -> ``2324`` (the site's folder name); calendar seasons have no folder."""
    if is_calendar_season(season):
        raise SeasonError(f"a calendar-year season ({season}) has no mmz4281/ folder code")
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


def season_of_date(day: dt.date, league: str | None = None) -> str:
    """The season a date belongs to: the calendar year in a calendar-year league, else the split
    season (they turn over on 1 July)."""
    if league in CALENDAR_LEAGUES:
        return str(day.year)
    return season_from_start_year(day.year if day.month >= 7 else day.year - 1)


def season_bounds(season: str) -> tuple[dt.date, dt.date]:
    """Inclusive date window a season's matches may fall in.

    A split season runs to mid-August of its second year because 2019-20 finished in August 2020
    (COVID); a calendar season to mid-March of the next year (Brazil's 2020 ended in February 2021).
    """
    start = season_start_year(season)
    if is_calendar_season(season):
        return dt.date(start, 1, 1), dt.date(start + 1, 3, 15)
    return dt.date(start, 7, 1), dt.date(start + 1, 8, 15)


def seasons_between(first: str, last: str) -> list[str]:
    """The split seasons from ``first`` to ``last`` (the main divisions' seasons); a calendar end
    stands for the split season it starts in."""
    a, b = season_start_year(first), season_start_year(last)
    if is_calendar_season(last):
        b -= 1
    if b < a:
        raise SeasonError(f"last season {last} is before first season {first}")
    return [season_from_start_year(y) for y in range(a, b + 1)]


def seasons_with_years_between(first: str, last: str) -> list[str]:
    """The split seasons from ``first`` to ``last`` and, interleaved by rank, the calendar years
    between them (``2019-20, 2020, 2020-21 …``): the season keys of a code location that holds
    calendar-year leagues."""
    lo, hi = season_key(first), season_key(last)
    years = [str(y) for y in range(season_start_year(first), season_start_year(last) + 2)]
    return sorted([*seasons_between(first, last), *(y for y in years if lo <= season_key(y) <= hi)],
                  key=season_key)


def current_season(today: dt.date | None = None, league: str | None = None) -> str:
    return season_of_date(today or dt.date.today(), league)


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
