"""The canonical match table: one row per played match, wide odds columns.

Every layer (parser, warehouse, features, modelling, serving) speaks these column names.

Odds columns are ``odds_<book>_<phase>_<outcome>``: ``book`` is the football-data bookmaker code
lower-cased (``b365``, ``ps`` = Pinnacle, ``avg``, ``max``, ``bw``, ``iw``, ``wh``, ``vc`` …; Betbrain's
``BbAv``/``BbMx`` of seasons before 2019-20 are mapped onto ``avg``/``max``), ``phase`` is ``open``
(the pre-match price the site collects on Friday/Tuesday, available before kick-off) or ``close``
(closing price, for evaluation only: it is not known before kick-off), ``outcome`` is ``h``/``d``/``a``.
"""

from __future__ import annotations

import datetime as dt

OUTCOMES = ("H", "D", "A")

KEY_COLUMNS = ["match_id", "league", "season", "date", "kickoff", "home_team", "away_team"]
RESULT_COLUMNS = ["fthg", "ftag", "ftr", "hthg", "htag", "htr"]
# football-data statistic column -> canonical column (all nullable numbers)
STAT_COLUMNS: dict[str, str] = {
    "HS": "hs",
    "AS": "as",
    "HST": "hst",
    "AST": "ast",
    "HF": "hf",
    "AF": "af",
    "HC": "hc",
    "AC": "ac",
    "HY": "hy",
    "AY": "ay",
    "HR": "hr",
    "AR": "ar",
}
INFO_COLUMNS = ["referee", "kickoff_time_known"]
EXTRA_COLUMN = "extra"  # JSON object of every source column not mapped above: nothing is dropped

# Source bookmaker prefix -> canonical book. Order matters only for documentation.
ODDS_BOOKS: dict[str, str] = {
    "B365": "b365",
    "BW": "bw",
    "IW": "iw",
    "LB": "lb",
    "PS": "ps",
    "WH": "wh",
    "SJ": "sj",
    "VC": "vc",
    "GB": "gb",
    "BS": "bs",
    "SB": "sb",
    "SO": "so",
    "SY": "sy",
    "BF": "bf",
    "BFE": "bfe",
    "1XB": "1xb",
    "BMGM": "bmgm",
    "BV": "bv",
    "CL": "cl",
    "Max": "max",
    "Avg": "avg",
    "BbMx": "max",
    "BbAv": "avg",
}
# Books every canonical table carries (possibly all-null) so downstream code can rely on them.
CORE_ODDS_BOOKS = ("ps", "b365", "avg", "max")
PHASES = ("open", "close")


def odds_column(book: str, phase: str, outcome: str) -> str:
    return f"odds_{book}_{phase}_{outcome.lower()}"


def odds_triplet(book: str, phase: str) -> list[str]:
    return [odds_column(book, phase, o) for o in OUTCOMES]


CORE_ODDS_COLUMNS = [odds_column(b, p, o) for b in CORE_ODDS_BOOKS for p in PHASES for o in OUTCOMES]


def make_match_id(league: str, season: str, home_team: str, away_team: str, date: dt.date) -> str:
    """``league|season|home|away|YYYY-MM-DD``: the date makes it a key also where two teams meet
    at the same venue more than once a season (the Scottish and Belgian split rounds, Greek and
    Scottish play-offs); the pairing stays in front, so ids sort by league, season and pairing."""
    return f"{league}|{season}|{home_team}|{away_team}|{date:%Y-%m-%d}"
