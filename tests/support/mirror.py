"""A local stand-in for football-data.co.uk, with fault injection.

The whole test suite (and the benchmarks) talk real HTTP to this server instead of mocking the
client, so retries, timeouts, conditional requests and framing errors are exercised for real.

It serves a directory in the site's layout (``mmz4281/<code>/<DIV>.csv``, ``fixtures.csv``) from a
background thread on ``127.0.0.1`` with an ephemeral port, like a static Apache site would:

* ``ETag`` (``"<sha256 of the body>"``) and ``Last-Modified`` (file mtime) on every 200;
* ``If-None-Match`` (takes precedence) / ``If-Modified-Since`` answered with ``304``;
* 404 for anything that is not a file under the root (no directory listings, no ``..`` escapes).

The root is never written to (the shared data is read-only). Tests change what is served through
in-memory overlays (:meth:`Mirror.put`, :meth:`Mirror.delete`) and one-off faults
(:meth:`Mirror.inject`); :meth:`Mirror.reset` drops both along with the request log.

Usage::

    with Mirror() as mirror:                      # or: yield from serve_mirror() in a fixture
        mirror.inject("/mmz4281/2324/E0.csv", FaultKind.HTTP_500, times=2)
        client = FootballDataClient(mirror.url, min_interval=0)
        ...
        assert len(mirror.requests_for("/mmz4281/2324/E0.csv")) == 3

Patterns are exact paths, shell globs (``/mmz4281/*/E0.csv``) or compiled regexes (searched).
"""

from __future__ import annotations

import contextlib
import enum
import fnmatch
import hashlib
import os
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import ClassVar
from urllib.parse import unquote, urlsplit

__all__ = [
    "Fault",
    "FaultKind",
    "Mirror",
    "RecordedRequest",
    "serve_mirror",
    "shared_football_data",
]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


def shared_football_data() -> Path:
    """Directory with the shared football-data.co.uk snapshot (read-only).

    ``$SOCCER_SHARED_DATA`` wins; it may point at the ``football-data`` directory itself or at the
    ``data`` directory that contains it. Falls back to ``<repo>/../shared/data/football-data``.
    """
    env = os.environ.get("SOCCER_SHARED_DATA")
    if env:
        base = Path(env).expanduser()
        if not (base / "mmz4281").is_dir() and (base / "football-data" / "mmz4281").is_dir():
            base = base / "football-data"
        return base
    return _REPO_ROOT.parent / "shared" / "data" / "football-data"


class FaultKind(enum.Enum):
    """What the mirror does instead of (or on top of) serving the file."""

    HTTP_500 = "http_500"  # 500 Internal Server Error, small HTML body
    HTTP_503 = "http_503"  # 503 Service Unavailable (+ Retry-After if Fault.retry_after)
    HTTP_404 = "http_404"  # 404 even though the file exists
    STATUS = "status"  # any status code given as Fault.status (403, 410, 429, 502 ...)
    SLOW = "slow"  # sleep Fault.delay seconds, then answer normally (trips client timeouts)
    TRUNCATE = "truncate"  # full Content-Length, send Fault.fraction of the body, close
    BODY = "body"  # serve Fault.body instead of the file (malformed / changed / garbage file)
    RESET = "reset"  # drop the connection without any response (connection error)


@dataclass(eq=False)
class Fault:
    """A fault rule: applies to the next ``times`` requests whose path matches ``pattern``
    (``times=None``: every matching request until removed). ``hits`` counts applications.

    The kinds are also reachable as ``Fault.HTTP_500`` etc. for convenience.
    """

    pattern: str | re.Pattern[str]
    kind: FaultKind
    times: int | None = 1
    delay: float = 5.0
    body: bytes | None = None
    status: int | None = None
    retry_after: float | None = None
    fraction: float = 0.5
    hits: int = 0

    HTTP_500: ClassVar[FaultKind] = FaultKind.HTTP_500
    HTTP_503: ClassVar[FaultKind] = FaultKind.HTTP_503
    HTTP_404: ClassVar[FaultKind] = FaultKind.HTTP_404
    STATUS: ClassVar[FaultKind] = FaultKind.STATUS
    SLOW: ClassVar[FaultKind] = FaultKind.SLOW
    TRUNCATE: ClassVar[FaultKind] = FaultKind.TRUNCATE
    BODY: ClassVar[FaultKind] = FaultKind.BODY
    RESET: ClassVar[FaultKind] = FaultKind.RESET

    def __post_init__(self) -> None:
        if self.kind is FaultKind.BODY and self.body is None:
            raise ValueError("FaultKind.BODY needs body=<bytes>")
        if self.kind is FaultKind.STATUS and self.status is None:
            raise ValueError("FaultKind.STATUS needs status=<int>")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError("fraction must be within [0, 1)")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None (forever)")

    def matches(self, path: str) -> bool:
        return _path_matches(self.pattern, path)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class RecordedRequest:
    """One request as the mirror saw it, logged on arrival. Header names are lower-cased;
    ``status`` is filled in once decided (None if the connection was dropped, or while a SLOW
    fault is still sleeping)."""

    method: str
    path: str
    headers: dict[str, str]
    time: float  # time.monotonic() on arrival
    status: int | None
    fault: FaultKind | None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class _Entry:
    content: bytes
    mtime: float
    etag: str


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    overlays: dict[str, _Entry | None] = field(default_factory=dict)  # None = deleted
    requests: list[RecordedRequest] = field(default_factory=list)


def _entry(content: bytes, mtime: float) -> _Entry:
    return _Entry(content, mtime, f'"{hashlib.sha256(content).hexdigest()}"')


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):  # type: ignore[no-untyped-def]
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # type: ignore[no-untyped-def]
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close idle keep-alive connections so stop() does not leave threads blocked on recv."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        # Clients hanging up on a slow or truncated response is the point of several faults.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real site
    server_version = "soccer-predict-mirror/1.0"
    server: _Server

    def do_GET(self) -> None:
        self.server.mirror._handle(self, head=False)

    def do_HEAD(self) -> None:
        self.server.mirror._handle(self, head=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is Mirror.requests


class Mirror:
    """Local football-data.co.uk look-alike. Start with ``with Mirror(root) as m`` or
    :meth:`start`/:meth:`stop`; ``m.url`` is the base URL to give the client."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else shared_football_data()
        self._lock = threading.Lock()
        self._state = _State()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._hash_cache: dict[tuple[str, int, int], str] = {}

    # ------------------------------------------------------------- lifecycle

    def start(self) -> Mirror:
        if self._server is not None:
            return self
        if not self.root.is_dir():
            raise FileNotFoundError(f"mirror root {self.root} is not a directory (set SOCCER_SHARED_DATA?)")
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"football-data-mirror:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a SLOW fault
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("mirror is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"

    # ---------------------------------------------------------------- faults

    def inject(
        self,
        pattern: str | re.Pattern[str],
        kind: FaultKind,
        *,
        times: int | None = 1,
        delay: float = 5.0,
        body: bytes | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        fraction: float = 0.5,
    ) -> Fault:
        """Make the next ``times`` requests matching ``pattern`` misbehave (``None``: all).

        Rules are tried in the order added; the first live one applies. Returns the rule, whose
        ``hits`` tells how often it fired.
        """
        return self.add_fault(
            Fault(
                pattern=_norm_pattern(pattern),
                kind=kind,
                times=times,
                delay=delay,
                body=body,
                status=status,
                retry_after=retry_after,
                fraction=fraction,
            )
        )

    def add_fault(self, fault: Fault) -> Fault:
        if isinstance(fault.pattern, str):
            fault.pattern = _norm_pattern(fault.pattern)
        with self._lock:
            self._state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    # -------------------------------------------------------------- overlays

    def put(self, path: str, content: bytes, *, mtime: float | None = None) -> None:
        """Serve ``content`` at ``path`` from now on (new ETag/Last-Modified), without touching
        the root — e.g. a season file that was updated or newly published."""
        with self._lock:
            self._state.overlays[_norm_path(path)] = _entry(content, mtime or time.time())

    def delete(self, path: str) -> None:
        """Answer 404 for ``path`` from now on (a file that is not published)."""
        with self._lock:
            self._state.overlays[_norm_path(path)] = None

    def content_of(self, path: str) -> bytes | None:
        """Bytes the mirror currently serves at ``path`` (ignoring faults), or None if 404."""
        entry = self._lookup(_norm_path(path))
        return entry.content if entry else None

    def etag_of(self, path: str) -> str | None:
        entry = self._lookup(_norm_path(path))
        return entry.etag if entry else None

    # -------------------------------------------------------------- requests

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._state.requests)

    def requests_for(self, pattern: str | re.Pattern[str]) -> list[RecordedRequest]:
        """Requests whose path matches an exact path, a glob or a regex (as for faults)."""
        pattern = _norm_pattern(pattern)
        return [r for r in self.requests if _path_matches(pattern, r.path)]

    def clear_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    def reset(self) -> None:
        """Forget faults, overlays and the request log (per-test isolation on a shared server)."""
        with self._lock:
            self._state = _State()

    # --------------------------------------------------------------- serving

    def _lookup(self, path: str) -> _Entry | None:
        with self._lock:
            if path in self._state.overlays:
                return self._state.overlays[path]
        root = self.root.resolve()
        file = (root / path.lstrip("/")).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            return None
        st = file.stat()
        key = (str(file), st.st_mtime_ns, st.st_size)
        content = file.read_bytes()
        etag = self._hash_cache.get(key)
        if etag is None:
            etag = f'"{hashlib.sha256(content).hexdigest()}"'
            self._hash_cache[key] = etag
        return _Entry(content, st.st_mtime, etag)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if not fault.exhausted and fault.matches(path):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, handler: _Handler, path: str, fault: Fault | None) -> RecordedRequest:
        """Log the request on arrival (before any SLOW sleep), into the log current *now*, so a
        handler still sleeping from an earlier test cannot leak into the next test's log."""
        request = RecordedRequest(
            method=handler.command,
            path=path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            time=time.monotonic(),
            status=None,
            fault=fault.kind if fault else None,
        )
        with self._lock:
            self._state.requests.append(request)
        return request

    def _handle(self, handler: _Handler, *, head: bool) -> None:
        path = _norm_path(urlsplit(handler.path).path)
        fault = self._take_fault(path)
        kind = fault.kind if fault else None
        record = self._record(handler, path, fault)
        try:
            if fault is not None and kind is FaultKind.RESET:
                handler.close_connection = True
                # SO_LINGER 0 -> the close sends RST: the client sees a reset, not a clean EOF.
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if fault is not None and kind in _STATUS_OF:
                status = fault.status if kind is FaultKind.STATUS else _STATUS_OF[kind]
                assert status is not None
                record.status = status
                self._send_error(handler, status, fault.retry_after, head=head)
                return
            if fault is not None and kind is FaultKind.SLOW:
                self._stopping.wait(fault.delay)

            entry = self._lookup(path)
            if fault is not None and kind is FaultKind.BODY:
                assert fault.body is not None
                entry = _entry(fault.body, time.time())
            if entry is None:
                record.status = 404
                self._send_error(handler, 404, None, head=head)
                return

            last_modified = formatdate(entry.mtime, usegmt=True)
            if _not_modified(handler, entry):
                record.status = 304
                handler.send_response(304)
                handler.send_header("ETag", entry.etag)
                handler.send_header("Last-Modified", last_modified)
                handler.end_headers()
                return

            record.status = 200
            handler.send_response(200)
            handler.send_header(
                "Content-Type", "text/csv" if path.endswith(".csv") else "text/plain; charset=utf-8"
            )
            handler.send_header("Content-Length", str(len(entry.content)))
            handler.send_header("ETag", entry.etag)
            handler.send_header("Last-Modified", last_modified)
            if fault is not None and kind is FaultKind.TRUNCATE:
                handler.send_header("Connection", "close")
            handler.end_headers()
            if head:
                return
            if fault is not None and kind is FaultKind.TRUNCATE:
                handler.wfile.write(entry.content[: int(len(entry.content) * fault.fraction)])
                handler.wfile.flush()
                handler.close_connection = True
                return
            handler.wfile.write(entry.content)
        except _CONNECTION_ERRORS:
            handler.close_connection = True  # the client gave up (e.g. timed out on SLOW)

    @staticmethod
    def _send_error(handler: _Handler, status: int, retry_after: float | None, *, head: bool) -> None:
        body = f"<html><body><h1>{status} {_reason(status)}</h1></body></html>\n".encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            handler.send_header("Retry-After", str(max(0, round(retry_after))))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)


_STATUS_OF: dict[FaultKind, int | None] = {
    FaultKind.HTTP_500: 500,
    FaultKind.HTTP_503: 503,
    FaultKind.HTTP_404: 404,
    FaultKind.STATUS: None,
}


def _reason(status: int) -> str:
    return BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]


def _norm_path(path: str) -> str:
    return "/" + unquote(path).lstrip("/")


def _path_matches(pattern: str | re.Pattern[str], path: str) -> bool:
    if isinstance(pattern, re.Pattern):
        return pattern.search(path) is not None
    return path == pattern or fnmatch.fnmatchcase(path, pattern)


def _norm_pattern(pattern: str | re.Pattern[str]) -> str | re.Pattern[str]:
    return pattern if isinstance(pattern, re.Pattern) else _norm_path(pattern)


def _not_modified(handler: _Handler, entry: _Entry) -> bool:
    """RFC 9110 §13.2.2: If-None-Match is evaluated first; If-Modified-Since only without it."""
    inm = handler.headers.get("If-None-Match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or entry.etag in tags
    ims = handler.headers.get("If-Modified-Since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
        return int(entry.mtime) <= since
    return False


def serve_mirror(root: str | Path | None = None) -> Iterator[Mirror]:
    """Generator for pytest fixtures: ``yield from serve_mirror()`` starts a mirror and stops it
    at teardown. Pair a session-scoped server with :meth:`Mirror.reset` per test."""
    with Mirror(root) as mirror:
        yield mirror
