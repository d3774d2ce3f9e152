"""HTTP transport of the source client: one file per call, politely and with bounded retries.

* Transient faults (5xx, 408/429, connection errors, timeouts, a body shorter than its
  ``Content-Length``) are retried a bounded number of times with exponential backoff (raised to a
  ``Retry-After`` header, capped); when the retries are exhausted :class:`SourceUnavailable` says
  what happened on every attempt.
* A 404/410 is :class:`SeasonNotPublished` and is *not* retried: a season or league that does not
  exist yet is an expected, permanent answer, not a fault.
* Any other 4xx is a plain :class:`SourceError` and is not retried either (retrying a refusal is
  impolite and never helps).
* Conditional requests: given the validators and the bytes stored from the previous fetch, a 304
  comes back as those bytes with ``not_modified=True``, so callers always get content.
* Limits: a body over ``max_bytes`` is refused (not retried; a season file is ~250 kB, an
  all-seasons ``new/<CODE>.csv`` a few MB); the attempts of one fetch stop once ``deadline``
  seconds have passed; a redirect is followed only to the same host, and only to ``https://`` or
  the scheme asked for (``http://`` -> ``https://`` is how the site moved), at most
  ``MAX_REDIRECTS`` times.
* Requests are spaced at least ``min_interval`` seconds apart per transport, retries included (the
  site is run by one person; hammering it with a dozen partitions at once is rude and gets you
  blocked).

Plain Python, no Dagster; :class:`~soccer_assets.sources.client.FootballDataClient` owns one
``HttpTransport`` per ``http(s)://`` base URL and documents the parameters.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from soccer_assets.sources.errors import SeasonNotPublished, SourceError, SourceUnavailable
from soccer_assets.sources.result import FetchResult, sha256_hex

__all__ = ["HttpTransport", "parse_retry_after"]

# The client's logger, as before the transport had a module of its own.
logger = logging.getLogger("soccer_assets.sources.client")

# 404/410: the file does not exist (yet). Answered permanently, never retried.
_NOT_PUBLISHED = frozenset({404, 410})
# 408 Request Timeout and 429 Too Many Requests are 4xx but are explicitly "try again later".
_RETRYABLE_4XX = frozenset({408, 429})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_DEADLINE = 300.0


def redirect_refusal(asked: str, target: str) -> str | None:
    """Why a redirect from ``asked`` to ``target`` is not followed, or None if it may be."""
    a, t = urlsplit(asked), urlsplit(target)
    if (t.hostname or "").lower() != (a.hostname or "").lower():
        return f"it leads to another host ({t.hostname})"
    if t.scheme.lower() not in ("https", a.scheme.lower()):
        return f"it leaves https for {t.scheme}://"
    if t.scheme.lower() == a.scheme.lower() and t.port != a.port:
        return f"it leads to another port ({t.port})"
    return None


def parse_retry_after(value: str | None) -> float | None:
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


class HttpTransport:
    """GETs files with the retry, backoff, conditional-request and rate-limit rules above."""

    def __init__(
        self,
        *,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        backoff: float,
        max_backoff: float,
        jitter: float,
        min_interval: float,
        user_agent: str,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random | None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if max_bytes <= 0 or deadline <= 0:
            raise ValueError("max_bytes and deadline must be positive")
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._last_request_at: float | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"User-Agent": user_agent, "Accept": "text/csv, */*;q=0.5"},
            follow_redirects=False,  # followed by hand, same host only (_send)
            transport=transport,
        )

    def get(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        cached: bytes | None,
    ) -> FetchResult:
        """GET ``url``; conditional when ``cached`` is given with a validator."""
        headers: dict[str, str] = {}
        if cached is not None:
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified

        total = self.max_retries + 1
        log: list[str] = []
        started = self._clock()
        for attempt in range(1, total + 1):
            if attempt > 1 and self._clock() - started >= self.deadline:
                log.append(f"stopped: the fetch's deadline of {self.deadline:g}s has passed")
                total = attempt - 1
                break
            self._throttle()
            retry_after: float | None = None
            try:
                response, body = self._send(url, headers)
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
                        return self._result(body, url, status, response, attempt, not_modified=False)
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
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
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

    def _send(self, url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        """One GET, redirects followed by the rules above; the body is read (capped) only for a 200."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            with self._http.stream("GET", current, headers=headers) as response:
                location = response.headers.get("Location")
                if response.status_code in _REDIRECTS and location:
                    target = urljoin(current, location)
                    refusal = redirect_refusal(url, target)
                    if refusal is not None:
                        raise SourceError(f"GET {url} redirected to {target}: not followed, {refusal}",
                                          url=url)
                    current = target
                    continue
                body = self._read_capped(response, url) if response.status_code == 200 else b""
                return response, body
        raise SourceError(f"GET {url} redirected more than {MAX_REDIRECTS} times", url=url)

    def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise SourceError(f"GET {url}: the file is {int(declared):,} bytes, over the limit of "
                              f"{self.max_bytes:,}; refused", url=url)
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                raise SourceError(f"GET {url}: the body passed the limit of {self.max_bytes:,} bytes; "
                                  "refused", url=url)
        return bytes(body)

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
            sha256=sha256_hex(content),
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

    def close(self) -> None:
        """Release pooled connections. Idempotent."""
        self._http.close()
