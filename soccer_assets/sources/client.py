"""HTTP/file client for football-data.co.uk season files.

Plain Python on purpose (no Dagster import): the orchestration layer wraps it in a
``ConfigurableResource``, and keeping it free of Dagster keeps it testable against the local mirror
and usable from scripts.

One API for three kinds of base URL, so that production, tests and offline runs exercise the same
code path:

* ``https://www.football-data.co.uk`` — the real site (default);
* ``http://127.0.0.1:<port>`` — the local mirror the test suite runs (``tests/support/mirror.py``);
* ``file:///some/dir`` — a directory in the site's layout (``mmz4281/<code>/<DIV>.csv``,
  ``fixtures.csv``), e.g. a DVC-pinned snapshot for offline, reproducible runs.

Behaviour that matters to callers:

* Transient faults (5xx, 408/429, connection errors, timeouts, a body shorter than its
  ``Content-Length``) are retried a bounded number of times with exponential backoff; when the
  retries are exhausted :class:`SourceUnavailable` says what happened on every attempt.
* A 404/410 (or a missing file under ``file://``) is :class:`SeasonNotPublished` and is *not*
  retried: a season or league that does not exist yet is an expected, permanent answer, not a fault.
* Any other 4xx is a plain :class:`SourceError` and is not retried either (retrying a refusal is
  impolite and never helps).
* Conditional requests: pass the validators and the bytes stored from the previous fetch; a 304
  comes back as those bytes with ``not_modified=True``, so callers always get content.
* Requests are spaced at least ``min_interval`` seconds apart per client (the site is run by one
  person; hammering it with a dozen partitions at once is rude and gets you blocked).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

from soccer_assets.core.seasons import season_to_code, validate_league

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_USER_AGENT",
    "FetchResult",
    "FootballDataClient",
    "SeasonNotPublished",
    "SourceError",
    "SourceUnavailable",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.football-data.co.uk"
DEFAULT_USER_AGENT = (
    "soccer-predict/0.1 (football match-outcome research pipeline; "
    "fetches season CSVs at most about once per second; python-httpx)"
)
FIXTURES_PATH = "fixtures.csv"

# 404/410: the file does not exist (yet). Answered permanently, never retried.
_NOT_PUBLISHED = frozenset({404, 410})
# 408 Request Timeout and 429 Too Many Requests are 4xx but are explicitly "try again later".
_RETRYABLE_4XX = frozenset({408, 429})


class SourceError(Exception):
    """Base class for every failure to obtain a file from the source.

    ``url`` is the file that was asked for, so callers can report it without re-deriving it.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class SeasonNotPublished(SourceError):
    """The season/league file (or ``fixtures.csv``) does not exist at the source (HTTP 404/410,
    or a missing file under ``file://``).

    Expected for a season that has not started or a league the site does not cover; callers
    typically skip the partition rather than fail the run. Never retried.
    """


class SourceUnavailable(SourceError):
    """Transient faults persisted through every retry.

    ``attempts`` holds one human-readable line per attempt (``"attempt 2: HTTP 503 Service
    Unavailable"``), which the message repeats, so an operator can tell a flaky network from an
    outage from a server that keeps cutting the body short.
    """

    def __init__(self, message: str, *, url: str, attempts: tuple[str, ...]) -> None:
        super().__init__(message, url=url)
        self.attempts = attempts


@dataclass(frozen=True)
class FetchResult:
    """What a fetch produced.

    ``sha256`` (hex of ``content``) is the data version: it changes exactly when the bytes do, no
    matter whether they came from a 200, a 304 (the cached bytes) or a file. ``etag`` and
    ``last_modified`` are the validators to store and pass back on the next fetch. ``attempts``
    counts HTTP requests made (1 for ``file://``), useful for metrics and for tests.
    """

    content: bytes = field(repr=False)
    sha256: str
    url: str
    status: int
    etag: str | None
    last_modified: str | None
    not_modified: bool
    attempts: int

    @property
    def size(self) -> int:
        return len(self.content)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class FootballDataClient:
    """Fetches football-data.co.uk files over HTTP(S) or from a ``file://`` directory.

    Parameters
    ----------
    base_url:
        Site root (``https://www.football-data.co.uk``), a local mirror (``http://127.0.0.1:8765``)
        or a directory in the same layout (``file:///data/football-data``). A path prefix is kept.
    timeout:
        Read/write/pool timeout in seconds per attempt. The files are ~100-250 kB, so 20 s only
        trips on a stalled server.
    connect_timeout:
        TCP/TLS connect timeout; short because a host that does not answer SYN quickly is down.
    max_retries:
        Retries after the first attempt for transient faults (so ``max_retries + 1`` attempts).
    backoff, max_backoff:
        Delay before retry *n* is ``backoff * 2**(n-1)`` capped at ``max_backoff``; a
        ``Retry-After`` header raises it (also capped).
    jitter:
        Fraction (0..1) by which each delay is randomly shortened, so parallel workers that failed
        together do not retry in lock-step. 0 makes the schedule deterministic.
    min_interval:
        Minimum seconds between the starts of two requests from this client, retries included.
        Not applied to ``file://``.
    user_agent:
        Sent on every request; says who we are and how politely we behave.
    transport:
        Optional httpx transport (e.g. for proxies); tests use the real mirror instead.
    clock, sleep, rng:
        Injectable time source, sleeper and RNG so rate limiting, backoff and jitter can be tested
        without waiting and without randomness.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 20.0,
        connect_timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        jitter: float = 0.5,
        min_interval: float = 1.0,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if backoff < 0 or max_backoff < 0 or min_interval < 0:
            raise ValueError("backoff, max_backoff and min_interval must be >= 0")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be within [0, 1], got {jitter}")

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.min_interval = min_interval
        self.user_agent = user_agent
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._last_request_at: float | None = None

        parts = urlsplit(self.base_url)
        scheme = parts.scheme.lower()
        self._file_root: Path | None = None
        self._http: httpx.Client | None = None
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError(f"file:// URLs must name a local path, got {base_url!r}")
            self._file_root = Path(url2pathname(unquote(parts.path)))
        elif scheme in ("http", "https"):
            self._http = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=connect_timeout),
                headers={"User-Agent": user_agent, "Accept": "text/csv, */*;q=0.5"},
                follow_redirects=True,  # the site has moved http -> https before
                transport=transport,
            )
        else:
            raise ValueError(f"base_url must be https://, http:// or file://, got {base_url!r}")

    # ------------------------------------------------------------------ URLs

    @property
    def is_local(self) -> bool:
        """True for a ``file://`` base URL (no network, no rate limit)."""
        return self._file_root is not None

    @staticmethod
    def season_path(league: str, season: str) -> str:
        """Site-relative path of a season file: ``("E0", "2023-24")`` -> ``mmz4281/2324/E0.csv``.

        Validates both parts, so a typo fails here rather than as a confusing 404.
        """
        return f"mmz4281/{season_to_code(season)}/{validate_league(league)}.csv"

    def url_for(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def season_url(self, league: str, season: str) -> str:
        return self.url_for(self.season_path(league, season))

    def fixtures_url(self) -> str:
        return self.url_for(FIXTURES_PATH)

    # ----------------------------------------------------------------- fetch

    def fetch_season(
        self,
        league: str,
        season: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        cached: bytes | None = None,
    ) -> FetchResult:
        """Fetch one league-season CSV (e.g. ``("E0", "2023-24")``).

        Pass ``etag``/``last_modified`` *and* ``cached`` from the previous result to make a
        conditional request; validators without ``cached`` are ignored, because a 304 would leave
        nothing to return.

        Raises :class:`SeasonNotPublished`, :class:`SourceUnavailable` or :class:`SourceError`.
        """
        return self.fetch(
            self.season_path(league, season),
            etag=etag,
            last_modified=last_modified,
            cached=cached,
        )

    def fetch_fixtures(
        self,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        cached: bytes | None = None,
    ) -> FetchResult:
        """Fetch ``fixtures.csv`` (upcoming matches, all leagues). Same contract as
        :meth:`fetch_season`; a missing file is :class:`SeasonNotPublished`."""
        return self.fetch(FIXTURES_PATH, etag=etag, last_modified=last_modified, cached=cached)

    def fetch(
        self,
        path: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        cached: bytes | None = None,
    ) -> FetchResult:
        """Fetch any file by site-relative path (e.g. ``notes.txt``)."""
        if self._file_root is not None:
            return self._fetch_file(path, cached=cached)
        return self._fetch_http(self.url_for(path), etag=etag, last_modified=last_modified, cached=cached)

    # ------------------------------------------------------------------ HTTP

    def _fetch_http(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        cached: bytes | None,
    ) -> FetchResult:
        assert self._http is not None
        headers: dict[str, str] = {}
        if cached is not None:
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified

        total = self.max_retries + 1
        log: list[str] = []
        for attempt in range(1, total + 1):
            self._throttle()
            retry_after: float | None = None
            try:
                response = self._http.get(url, headers=headers)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects) as exc:
                # Configuration problems: retrying cannot help.
                raise SourceError(f"GET {url} failed: {type(exc).__name__}: {exc}", url=url) from exc
            except (httpx.TransportError, httpx.DecodingError) as exc:
                # Timeouts, refused/reset connections, a body cut short (RemoteProtocolError),
                # a corrupt compressed stream: all worth another try.
                problem = self._describe(exc)
            else:
                status = response.status_code
                reason = response.reason_phrase
                if status == 200:
                    truncation = self._truncation(response)
                    if truncation is None:
                        return self._result(
                            response.content, url, status, response, attempt, not_modified=False
                        )
                    problem = truncation
                elif status == 304:
                    if cached is None:
                        raise SourceError(
                            f"GET {url} answered 304 Not Modified to an unconditional request",
                            url=url,
                        )
                    return self._result(
                        cached,
                        url,
                        status,
                        response,
                        attempt,
                        not_modified=True,
                        etag=etag,
                        last_modified=last_modified,
                    )
                elif status in _NOT_PUBLISHED:
                    raise SeasonNotPublished(
                        f"{url} is not published (HTTP {status} {reason}): the season/league "
                        "file does not exist at the source (yet)",
                        url=url,
                    )
                elif status >= 500 or status in _RETRYABLE_4XX:
                    problem = f"HTTP {status} {reason}"
                    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                else:
                    raise SourceError(
                        f"GET {url} answered HTTP {status} {reason}; not retried "
                        "(the server refused the request)",
                        url=url,
                    )

            log.append(f"attempt {attempt}: {problem}")
            if attempt < total:
                delay = self._backoff_delay(attempt, retry_after)
                logger.warning(
                    "GET %s attempt %d/%d failed (%s); retrying in %.2fs",
                    url,
                    attempt,
                    total,
                    problem,
                    delay,
                )
                self._sleep(delay)

        raise SourceUnavailable(
            f"GET {url} failed after {total} attempt{'s' if total != 1 else ''}: " + "; ".join(log),
            url=url,
            attempts=tuple(log),
        )

    def _describe(self, exc: Exception) -> str:
        """One line per failed attempt; timeouts say which limit tripped (httpx just says
        'timed out')."""
        detail = str(exc) or "no detail"
        if isinstance(exc, httpx.ConnectTimeout):
            detail = f"no connection within {self.connect_timeout}s"
        elif isinstance(exc, httpx.TimeoutException):
            detail = f"no data within {self.timeout}s ({detail})"
        return f"{type(exc).__name__}: {detail}"

    @staticmethod
    def _truncation(response: httpx.Response) -> str | None:
        """Describe a body shorter/longer than its ``Content-Length``, else None.

        httpx normally raises ``RemoteProtocolError`` itself when the peer closes early; this is
        the belt to that pair of braces (and covers proxies that mangle framing). Compares raw
        bytes on the wire, so it is correct for gzip-encoded responses too.
        """
        declared = response.headers.get("Content-Length")
        if declared is None or not declared.strip().isdigit():
            return None
        expected = int(declared)
        received = response.num_bytes_downloaded
        if received != expected:
            return f"truncated body: received {received} of {expected} bytes"
        return None

    def _result(
        self,
        content: bytes,
        url: str,
        status: int,
        response: httpx.Response,
        attempts: int,
        *,
        not_modified: bool,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        # A 304 may omit validators; then the ones we sent are still the current ones.
        return FetchResult(
            content=content,
            sha256=_sha256(content),
            url=url,
            status=status,
            etag=response.headers.get("ETag") or etag,
            last_modified=response.headers.get("Last-Modified") or last_modified,
            not_modified=not_modified,
            attempts=attempts,
        )

    def _backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        if self.jitter:
            delay *= 1.0 - self.jitter * self._rng.random()
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff))
        return delay

    def _throttle(self) -> None:
        """Block until ``min_interval`` has passed since the previous request started.

        Holding the lock while sleeping serialises request starts across threads sharing this
        client, which is exactly the point.
        """
        with self._lock:
            now = self._clock()
            if self._last_request_at is not None and self.min_interval > 0:
                wait = self._last_request_at + self.min_interval - now
                if wait > 0:
                    self._sleep(wait)
                    now = self._clock()
            self._last_request_at = now

    # ------------------------------------------------------------------ file

    def _fetch_file(self, path: str, *, cached: bytes | None) -> FetchResult:
        """Read a file from the local snapshot, mimicking the HTTP contract.

        ``status`` is synthesised (200, or 304 when ``cached`` equals the file) and the validators
        are a content-hash ETag and the file's mtime, so callers need no special case.
        """
        assert self._file_root is not None
        rel = path.lstrip("/")
        file = self._file_root / rel
        url = self.url_for(rel)
        try:
            content = file.read_bytes()
            mtime = file.stat().st_mtime
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise SeasonNotPublished(
                f"{url} is not published: no such file {file} in the local snapshot", url=url
            ) from exc
        except OSError as exc:
            raise SourceError(f"cannot read {file}: {exc}", url=url) from exc
        digest = _sha256(content)
        not_modified = cached is not None and _sha256(cached) == digest
        return FetchResult(
            content=cached if not_modified and cached is not None else content,
            sha256=digest,
            url=url,
            status=304 if not_modified else 200,
            etag=f'"{digest}"',
            last_modified=formatdate(mtime, usegmt=True),
            not_modified=not_modified,
            attempts=1,
        )

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Release pooled connections. Idempotent."""
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> FootballDataClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"FootballDataClient({self.base_url!r}, timeout={self.timeout}, "
            f"max_retries={self.max_retries}, min_interval={self.min_interval})"
        )
