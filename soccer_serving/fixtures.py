"""Upcoming fixtures of a league from football-data.co.uk's ``fixtures.csv``.

The file lists the next round of every covered league in the season-file layout, with blank
results and the pre-match odds the site collected. A row becomes a job item: league, teams
(canonical names), kick-off date and opening odds (Pinnacle if all three prices are valid, else
the market average, as the offline features choose them).
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

import httpx

from soccer_assets.core.teams import canonical_team
from soccer_assets.sources.location import file_url_path
from soccer_serving.settings import ServingSettings

# Pinnacle first, then the market average (and Betbrain's average in older files).
_ODDS_PREFERENCE = (("PSH", "PSD", "PSA"), ("AvgH", "AvgD", "AvgA"), ("BbAvH", "BbAvD", "BbAvA"))


class FixturesError(ValueError):
    """The fixtures file cannot be read."""


def _date(value: str) -> str:
    parts = value.strip().split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise FixturesError(f"fixture date {value!r} is not dd/mm/yy or dd/mm/yyyy")
    d, m, y = (int(p) for p in parts)
    if y < 100:
        y += 2000
    return f"{y:04d}-{m:02d}-{d:02d}"


def _odds(row: dict[str, str]) -> dict[str, float] | None:
    for cols in _ODDS_PREFERENCE:
        try:
            vals = [float(row.get(c, "") or "nan") for c in cols]
        except ValueError:
            continue
        if all(v > 1.0 and v < 1e4 for v in vals):
            return {"home": vals[0], "draw": vals[1], "away": vals[2]}
    return None


def parse_fixtures(data: bytes, league: str) -> list[dict[str, Any]]:
    """The league's rows without a result, as job items (``MatchRequest`` dicts)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or not {"Div", "Date", "HomeTeam", "AwayTeam"} <= set(reader.fieldnames):
        raise FixturesError("fixtures file lacks Div/Date/HomeTeam/AwayTeam columns")
    items: list[dict[str, Any]] = []
    for row in reader:
        if (row.get("Div") or "").strip() != league:
            continue
        if (row.get("FTHG") or "").strip() or (row.get("FTR") or "").strip():
            continue  # already played
        home = canonical_team(row["HomeTeam"])
        away = canonical_team(row["AwayTeam"])
        if not home or not away:
            continue
        item: dict[str, Any] = {
            "league": league,
            "home_team": home,
            "away_team": away,
            "kickoff": _date(row["Date"]),
        }
        odds = _odds(row)
        if odds is not None:
            item["odds"] = odds
        items.append(item)
    return items


def read_fixtures_file(base_url: str, timeout: float = 20.0) -> bytes:
    """The bytes of ``<base_url>/fixtures.csv`` (``http(s)://`` or a ``file://`` snapshot).

    One timed attempt: a failure raises, and the job system's bounded retries (with backoff)
    re-run the whole attempt, so no retry loop is needed here.
    """
    url = f"{base_url.rstrip('/')}/fixtures.csv"
    local = file_url_path(url)
    if local is not None:
        return local.read_bytes()
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"fixtures URL must be http(s):// or file://, got {base_url!r}")
    response = httpx.get(url, timeout=timeout, follow_redirects=True,
                         headers={"User-Agent": "soccer-predict-serving (fixtures)"})
    response.raise_for_status()
    return response.content


def fetch_upcoming(settings: ServingSettings, league: str) -> list[dict[str, Any]]:
    """Fetch ``fixtures.csv`` from ``SOCCER_FIXTURES_URL`` and keep the league's fixtures."""
    return parse_fixtures(read_fixtures_file(settings.fixtures_url), league)
