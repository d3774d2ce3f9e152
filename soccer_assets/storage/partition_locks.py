"""One writer per partition: a lock row per (asset, league, season) in the warehouse.

A lock is a row of ``partition_locks``, committed on its own, so it works the same on SQLite and
PostgreSQL and says who holds it (a Dagster run id). It lives as long as its holder writes: the row
of a crashed run is taken over once the instance says the run has ended, or once it is older than
any write takes (a killed run the instance still shows as running).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import IntegrityError

from soccer_assets.storage import tables


class Warehouse(Protocol):
    """What the locks need of :class:`soccer_assets.storage.warehouse.Warehouse` (which imports
    this module, so it is not imported here)."""

    engine: Engine

    def _transaction(self, what: str, work: Callable[[Connection], Any]) -> Any: ...


logger = logging.getLogger(__name__)


class PartitionBusyError(RuntimeError):
    """Another writer held a partition for longer than the wait allowed."""


@contextmanager
def hold(
    wh: Warehouse,
    asset: str,
    partitions: Iterable[tuple[str, str]],
    holder: str,
    *,
    holder_alive: Callable[[str], bool | None] | None = None,
    stale_after_seconds: float = 1800.0,
    timeout_seconds: float = 900.0,
    poll_seconds: float = 0.25,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the writer lock of ``asset`` on every partition for the ``with`` block.

    Partitions are locked in sorted order (two bulk runs cannot deadlock). A partition held by
    another holder is waited for. A holder that ``holder_alive`` says is gone (False: a crashed or
    finished run) loses it at once; any other holder once its lock is older than
    ``stale_after_seconds`` (30 minutes: a bulk fetch and write of every partition takes minutes, so
    an older lock is a killed run, also one the instance still shows as running or does not know).
    After ``timeout_seconds`` :class:`PartitionBusyError` names the holder. The locks are released
    on exit, also on error.
    """
    keys = sorted(set(partitions))
    deadline = time.monotonic() + timeout_seconds
    taken: list[tuple[str, str]] = []
    try:
        for league, season in keys:
            _lock(wh, asset, league, season, holder, holder_alive, stale_after_seconds, deadline,
                  poll_seconds, on_wait)
            taken.append((league, season))
        yield
    finally:
        t = tables.partition_locks
        for league, season in taken:
            wh._transaction("release partition lock", lambda conn, lg=league, se=season: conn.execute(
                delete(t).where(t.c.asset == asset, t.c.league == lg, t.c.season == se,
                                t.c.holder == holder)))


def _lock(wh: Warehouse, asset: str, league: str, season: str, holder: str,
          holder_alive: Callable[[str], bool | None] | None, stale_after: float, deadline: float,
          poll: float, on_wait: Callable[[str], None] | None) -> None:
    t = tables.partition_locks
    where = (t.c.asset == asset, t.c.league == league, t.c.season == season)
    waited = False
    while True:
        try:
            wh._transaction("take partition lock", lambda conn: conn.execute(t.insert(), {
                "asset": asset, "league": league, "season": season, "holder": holder,
                "acquired_at": dt.datetime.now(dt.UTC)}))
            return
        except IntegrityError:
            pass
        with wh.engine.connect() as conn:
            row = conn.execute(select(t.c.holder, t.c.acquired_at).where(*where)).first()
        if row is None:
            continue  # released in between: try again at once
        other, since = str(row[0]), row[1]
        if other == holder:
            return  # a retry of the same run's step: it holds it already
        acquired = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        fresh = (dt.datetime.now(dt.UTC) - acquired).total_seconds() < stale_after
        alive = fresh and (holder_alive is None or holder_alive(other) is not False)
        if not alive:
            logger.warning("%s %s %s: taking over the lock of %s, which is no longer running",
                           asset, league, season, other)
            wh._transaction("take over partition lock", lambda conn, o=other: conn.execute(
                delete(t).where(*where, t.c.holder == o)))
            continue
        if time.monotonic() >= deadline:
            raise PartitionBusyError(
                f"{asset} {league} {season} is being written by {other} (since {since}); "
                "gave up waiting for it")
        if not waited and on_wait is not None:
            on_wait(f"{asset} {league} {season} is being written by {other}; waiting for it")
        waited = True
        time.sleep(poll)


def holders(wh: Warehouse, asset: str | None = None) -> dict[tuple[str, str, str], str]:
    """Who holds which partition lock now: ``{(asset, league, season): holder}``."""
    t = tables.partition_locks
    q = select(t.c.asset, t.c.league, t.c.season, t.c.holder)
    if asset is not None:
        q = q.where(t.c.asset == asset)
    with wh.engine.connect() as conn:
        return {(str(a), str(lg), str(se)): str(h) for a, lg, se, h in conn.execute(q).all()}
