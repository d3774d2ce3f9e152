"""Where football-data.co.uk keeps its files; a mirror or a ``file://`` copy has the same layout.

* ``mmz4281/<code>/<DIV>.csv`` — one league-season, e.g. ``mmz4281/2324/E0.csv`` for E0 2023-24;
* ``fixtures.csv`` — the next round of every covered league.

A base URL may carry a path prefix (``http://127.0.0.1:8765/mirror``); it is kept.
"""

from __future__ import annotations

from soccer_assets.core.names import SITE_URL
from soccer_assets.core.seasons import season_to_code, validate_league

__all__ = ["DEFAULT_BASE_URL", "FIXTURES_PATH", "join_url", "season_path"]

DEFAULT_BASE_URL = SITE_URL
FIXTURES_PATH = "fixtures.csv"


def season_path(league: str, season: str) -> str:
    """Site-relative path of a season file: ``("E0", "2023-24")`` -> ``mmz4281/2324/E0.csv``.

    Validates both parts, so a typo fails here rather than as a confusing 404.
    """
    return f"mmz4281/{season_to_code(season)}/{validate_league(league)}.csv"


def join_url(base_url: str, path: str) -> str:
    """``<base_url>/<path>`` with exactly one slash between them (``base_url`` without a trailing one)."""
    return f"{base_url}/{path.lstrip('/')}"
