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

from soccer_assets.teams import canonical_team
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


def fetch_upcoming(settings: ServingSettings, league: str) -> list[dict[str, Any]]:
    """Fetch ``fixtures.csv`` from ``SOCCER_FIXTURES_URL`` and keep the league's fixtures."""
    from soccer_assets.sources.client import FootballDataClient

    local = settings.fixtures_url.startswith(("file:", "http://127.", "http://localhost"))
    with FootballDataClient(settings.fixtures_url, min_interval=0.0 if local else 1.0,
                            max_retries=2) as client:
        result = client.fetch_fixtures()
    return parse_fixtures(result.content, league)
