"""football-data.co.uk season CSV -> canonical match table (pure: bytes in, DataFrame out).

Handles the quirks of the real files: CRLF endings, a UTF-8 BOM (2024-25 on), dd/mm/yy and
dd/mm/yyyy dates (sometimes both in one file), rows of bare commas at the end, columns that come
and go between seasons (Betbrain ``BbAvH`` before 2019-20, ``AvgH``/``AvgCH`` after) and blank odds.
Anything that is not a well-formed file (truncated body, a row with the wrong number of fields, a
non-numeric score, bytes that are neither UTF-8 nor Windows-1252, a digit outside ASCII, a field
longer than :data:`MAX_FIELD_CHARS`) raises :class:`ParseError` naming the line, so nothing
half-parsed is stored.

The extra leagues' all-seasons files (``new/<CODE>.csv``: ``Country,League,Season,Date,Time,Home,
Away,HG,AG,Res`` then closing odds) go through the same function: the rows of the requested season
are parsed as if they were a season file of that league (:mod:`soccer_assets.sources.league_file`
splits such a file by season).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from soccer_assets.core.schema import (
    CORE_ODDS_COLUMNS,
    EXTRA_COLUMN,
    KEY_COLUMNS,
    ODDS_BOOKS,
    RESULT_COLUMNS,
    STAT_COLUMNS,
    make_match_id,
    odds_column,
)
from soccer_assets.core.seasons import SeasonError, season_bounds, season_from_label
from soccer_assets.core.teams import canonical_team


class ParseError(ValueError):
    """The bytes are not a valid football-data.co.uk season file."""


# Older files and some leagues use the short names for the core columns.
_HEADER_ALIASES = {"HT": "HomeTeam", "AT": "AwayTeam", "HG": "FTHG", "AG": "FTAG", "Res": "FTR"}
# The all-seasons layout names the teams Home/Away; JPN's file spells B365CA as "B36CA".
_LEAGUE_FILE_ALIASES = {"Home": "HomeTeam", "Away": "AwayTeam", "B36CA": "B365CA"}
LEAGUE_FILE_HEADER = ("Country", "League", "Season")
_REQUIRED = ["Div", "Date", "HomeTeam", "AwayTeam", "FTHG", "FTAG", "FTR"]
_CORE_SOURCE = {*_REQUIRED, "Time", "HTHG", "HTAG", "HTR", "Referee", *STAT_COLUMNS}

_BOOK_ALT = "|".join(sorted(map(re.escape, ODDS_BOOKS), key=len, reverse=True))
_ODDS_1X2 = re.compile(rf"^({_BOOK_ALT})(C?)([HDA])$")
# Columns the site documents that we keep verbatim in ``extra`` (totals, Asian handicap, extras).
_KNOWN_OTHER = re.compile(
    rf"^(?:(?:{_BOOK_ALT}|P|Bb)C?(?:>2\.5|<2\.5|AHH|AHA|AH|AHh|OU|1X2)"
    r"|AHC?h|Attendance|HHW|AHW|HFKC|AFKC|HO|AO|HBP|ABP|LBAHH|LBAHA|LBAH|Country|League|Season)$"
)
# [0-9], not \d: \d also matches Arabic-Indic and other digits that int() would accept.
_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
# The longest cell of the real files (both shared folders) has 29 characters; one this long is a
# corrupt or hostile file, refused before it reaches pandas, the warehouse or a log line.
MAX_FIELD_CHARS = 256
# How the site marks a value it lost: "#" (a price in N1 2022-23, line 133) and "x" (AvgCH of
# USA 2025, Atlanta Utd v New England, 12/04/2025): missing, not a number.
MISSING_MARKS = frozenset({"#", "x"})


def _is_ascii_number(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


@dataclass(frozen=True)
class ParsedFile:
    matches: pd.DataFrame
    source_columns: list[str]
    unknown_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0
    # Lines of an all-seasons file's rows with no score and no result: matches that were never
    # played (BRA 2016, Chapecoense v Atletico-MG, cancelled after the team's air crash). Kept out
    # of the table, which holds results, and reported.
    unplayed_lines: tuple[int, ...] = ()
    # Lines of an all-seasons file's rows dated outside their labelled season's window (ARG
    # "2013/2014", Boca Juniors v Velez Sarsfield on 29/01/2015): the label and the date disagree,
    # so the row belongs to no season table; reported, and kept in the raw file.
    misdated_lines: tuple[int, ...] = ()
    # Source columns that land in canonical columns (the rest are kept verbatim in ``extra``).
    mapped_columns: frozenset[str] = frozenset()
    # Non-empty source cells of the unmapped columns of every match row, plus ``__match_id__``:
    # lets a check verify independently that nothing was dropped.
    raw_records: list[dict[str, str]] = field(default_factory=list, repr=False)


def _decode(data: bytes) -> str:
    if not data or not data.strip():
        raise ParseError("the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Files before the site switched to UTF-8 carry the odd Windows-1252 character.
        return data.decode("cp1252", errors="strict")
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1]
        raise ParseError(
            f"line {_line_of(data, exc.start)}: byte {byte!r} is neither UTF-8 nor Windows-1252"
        ) from None


def _parse_date(value: str, line: int) -> pd.Timestamp:
    parts = value.split("/")
    if len(parts) != 3 or not all(_is_ascii_number(p) for p in parts):
        raise ParseError(f"line {line}: date {value!r} is not dd/mm/yy or dd/mm/yyyy")
    d, m, y = (int(p) for p in parts)
    if len(parts[2]) == 2:
        y += 2000
    elif len(parts[2]) != 4:
        raise ParseError(f"line {line}: date {value!r} has a {len(parts[2])}-digit year")
    try:
        return pd.Timestamp(year=y, month=m, day=d)
    except ValueError as exc:
        raise ParseError(f"line {line}: date {value!r} is not a calendar date") from exc


def _parse_goals(value: str, column: str, line: int, required: bool) -> float:
    if value == "":
        if required:
            raise ParseError(f"line {line}: {column} is empty")
        return np.nan
    if not _is_ascii_number(value):
        raise ParseError(f"line {line}: {column} = {value!r} is not a goal count")
    return float(value)


def _to_floats(raw: pd.DataFrame, columns: list[str], lines: list[int]) -> pd.DataFrame:
    """Numeric columns in one vectorised pass; a non-numeric cell is an error naming its line."""
    if not columns:
        return pd.DataFrame(index=raw.index)
    text = raw[columns].to_numpy()
    flat = pd.Series(text.ravel())
    blank = ((flat == "") | flat.isin(MISSING_MARKS)).to_numpy()
    values = pd.to_numeric(flat.mask(blank), errors="coerce").to_numpy(dtype="float64")
    # float() (and so to_numeric) reads "١.٥" as 1.5: only ASCII numbers are numbers here.
    non_ascii = np.fromiter((not v.isascii() for v in flat), dtype=bool, count=len(flat))
    bad = (np.isnan(values) | non_ascii) & ~blank
    if bad.any():
        i, j = divmod(int(np.flatnonzero(bad)[0]), len(columns))
        raise ParseError(f"line {lines[i]}: {columns[j]} = {text[i, j]!r} is not a number")
    return pd.DataFrame(values.reshape(text.shape), columns=columns, index=raw.index)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, stripped cells) of every CSV record, the header first.

    A record the csv module refuses (an unterminated quote, a field over its limit) or a cell over
    :data:`MAX_FIELD_CHARS` is a ParseError naming the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(f"line {reader.line_num}: {exc}") from None
        cells = [c.strip() for c in row]
        longest = max(map(len, cells), default=0)
        if longest > MAX_FIELD_CHARS:
            raise ParseError(
                f"line {reader.line_num}: a field of {longest} characters (at most {MAX_FIELD_CHARS})"
            )
        yield reader.line_num, cells


def row_season(cells: list[str], line: int) -> str:
    """The season key of an all-seasons file's row (its third cell)."""
    try:
        return season_from_label(cells[2])
    except (SeasonError, IndexError) as exc:
        raise ParseError(f"line {line}: {exc}") from None


def _season_rows(
    records: Iterator[tuple[int, list[str]]], league: str, season: str
) -> Iterator[tuple[int, list[str]]]:
    """The rows of ``season`` of an all-seasons file, with the league as a leading ``Div`` cell."""
    for lineno, cells in records:
        if any(cells) and row_season(cells, lineno) == season:
            yield lineno, [league, *cells]


def parse_season_csv(data: bytes, league: str, season: str) -> ParsedFile:
    """Parse one season file of one league into the canonical match table (or the ``season`` rows
    of an all-seasons ``new/<CODE>.csv`` file)."""
    text = _decode(data)
    records = _records(text)
    first = next(records, None)
    if first is None:  # pragma: no cover - guarded by _decode
        raise ParseError("the file has no header")
    header = first[1]
    all_seasons = tuple(header[:3]) == LEAGUE_FILE_HEADER
    if all_seasons:
        header = ["Div", *(_LEAGUE_FILE_ALIASES.get(h, h) for h in header)]
        records = _season_rows(records, league, season)
    header = [_HEADER_ALIASES.get(h, h) for h in header]
    # A header padded with empty names (seen in some files) is not a column.
    while header and header[-1] == "":
        header.pop()
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ParseError(f"header lacks required columns {missing}; got {header[:12]}…")
    named = [h for h in header if h]
    dupes = sorted({h for h in named if named.count(h) > 1})
    if dupes:
        raise ParseError(f"header repeats columns {dupes}")

    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = 0
    unplayed: list[int] = []
    misdated: list[int] = []
    result_cells = [header.index(c) for c in ("FTHG", "FTAG", "FTR")] if all_seasons else []
    date_cell = header.index("Date")
    lo, hi = season_bounds(season) if all_seasons else (None, None)
    for lineno, cells in records:
        if not any(cells):
            blank += 1
            continue
        if result_cells and len(cells) >= width:
            if not any(cells[i] for i in result_cells):
                unplayed.append(lineno)
                continue
            if not lo <= _parse_date(cells[date_cell], lineno).date() <= hi:
                misdated.append(lineno)
                continue
        # Counted as in the file: an all-seasons row has no Div cell of its own.
        n, of = len(cells) - all_seasons, width - all_seasons
        if len(cells) < width:
            raise ParseError(
                f"line {lineno}: {n} fields where the header has {of} (truncated or malformed file)"
            )
        if len(cells) > width and any(cells[width:]):
            raise ParseError(f"line {lineno}: {n} fields where the header has {of}")
        rows.append(cells[:width])
        lines.append(lineno)
    if not rows:
        if all_seasons:
            raise ParseError(f"the file has no matches of season {season}")
        raise ParseError("the file has a header but no matches")

    raw = pd.DataFrame(rows, columns=header)
    raw = raw.loc[:, [h != "" for h in header]]

    divs = set(raw["Div"])
    if divs != {league}:
        raise ParseError(f"file is for division(s) {sorted(divs)}, expected {league}")

    n = len(raw)
    out: dict[str, object] = {}
    dates = [_parse_date(v, ln) for v, ln in zip(raw["Date"], lines, strict=True)]
    out["date"] = pd.DatetimeIndex(dates)
    kickoff = out["date"].copy()
    time_known = np.zeros(n, dtype=bool)
    if "Time" in raw:
        offsets = []
        for i, (v, ln) in enumerate(zip(raw["Time"], lines, strict=True)):
            if v == "":
                offsets.append(pd.Timedelta(0))
                continue
            m = _TIME_RE.match(v)
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                raise ParseError(f"line {ln}: kick-off time {v!r} is not HH:MM")
            offsets.append(pd.Timedelta(hours=int(m.group(1)), minutes=int(m.group(2))))
            time_known[i] = True
        kickoff = kickoff + pd.TimedeltaIndex(offsets)
    out["kickoff"] = kickoff
    out["kickoff_time_known"] = time_known

    home = [canonical_team(v) for v in raw["HomeTeam"]]
    away = [canonical_team(v) for v in raw["AwayTeam"]]
    for ln, h, a in zip(lines, home, away, strict=True):
        if not h or not a:
            raise ParseError(f"line {ln}: a team name is empty")
    out["home_team"] = home
    out["away_team"] = away

    for src, dst, required in [
        ("FTHG", "fthg", True),
        ("FTAG", "ftag", True),
        ("HTHG", "hthg", False),
        ("HTAG", "htag", False),
    ]:
        if src in raw:
            vals = [_parse_goals(v, src, ln, required) for v, ln in zip(raw[src], lines, strict=True)]
            out[dst] = pd.array(vals, dtype="Float64").astype("Int64")
        else:
            out[dst] = pd.array([pd.NA] * n, dtype="Int64")
    for src, dst, required in [("FTR", "ftr", True), ("HTR", "htr", False)]:
        col = raw[src] if src in raw else pd.Series([""] * n)
        for v, ln in zip(col, lines, strict=True):
            if v not in ("H", "D", "A") and (required or v != ""):
                raise ParseError(f"line {ln}: {src} = {v!r} is not H, D or A")
        out[dst] = pd.Series(col.to_numpy(), dtype="string").replace("", pd.NA).to_numpy()

    out["referee"] = (
        raw["Referee"].replace("", None).to_numpy() if "Referee" in raw else np.full(n, None)
    )
    odds_sources = [c for c in raw.columns if _ODDS_1X2.match(c)]
    stat_sources = [c for c in STAT_COLUMNS if c in raw]
    numbers = _to_floats(raw, stat_sources + odds_sources, lines)
    for src, dst in STAT_COLUMNS.items():
        out[dst] = numbers[src].to_numpy() if src in raw else np.full(n, np.nan)

    mapped = set(_CORE_SOURCE)
    odds: dict[str, pd.Series] = {}
    for col in odds_sources:
        m = _ODDS_1X2.match(col)
        assert m is not None
        book = ODDS_BOOKS[m.group(1)]
        phase = "close" if m.group(2) else "open"
        name = odds_column(book, phase, m.group(3))
        values = numbers[col]
        # Betbrain (BbAv) and the later Avg columns never share a file; if they ever do, the
        # first non-null value wins rather than one silently replacing the other.
        odds[name] = values if name not in odds else odds[name].fillna(values)
        mapped.add(col)
    for name in CORE_ODDS_COLUMNS:
        odds.setdefault(name, pd.Series(np.full(n, np.nan)))
    for name in sorted(odds):
        out[name] = odds[name].to_numpy()

    extra_cols = [c for c in raw.columns if c not in mapped]
    unknown = [c for c in extra_cols if not _KNOWN_OTHER.match(c)]
    raw_records = [
        {k: v for k, v in zip(extra_cols, values, strict=True) if v != ""}
        for values in raw[extra_cols].to_numpy().tolist()
    ]
    out[EXTRA_COLUMN] = [json.dumps(rec, ensure_ascii=False, sort_keys=True) for rec in raw_records]
    # Own copies for the check, so it verifies the JSON rather than the dicts it was made from.
    raw_records = [dict(rec) for rec in raw_records]

    df = pd.DataFrame(out)
    df.insert(0, "league", league)
    df.insert(1, "season", season)
    match_ids = [make_match_id(league, season, h, a, d)
                 for h, a, d in zip(home, away, out["date"], strict=True)]
    df.insert(0, "match_id", match_ids)
    for rec, match_id in zip(raw_records, match_ids, strict=True):
        rec["__match_id__"] = match_id
    ordered = KEY_COLUMNS + RESULT_COLUMNS + ["referee", "kickoff_time_known"]
    ordered += list(STAT_COLUMNS.values())
    ordered += sorted(c for c in df.columns if c.startswith("odds_"))
    ordered += [EXTRA_COLUMN]
    df = df[ordered].sort_values(["kickoff", "home_team"], kind="stable").reset_index(drop=True)
    return ParsedFile(
        matches=df,
        source_columns=[c for c in header if c],
        unknown_columns=unknown,
        blank_rows=blank,
        unplayed_lines=tuple(unplayed),
        misdated_lines=tuple(misdated),
        mapped_columns=frozenset(mapped),
        raw_records=raw_records,
    )
