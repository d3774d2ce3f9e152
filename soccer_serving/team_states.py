"""The online team states: each league's ``team_state`` rows, decoded once per version, in memory.

:class:`TeamStateStore` re-reads a league when its rows changed (checked at most once per TTL) and
keeps, per version, the memos the hot path reads: a team's state resolved for a season and a
resolved team name. The predictor (:mod:`soccer_serving.predictor`) turns them into features.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from soccer_assets.core.seasons import as_date
from soccer_assets.features.state import TeamKey, TeamState
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse


class NoTeamState(LookupError):
    """The warehouse holds no team state for the league; ``known`` are the leagues it has."""

    def __init__(self, league: str, known: list[str]):
        super().__init__(f"no team state for league {league!r}; known leagues: {', '.join(known) or 'none'}")
        self.league = league
        self.known = known


@dataclass(frozen=True)
class LeagueStates:
    """One league's ``team_state`` rows, decoded."""

    league: str
    states: dict[TeamKey, TeamState]
    teams: tuple[str, ...]
    as_of: dt.date
    updated_at: dt.datetime
    feature_params_hashes: frozenset[str]
    version: tuple[Any, ...]
    # Memos of this version of the league's states (dropped with it when the rows change):
    # a team's state resolved for a season (rolled over or entrant) and a resolved team name.
    # resolve_team_state is pure, so the memo returns exactly what a fresh call would.
    resolved: dict[tuple[str, str], TeamState] = field(default_factory=dict, compare=False, repr=False)
    names: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def _as_utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


# Names and seasons in the memos come from requests: each memo holds at most this many entries.
MEMO_LIMIT = 4096


class NeedsIO(Exception):
    """Raised by ``io=False`` calls that would have to read the warehouse (the caller retries in a
    thread): the event loop computes a prediction only from memory, never waits on a database."""


class TeamStateStore:
    """Per-league cache of decoded team states, re-read when the league's rows change."""

    def __init__(self, warehouse: Warehouse, ttl_seconds: float = 5.0, known_ttl_seconds: float = 60.0):
        self.warehouse = warehouse
        self.ttl = ttl_seconds
        self.known_ttl = known_ttl_seconds
        self._cache: dict[str, tuple[float, LeagueStates]] = {}
        self._known: tuple[float, frozenset[str]] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self.warehouse.engine

    def league(self, league: str, *, io: bool = True) -> LeagueStates:
        """The league's decoded states; with ``io=False`` only from the cache (else ``NeedsIO``)."""
        now = time.monotonic()
        cached = self._cache.get(league)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        if not io:
            raise NeedsIO(league)
        version = plog.team_state_version(self.engine, league)
        if cached is not None and cached[1].version == version:
            self._cache[league] = (now, cached[1])
            return cached[1]
        if not version[0]:
            self._cache.pop(league, None)
            leagues = sorted(r["league"] for r in plog.team_state_summary(self.engine))
            raise NoTeamState(league, leagues)
        rows = self.warehouse.read_team_state(league)
        states = {(league, r["team"]): TeamState.from_record(r["state"]) for r in rows}
        loaded = LeagueStates(
            league=league,
            states=states,
            teams=tuple(sorted(r["team"] for r in rows)),
            as_of=max(as_date(r["as_of"]) for r in rows),
            updated_at=max(_as_utc(r["updated_at"]) for r in rows),
            feature_params_hashes=frozenset(r["feature_params_hash"] for r in rows),
            version=version,
        )
        with self._lock:
            self._cache[league] = (now, loaded)
        return loaded

    def known_teams(self, *, io: bool = True) -> frozenset[str]:
        now = time.monotonic()
        if self._known is None or now - self._known[0] >= self.known_ttl:
            if not io:
                raise NeedsIO("known teams")
            self._known = (now, frozenset(plog.known_teams(self.engine)))
        return self._known[1]
