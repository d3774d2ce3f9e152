"""Writes served predictions to ``prediction_log``: inline, or batched by a background thread.

``sync`` (default): the insert happens before the response is sent; a prediction that was served is
logged. ``background``: rows go to a bounded in-memory queue that a thread flushes in batches
(every ``flush_seconds`` or ``batch_rows``); when the queue is full the request writes inline
(back-pressure, never a silent drop); a failed flush is retried and its rows kept. Lower latency,
but rows still queued when the process is killed are lost (graceful shutdown flushes).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from soccer_assets.storage import prediction_log as plog

logger = logging.getLogger(__name__)


class PredictionLogWriter:
    def __init__(self, engine: Engine, mode: str = "sync", *, max_queue: int = 10_000,
                 batch_rows: int = 500, flush_seconds: float = 0.05):
        if mode not in ("sync", "background"):
            raise ValueError(f"prediction log mode must be 'sync' or 'background', got {mode!r}")
        self.engine = engine
        self.mode = mode
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flush_failures = 0
        self.inline_fallbacks = 0

    def start(self) -> None:
        if self.mode == "background" and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.mode == "sync" or self._thread is None:
            plog.log_predictions(self.engine, rows)
            return
        for i, row in enumerate(rows):
            try:
                self._queue.put_nowait(row)
            except queue.Full:
                self.inline_fallbacks += 1
                plog.log_predictions(self.engine, list(rows[i:]))
                return

    def pending(self) -> int:
        return self._queue.qsize()

    def _drain(self, limit: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        while not (self._stop.is_set() and not batch and self._queue.empty()):
            if not batch:
                try:
                    batch.append(self._queue.get(timeout=self.flush_seconds))
                except queue.Empty:
                    continue
            batch += self._drain(self.batch_rows - len(batch))
            try:
                plog.log_predictions(self.engine, batch)
                batch = []
            except Exception as exc:
                self.flush_failures += 1
                logger.warning("prediction log flush of %d rows failed (will retry): %s", len(batch), exc)
                if self._stop.is_set():
                    logger.error("dropping %d prediction log rows at shutdown", len(batch))
                    return
                time.sleep(min(5.0, 0.2 * self.flush_failures))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
