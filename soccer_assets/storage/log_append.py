"""``LogAppender``: ``prediction_log`` rows through one DBAPI connection of its own (SQLite, PostgreSQL).

Why not SQLAlchemy Core (:func:`~soccer_assets.storage.prediction_log.log_predictions`): the
writer of the served predictions (``soccer_serving.logwriter``) commits once per group of
requests, and a ``sync`` request waits for that commit. Measured here (``bench/hot_path.py``):

* SQLite (WAL): an ``executemany`` + commit on the DBAPI connection is 2–4× cheaper than Core
  (one row and a hundred);
* PostgreSQL on loopback: 0.9 ms through Core for one row (begin, insert, commit: three round
  trips and the statement building), 0.35 ms as one ``INSERT`` in autocommit (one round trip; a
  single statement is its own transaction). Several rows go in one transaction as an
  ``executemany``, which psycopg pipelines, as Core does (``bench/hot_path.py`` prints both).

The values are those ``log_predictions`` stores (a test reads both back): SQLite's dates and
timestamps through the columns' own SQLAlchemy bind processors, PostgreSQL's adapted by the
driver as Core leaves them, the JSON columns written by orjson (NaN and infinities as null, the
same values with no spaces). Not thread-safe: one writer thread owns an appender.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Engine

from soccer_assets.storage.prediction_log import prediction_log, utcnow

DIALECTS = ("sqlite", "postgresql")


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class LogAppender:
    """Appends ``prediction_log`` rows (as ``log_predictions`` takes them), one commit per call."""

    def __init__(self, engine: Engine):
        dialect = engine.dialect
        if dialect.name not in DIALECTS:
            raise ValueError(f"LogAppender writes SQLite and PostgreSQL, not {dialect.name}")
        self.engine = engine
        self.dialect = dialect.name
        columns = [c for c in prediction_log.c if c.name != "id"]
        self._names = [c.name for c in columns]
        self._json = [isinstance(c.type, JSON) for c in columns]
        if self.dialect == "sqlite":  # SQLite stores dates as text: SQLAlchemy's format, exactly
            self._bind = [_json_text if j else c.type.dialect_impl(dialect).bind_processor(dialect)
                          for c, j in zip(columns, self._json, strict=True)]
            self._sql = (f"INSERT INTO prediction_log ({', '.join(self._names)}) "
                         f"VALUES ({', '.join('?' * len(columns))})")
        else:  # the driver adapts dates, timestamps and numbers as it does for Core
            self._bind = [_json_text if j else None for j in self._json]
            self._sql = (f"INSERT INTO prediction_log ({', '.join(self._names)}) VALUES "
                         "(" + ", ".join("%s::json" if j else "%s" for j in self._json) + ")")
        self._conn: Any = None

    def append(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows`` and commit; all or nothing. Returns the number of rows."""
        if not rows:
            return 0
        now = utcnow()
        pairs = list(zip(self._names, self._bind, strict=True))
        params = []
        for row in rows:
            r = {"created_at": now, **row}
            params.append(tuple(proc(r.get(n)) if proc else r.get(n) for n, proc in pairs))
        conn = self._connection()
        try:
            cur = conn.cursor()
            try:
                if self.dialect == "sqlite":
                    cur.executemany(self._sql, params)
                    conn.commit()
                elif len(params) == 1:  # one statement in autocommit: one round trip
                    cur.execute(self._sql, params[0])
                else:  # one transaction; psycopg pipelines an executemany
                    conn.autocommit = False
                    try:
                        cur.executemany(self._sql, params)
                        conn.commit()
                    finally:
                        if not conn.closed:
                            conn.rollback()  # nothing left after a commit; undoes a failure
                            conn.autocommit = True
            finally:
                cur.close()
        except Exception:
            self.close()  # a broken connection is not reused
            raise
        return len(params)

    def _connection(self) -> Any:
        if self._conn is None:
            raw = self.engine.raw_connection()  # SQLite: the engine's connect hook sets WAL
            if self.dialect == "postgresql":
                driver = raw.driver_connection
                raw.detach()  # autocommit must not go back to the engine's pool
                driver.autocommit = True
                self._conn = driver
            else:
                self._conn = raw
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                if self.dialect == "sqlite":
                    self._conn.rollback()
                self._conn.close()
            except Exception:  # closing a broken connection: nothing more to lose
                pass
            self._conn = None
