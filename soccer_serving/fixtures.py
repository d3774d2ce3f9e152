"""Upcoming fixtures as the API and the worker see them: the warehouse table ``fixtures``.

The pipeline's ``fixtures`` asset ingests the site's ``fixtures.csv`` (through the source client,
with its retries and checks) into the warehouse; serving never fetches the site. A fixture becomes
a prediction request here, one way for everyone: league, teams, kick-off date, the opening 1X2 odds
(Pinnacle when all three prices are valid, else the market average: ``select_open_odds``, as the
offline features choose them) and the opening over/under 2.5 odds (``select_open_totals``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from soccer_assets.features.build import select_open_odds, select_open_totals
from soccer_assets.storage.warehouse import Warehouse


class FixturesNotLoaded(LookupError):
    """The warehouse has never held fixtures (the ``fixtures`` asset has not run)."""


def read_upcoming(warehouse: Warehouse, leagues: list[str] | None = None,
                  date_from: dt.date | None = None, date_to: dt.date | None = None) -> pd.DataFrame:
    """The stored fixtures (``Warehouse.read_fixtures``); :class:`FixturesNotLoaded` before the first load."""
    if warehouse.fixtures_load() is None:
        raise FixturesNotLoaded("no fixtures in the warehouse yet: materialize the `fixtures` asset "
                                "(dg launch --assets fixtures)")
    return warehouse.read_fixtures(leagues, date_from=date_from, date_to=date_to)


def _pair(values: np.ndarray, keys: tuple[str, ...]) -> dict[str, float] | None:
    if not all(math.isfinite(float(v)) for v in values):
        return None
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def fixture_requests(fixtures: pd.DataFrame) -> list[dict[str, Any]]:
    """One ``MatchRequest`` dict per fixture row (odds and totals odds when the fixture has them)."""
    if fixtures.empty:
        return []
    odds, totals = select_open_odds(fixtures), select_open_totals(fixtures)
    items: list[dict[str, Any]] = []
    for k, r in enumerate(fixtures.itertuples(index=False)):
        item: dict[str, Any] = {"league": r.league, "home_team": r.home_team, "away_team": r.away_team,
                                "kickoff": pd.Timestamp(r.date).date().isoformat()}
        o = _pair(odds[k], ("home", "draw", "away"))
        if o is not None:
            item["odds"] = o
        t = _pair(totals[k], ("over", "under"))
        if t is not None:
            item["totals_odds"] = t
        items.append(item)
    return items


def upcoming_items(warehouse: Warehouse, league: str) -> list[dict[str, Any]]:
    """The league's stored fixtures as job items (``{"league": ..., "upcoming": true}`` jobs)."""
    return fixture_requests(read_upcoming(warehouse, [league]))
