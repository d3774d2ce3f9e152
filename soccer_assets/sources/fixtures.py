"""football-data.co.uk ``fixtures.csv`` -> canonical fixture rows (pure: bytes in, DataFrame out).

The file lists the next round of every covered league in the season-file layout with blank
results and the pre-match odds the site collected (1X2 of several books, the market's best and
average prices, over/under 2.5 and the Asian handicap line with its prices). A row becomes one
fixture in the canonical vocabulary of :mod:`soccer_assets.core.schema`: 1X2 odds in the
``odds_<book>_<phase>_<h|d|a>`` columns (as the season parser maps them), every other source column
verbatim in ``extra`` (so :func:`soccer_assets.features.market_prices.totals_prices` and
``asian_prices`` read the totals and handicap prices from it exactly as they do for matches).

Rows that already carry a result are not fixtures and are skipped (counted); rows of bare commas are
skipped (counted). Anything else malformed raises :class:`~soccer_assets.sources.parser.ParseError`
naming the line, so a file that does not decode never replaces the stored fixtures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, EXTRA_COLUMN, ODDS_BOOKS, make_match_id, odds_column
from soccer_assets.core.seasons import season_of_date
from soccer_assets.core.teams import canonical_team
from soccer_assets.sources.parser import (
    _HEADER_ALIASES,
    _ODDS_1X2,
    _TIME_RE,
    ParseError,
    _decode,
    _parse_date,
    _records,
    _to_floats,
)

__all__ = ["FIXTURE_KEY_COLUMNS", "ParsedFixtures", "parse_fixtures_csv"]

FIXTURE_KEY_COLUMNS = ["match_id", "league", "season", "date", "kickoff", "kickoff_time_known",
                       "home_team", "away_team"]
_REQUIRED = ["Div", "Date", "HomeTeam", "AwayTeam"]
_RESULT = ("FTHG", "FTAG", "FTR")
_CORE = {*_REQUIRED, "Time", *_RESULT, "HTHG", "HTAG", "HTR"}


@dataclass(frozen=True)
class ParsedFixtures:
    """The fixtures, with what was skipped and the columns the file had."""

    fixtures: pd.DataFrame
    source_columns: list[str]
    played_rows: int = 0
    blank_rows: int = 0


def parse_fixtures_csv(data: bytes) -> ParsedFixtures:
    """Every not-yet-played row of ``fixtures.csv`` (all leagues), sorted by kick-off and league.

    ``match_id`` is the season files' key (``league|season|home|away|date``), so a fixture and the
    match it becomes once played share it (unless the match is moved to another day). A header-only
    file gives an empty frame (the site between two seasons), not an error.
    """
    records = _records(_decode(data))
    first = next(records, None)
    if first is None:  # pragma: no cover - guarded by _decode
        raise ParseError("the file has no header")
    header = [_HEADER_ALIASES.get(h, h) for h in first[1]]
    while header and header[-1] == "":
        header.pop()
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ParseError(f"fixtures header lacks required columns {missing}; got {header[:12]}…")
    named = [h for h in header if h]
    dupes = sorted({h for h in named if named.count(h) > 1})
    if dupes:
        raise ParseError(f"header repeats columns {dupes}")
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = played = 0
    for lineno, cells in records:
        if not any(cells):
            blank += 1
            continue
        if len(cells) < width or (len(cells) > width and any(cells[width:])):
            raise ParseError(f"line {lineno}: {len(cells)} fields where the header has {width} "
                             "(truncated or malformed file)")
        cells = cells[:width]
        if any(cells[header.index(c)] for c in _RESULT if c in header):
            played += 1
            continue
        rows.append(cells)
        lines.append(lineno)
    raw = pd.DataFrame(rows, columns=header).loc[:, [h != "" for h in header]]
    return ParsedFixtures(_fixture_frame(raw, lines), named, played, blank)


def _fixture_frame(raw: pd.DataFrame, lines: list[int]) -> pd.DataFrame:
    n = len(raw)
    leagues = list(raw["Div"])
    for v, ln in zip(leagues, lines, strict=True):
        if not v:
            raise ParseError(f"line {ln}: Div is empty")
    dates = [_parse_date(v, ln) for v, ln in zip(raw["Date"], lines, strict=True)]
    offsets = [pd.Timedelta(0)] * n
    known = np.zeros(n, dtype=bool)
    for i, (v, ln) in enumerate(zip(raw["Time"] if "Time" in raw else [""] * n, lines, strict=True)):
        if not v:
            continue
        m = _TIME_RE.match(v)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ParseError(f"line {ln}: kick-off time {v!r} is not HH:MM")
        offsets[i] = pd.Timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
        known[i] = True
    home = [canonical_team(v) for v in raw["HomeTeam"]]
    away = [canonical_team(v) for v in raw["AwayTeam"]]
    for ln, h, a in zip(lines, home, away, strict=True):
        if not h or not a:
            raise ParseError(f"line {ln}: a team name is empty")
    date_index = pd.DatetimeIndex(dates) if n else pd.DatetimeIndex([])
    seasons = [season_of_date(d.date()) for d in date_index]
    out = pd.DataFrame({
        "match_id": [make_match_id(lg, s, h, a, d) for lg, s, h, a, d in zip(
            leagues, seasons, home, away, date_index, strict=True)],
        "league": leagues,
        "season": seasons,
        "date": date_index,
        "kickoff": date_index + pd.TimedeltaIndex(offsets) if n else date_index,
        "kickoff_time_known": known,
        "home_team": home,
        "away_team": away,
    })
    odds_sources = [c for c in raw.columns if _ODDS_1X2.match(c)]
    numbers = _to_floats(raw, odds_sources, lines)
    odds: dict[str, np.ndarray] = {}
    for col in odds_sources:
        m = _ODDS_1X2.match(col)
        assert m is not None
        name = odds_column(ODDS_BOOKS[m.group(1)], "close" if m.group(2) else "open", m.group(3))
        values = numbers[col].to_numpy()
        odds[name] = values if name not in odds else np.where(np.isnan(odds[name]), values, odds[name])
    for name in CORE_ODDS_COLUMNS:
        odds.setdefault(name, np.full(n, np.nan))
    for name in sorted(odds):
        out[name] = odds[name]
    extra_cols = [c for c in raw.columns if c not in _CORE and c not in odds_sources]
    out[EXTRA_COLUMN] = [
        json.dumps({k: v for k, v in zip(extra_cols, values, strict=True) if v != ""},
                   ensure_ascii=False, sort_keys=True)
        for values in raw[extra_cols].to_numpy().tolist()
    ]
    return out.sort_values(["kickoff", "league", "home_team"], kind="stable").reset_index(drop=True)
