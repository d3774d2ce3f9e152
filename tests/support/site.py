"""The site as it stood on a given day: season files cut to the matches played before it.

The shared ``fixtures.csv`` is the site's snapshot of about 22 April 2022; to use it as a user would
have that day, the season files must hold only the matches dated before its first fixture (and
nothing later). :func:`site_as_of` writes such a copy of the site's layout, byte for byte what the
real files hold on those rows (header, quoting, line endings).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Sequence
from pathlib import Path


def _date(value: str) -> dt.date:
    d, m, y = (int(p) for p in value.split("/"))
    return dt.date(y + 2000 if y < 100 else y, m, d)


def decode(data: bytes) -> str:
    """The site's text: UTF-8 (with or without a BOM), older files Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def first_fixture_date(fixtures_csv: bytes) -> dt.date:
    rows = csv.DictReader(io.StringIO(decode(fixtures_csv)))
    return min(_date(r["Date"]) for r in rows if r.get("Date"))


def cut_season_file(data: bytes, before: dt.date) -> bytes:
    """The file's header and its rows dated strictly before ``before`` (other rows dropped)."""
    lines = data.splitlines(keepends=True)
    header = next(csv.reader([decode(lines[0])]))
    col = header.index("Date")
    kept = [lines[0]]
    for line in lines[1:]:
        cells = next(csv.reader([decode(line)]), [])
        if len(cells) > col and cells[col] and _date(cells[col]) < before:
            kept.append(line)
    return b"".join(kept)


def site_as_of(shared: Path, out: Path, files: Sequence[tuple[str, str]], fixtures: str = "fixtures.csv"
               ) -> dt.date:
    """Write ``out`` in the site's layout: ``fixtures.csv`` and each ``(season code, league)`` file
    (``("2122", "E0")``) cut to the matches before the first fixture; returns that date."""
    data = (shared / fixtures).read_bytes()
    day = first_fixture_date(data)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fixtures.csv").write_bytes(data)
    for code, league in files:
        target = out / "mmz4281" / code / f"{league}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(cut_season_file((shared / "mmz4281" / code / f"{league}.csv").read_bytes(), day))
    return day


def full_season_files(shared: Path, out: Path, files: Sequence[tuple[str, str]]) -> None:
    """Replace the cut files by the full ones (the site later on: the fixtures have results)."""
    for code, league in files:
        shutil.copyfile(shared / "mmz4281" / code / f"{league}.csv", out / "mmz4281" / code / f"{league}.csv")
