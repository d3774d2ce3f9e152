"""Synthetic football-data.co.uk mirror: the real league files copied under new league codes.

``k``× the data = the 6 real leagues plus ``k - 1`` copies of each, written in the site's layout
(``mmz4281/<season code>/<DIV>.csv``) so the pipeline reads them exactly like the real files: same
columns, same odds, same row counts. Each copy gets its own league code (``X`` + copy letter + index
of the source league, e.g. ``XA0``, which fits ``^[A-Z]{1,3}\\d$``) in ``Div`` and its own team names
(``"<team> <code>"``) so the leagues stay distinct in ratings, team state and the warehouse.

Run: ``uv run python bench/synthetic.py OUT --scale 5`` (prints the league codes and match count).
"""

from __future__ import annotations

import argparse
import csv
import io
import string
from pathlib import Path

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "football-data"
REAL_LEAGUES = ("E0", "E1", "SP1", "D1", "I1", "F1")


def synthetic_code(copy: int, source_index: int) -> str:
    """League code of the ``copy``-th copy (1-based) of the ``source_index``-th real league."""
    if not 1 <= copy <= 26 or not 0 <= source_index <= 9:
        raise ValueError(f"copy {copy} / source league {source_index} out of range (1..26, 0..9)")
    return f"X{string.ascii_uppercase[copy - 1]}{source_index}"


def _decode(data: bytes) -> str:
    # The site serves UTF-8 (with BOM) nowadays and cp1252 in older files; the parser accepts both.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def relabel(data: bytes, code: str) -> bytes:
    """A season file with ``Div`` set to ``code`` and every team name suffixed with ``code``."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    header = rows[0]
    div, home, away = header.index("Div"), header.index("HomeTeam"), header.index("AwayTeam")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows[1:]:
        if len(row) > max(div, home, away) and row[div].strip():
            row[div] = code
            row[home] = f"{row[home]} {code}"
            row[away] = f"{row[away]} {code}"
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def build_mirror(out: Path, scale: int, source: Path = DEFAULT_SOURCE) -> tuple[list[str], int]:
    """Write a ``scale``× mirror under ``out``; return its league codes and its number of matches."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    leagues = list(REAL_LEAGUES)
    n_matches = 0
    season_dirs = sorted(p for p in (source / "mmz4281").iterdir() if p.is_dir())
    for copy in range(scale):
        for index, league in enumerate(REAL_LEAGUES):
            code = league if copy == 0 else synthetic_code(copy, index)
            if copy:
                leagues.append(code)
            for season_dir in season_dirs:
                src = season_dir / f"{league}.csv"
                if not src.exists():
                    continue
                data = src.read_bytes() if copy == 0 else relabel(src.read_bytes(), code)
                dest = out / "mmz4281" / season_dir.name / f"{code}.csv"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                n_matches += sum(1 for line in data.splitlines()[1:] if line.strip(b", \r"))
    return leagues, n_matches


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--scale", type=int, default=5)
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = p.parse_args()
    leagues, n = build_mirror(args.out, args.scale, args.source)
    print(f"{len(leagues)} leagues, {n} matches in {args.out}: {','.join(leagues)}")


if __name__ == "__main__":
    main()
