"""Freshness of the current season's data: pure, shared by the Dagster checks (``defs/freshness.py``)
and the API's ``/metrics`` (``soccer_serving.metrics``), so the UI and Prometheus give one verdict.

In season (1 August of the season's first year to 31 May of its second, the main divisions'
calendar), the latest stored match of a league must be at most ``max_age_days`` old. The age is
counted from the later of that match and the season's start, so a league is not stale in August
for having last played in May; out of season nothing is stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from soccer_assets.core.seasons import season_of_date, season_start_year

DEFAULT_MAX_AGE_DAYS = 21
ASSETS = ("matches", "team_state")


def in_season_window(season: str) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) on which ``season``'s data is expected to keep arriving."""
    start = season_start_year(season)
    return dt.date(start, 8, 1), dt.date(start + 1, 5, 31)


@dataclass(frozen=True)
class Freshness:
    today: dt.date
    season: str
    last_match: dt.date | None
    age_days: int
    in_season: bool
    max_age_days: int

    @property
    def stale(self) -> bool:
        return self.in_season and self.age_days > self.max_age_days

    def as_dict(self) -> dict[str, object]:
        return {"season": self.season, "last_match": str(self.last_match) if self.last_match else None,
                "age_days": self.age_days, "in_season": self.in_season, "stale": self.stale}


def freshness(
    last_match: dt.date | None, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> Freshness:
    """The freshness on ``today`` of a league whose latest stored match is ``last_match``."""
    season = season_of_date(today)
    start, end = in_season_window(season)
    reference = max(last_match, start) if last_match is not None else start
    return Freshness(
        today=today,
        season=season,
        last_match=last_match,
        age_days=max(0, (today - reference).days),
        in_season=start <= today <= end,
        max_age_days=max_age_days,
    )
