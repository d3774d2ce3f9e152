"""The extra leagues' all-seasons files, ``new/<CODE>.csv``, split by season (pure).

The site publishes one file per extra league holding every season since 2012. The pipeline stores
and checks league × season partitions, so each season is cut out byte for byte: the header line
plus that season's lines, in file order, with their original line endings. Each slice is a valid
all-seasons file with one season, which :func:`soccer_assets.sources.parser.parse_season_csv`
reads like a season file. A row whose ``Season`` cell is not a season label is a ParseError
naming its line, so nothing is silently left out of every slice.
"""

from __future__ import annotations

from soccer_assets.core.seasons import season_key
from soccer_assets.sources.parser import LEAGUE_FILE_HEADER, ParseError, _decode, _records, row_season


def is_league_file(data: bytes) -> bool:
    """Whether ``data`` starts with the all-seasons header (``Country,League,Season,…``)."""
    head = data[:64].removeprefix(b"\xef\xbb\xbf").split(b",", 3)
    return tuple(h.strip().decode("ascii", "replace") for h in head[:3]) == LEAGUE_FILE_HEADER


def split_league_file(data: bytes) -> dict[str, bytes]:
    """Season key -> the header line and that season's lines, byte for byte; seasons in order.

    Rows of bare commas belong to no season and are dropped (the parser skips them anyway).
    """
    if not is_league_file(data):
        raise ParseError("not an all-seasons file: the header does not start with Country,League,Season")
    text = _decode(data)
    lines = data.splitlines(keepends=True)
    # The csv reader validates every record (quotes, field sizes) and gives each one's season; a
    # quoted newline would make records and physical lines disagree, which the check below refuses.
    records = list(_records(text))
    if len(records) != len(lines) or [n for n, _ in records] != list(range(1, len(lines) + 1)):
        raise ParseError("a record spans more than one line (quoted line break)")
    by_season: dict[str, list[bytes]] = {}
    for (lineno, cells), raw in zip(records[1:], lines[1:], strict=True):
        if any(cells):
            by_season.setdefault(row_season(cells, lineno), []).append(raw)
    if not by_season:
        raise ParseError("the file has a header but no matches")
    header = lines[0]
    if not header.endswith(b"\n"):
        header += b"\r\n"
    return {s: header + b"".join(by_season[s]) for s in sorted(by_season, key=season_key)}
