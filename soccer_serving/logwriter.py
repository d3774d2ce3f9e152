"""Writes served predictions to ``prediction_log`` in group commits from one writer thread.

Every request's rows go to one queue; the writer thread takes everything queued (up to
``batch_rows``), inserts it in one transaction and commits, then takes the next lot. Rows that
arrive during a commit wait for the next one, so under load one commit carries many requests'
rows and no request waits for a timer (there is none). The two modes differ only in when the
request is answered:

``sync`` (default): after the commit that holds its rows (:meth:`PredictionLogWriter.write_async`
awaits it; :meth:`PredictionLogWriter.write` blocks for it). A prediction that was served is logged;
a failed commit fails the requests whose rows it held (503), so nothing answered is unlogged. A
killed process loses nothing it answered: the rows not committed yet belong to requests that
never got their answer.

``background``: at once. A failed commit is retried with the rows kept; a full queue
(``max_queue`` rows) makes the request wait for room (back-pressure, never a silent drop).
SIGTERM (graceful shutdown) writes everything queued. A SIGKILL or crash loses the rows answered
but not yet committed: at most ``max_queue`` rows, in practice the rows of the last commit
interval (one commit's duration, about a millisecond on the embedded SQLite warehouse).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.log_append import DIALECTS as APPEND_DIALECTS
from soccer_assets.storage.log_append import LogAppender

logger = logging.getLogger(__name__)

MODES = ("sync", "background")
_STOP = object()


class _Lot:
    """One request's rows and, in ``sync`` mode, the future its answer waits for."""

    __slots__ = ("future", "rows")

    def __init__(self, rows: list[dict[str, Any]], future: concurrent.futures.Future[None] | None):
        self.rows = rows
        self.future = future


class PredictionLogWriter:
    def __init__(self, engine: Engine, mode: str = "sync", *, max_queue: int = 10_000,
                 batch_rows: int = 500):
        if mode not in MODES:
            raise ValueError(f"prediction log mode must be 'sync' or 'background', got {mode!r}")
        self.engine = engine
        self.mode = mode
        self.batch_rows = batch_rows
        self.max_queue = max_queue
        self._queue: queue.Queue[Any] = queue.Queue()
        self._queued_rows = 0
        self._room = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._append: Callable[[list[dict[str, Any]]], Any] = self._append_core
        self.flush_failures = 0
        self.commits = 0
        self.rows_written = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write everything queued, then end the thread (graceful shutdown)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._queue.put(_STOP)
        thread.join(timeout)
        if thread.is_alive():
            logger.error("prediction log writer did not finish within %.0f s (%d rows pending)",
                         timeout, self.pending())
        self._thread = None

    def pending(self) -> int:
        """Rows queued and not yet committed."""
        return self._queued_rows

    # -- writing -----------------------------------------------------------------------------
    def submit(self, rows: Sequence[dict[str, Any]]) -> concurrent.futures.Future[None] | None:
        """Queue ``rows``; in ``sync`` mode returns the future of their commit (None: nothing to do)."""
        if not rows:
            return None
        if self._thread is None:  # not started (tests, scripts): write inline
            plog.log_predictions(self.engine, list(rows))
            return None
        future: concurrent.futures.Future[None] | None = (
            concurrent.futures.Future() if self.mode == "sync" else None
        )
        with self._room:
            # Back-pressure in background mode: wait for room rather than drop or grow unbounded.
            while self.mode == "background" and self._queued_rows + len(rows) > self.max_queue \
                    and self._queued_rows > 0:
                self._room.wait(1.0)
            self._queued_rows += len(rows)
        self._queue.put(_Lot(list(rows), future))
        return future

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Blocking write (the job worker, batch routes in the threadpool)."""
        future = self.submit(rows)
        if future is not None:
            future.result()

    async def write_async(self, rows: Sequence[dict[str, Any]]) -> None:
        """What a request awaits: its rows committed (``sync``) or queued (``background``)."""
        if self._thread is None or (self.mode == "background" and self._queued_rows + len(rows)
                                    > self.max_queue):
            # Inline write or a wait for room: both block, so not on the event loop.
            await asyncio.to_thread(self.write, rows)
            return
        future = self.submit(rows)
        if future is not None:
            await asyncio.wrap_future(future)

    # -- the writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        # A DBAPI connection of the thread's own (``LogAppender``: cheaper than Core, bench/hot_path.py).
        appender = LogAppender(self.engine) if self.engine.dialect.name in APPEND_DIALECTS else None
        self._append = appender.append if appender is not None else self._append_core
        try:
            self._loop()
        finally:
            if appender is not None:
                appender.close()

    def _append_core(self, rows: list[dict[str, Any]]) -> None:
        plog.log_predictions(self.engine, rows)

    def _loop(self) -> None:
        stopping = False
        while True:
            if stopping:  # graceful stop: write what is left, then end
                try:
                    first = self._queue.get_nowait()
                except queue.Empty:
                    return
            else:
                first = self._queue.get()
            if first is _STOP:
                stopping = True
                continue
            lots = [first]
            n = len(first.rows)
            while n < self.batch_rows:  # everything that queued up during the last commit
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    continue
                lots.append(item)
                n += len(item.rows)
            self._commit(lots, final=stopping)

    def _commit(self, lots: list[_Lot], *, final: bool) -> None:
        rows = [r for lot in lots for r in lot.rows]
        attempt = 0
        while True:
            try:
                self._append(rows)
                error: BaseException | None = None
                break
            except Exception as exc:
                self.flush_failures += 1
                attempt += 1
                logger.warning("prediction log commit of %d rows failed: %s", len(rows), exc)
                # sync: the waiting requests get the error (503), nothing answered goes unlogged.
                # background: the rows were answered already; keep retrying them.
                if self.mode == "sync":
                    error = exc
                    break
                if final and attempt >= 3:
                    logger.error("dropping %d prediction log rows at shutdown", len(rows))
                    error = exc
                    break
                time.sleep(min(5.0, 0.2 * attempt))
        if error is None:
            self.commits += 1
            self.rows_written += len(rows)
        with self._room:
            self._queued_rows -= len(rows)
            self._room.notify_all()
        for lot in lots:
            if lot.future is not None:
                if error is None:
                    lot.future.set_result(None)
                else:
                    lot.future.set_exception(error)
