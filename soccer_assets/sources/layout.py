"""Where football-data.co.uk keeps its files; a mirror or a ``file://`` copy has the same layout.

* ``mmz4281/<code>/<DIV>.csv`` — one league-season, e.g. ``mmz4281/2324/E0.csv`` for E0 2023-24;
* ``new/<CODE>.csv`` — every season of one extra league (``ARG``, ``USA`` …) in one file;
* ``fixtures.csv`` — the next round of every covered league.

A base URL may carry a path prefix (``http://127.0.0.1:8765/mirror``); it is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from soccer_assets.core.names import SITE_URL
from soccer_assets.core.seasons import (
    EXTRA_LEAGUES,
    code_to_season,
    season_start_year,
    season_to_code,
    validate_league,
)

__all__ = [
    "DEFAULT_BASE_URL", "FIXTURES_PATH", "is_extra_league", "join_url", "league_file_path",
    "local_league_files", "local_season_files", "season_path",
]

DEFAULT_BASE_URL = SITE_URL
FIXTURES_PATH = "fixtures.csv"


def is_extra_league(league: str) -> bool:
    """An extra league: all its seasons are in one ``new/<CODE>.csv``."""
    return league in EXTRA_LEAGUES


def league_file_path(league: str) -> str:
    """``"ARG"`` -> ``new/ARG.csv``."""
    return f"new/{validate_league(league)}.csv"


def season_path(league: str, season: str) -> str:
    """Site-relative path of the file holding a league-season: ``("E0", "2023-24")`` ->
    ``mmz4281/2324/E0.csv``; ``("ARG", "2025")`` -> ``new/ARG.csv`` (every season of the league).

    Validates both parts, so a typo fails here rather than as a confusing 404.
    """
    if is_extra_league(league):
        season_start_year(season)
        return league_file_path(league)
    return f"mmz4281/{season_to_code(season)}/{validate_league(league)}.csv"


def join_url(base_url: str, path: str) -> str:
    """``<base_url>/<path>`` with exactly one slash between them (``base_url`` without a trailing one)."""
    return f"{base_url}/{path.lstrip('/')}"


_CODE_DIR = re.compile(r"^\d{4}$")
_LEAGUE_FILE = re.compile(r"^([A-Z]{1,3}[0-9]|[A-Z]{2,3})\.csv$")


def local_season_files(root: Path) -> list[tuple[str, str, Path]]:
    """``(league, season, path)`` of every ``mmz4281/<code>/<DIV>.csv`` under a local copy of the
    site, in folder then file order; other names (``latest/``, ``README.txt``) are not season files."""
    base = root / "mmz4281"
    found: list[tuple[str, str, Path]] = []
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if not folder.is_dir() or not _CODE_DIR.match(folder.name):
            continue
        try:
            season = code_to_season(folder.name)
        except ValueError:
            continue
        for file in sorted(folder.iterdir()):
            m = _LEAGUE_FILE.match(file.name)
            if m and file.is_file():
                found.append((m.group(1), season, file))
    return found


def local_league_files(root: Path) -> list[tuple[str, Path]]:
    """``(league, path)`` of every extra league's all-seasons file ``new/<CODE>.csv`` under a local
    copy of the site, in name order; a file of another name is not one."""
    folder = root / "new"
    return [(f.stem, f) for f in sorted(folder.glob("*.csv")) if f.is_file() and is_extra_league(f.stem)]
