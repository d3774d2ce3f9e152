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

Behaviour that matters to callers (the HTTP rules live in ``transport.py``, ``file://`` reads in
``local.py``, the site's layout in ``layout.py``, the errors in ``errors.py``; ``fetch.py`` loops
over league-seasons):

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

import random
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from soccer_assets.sources.errors import SeasonNotPublished, SourceError, SourceUnavailable
from soccer_assets.sources.layout import (
    DEFAULT_BASE_URL,
    FIXTURES_PATH,
    is_extra_league,
    join_url,
    league_file_path,
)
from soccer_assets.sources.layout import season_path as _season_path
from soccer_assets.sources.league_file import split_league_file
from soccer_assets.sources.local import read_local
from soccer_assets.sources.location import file_url_path
from soccer_assets.sources.parser import ParseError
from soccer_assets.sources.result import FetchResult, sha256_hex
from soccer_assets.sources.transport import DEFAULT_DEADLINE, DEFAULT_MAX_BYTES, HttpTransport

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_USER_AGENT",
    "FIXTURES_PATH",
    "FetchResult",
    "FootballDataClient",
    "SeasonNotPublished",
    "SourceError",
    "SourceUnavailable",
]

DEFAULT_USER_AGENT = (
    "soccer-predict/0.1 (football match-outcome research pipeline; "
    "fetches season CSVs at most about once per second; python-httpx)"
)


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
    max_bytes:
        Largest body accepted (50 MB); a bigger file is refused, not retried.
    deadline:
        Seconds after which no further attempt of one fetch starts (300 s; retries and backoff
        included).
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
        max_bytes: int = DEFAULT_MAX_BYTES,
        deadline: float = DEFAULT_DEADLINE,
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

        scheme = urlsplit(self.base_url).scheme.lower()
        # new/<CODE>.csv is fetched once per client and serves every season of its league.
        self._league_files: dict[str, tuple[FetchResult, dict[str, bytes]]] = {}
        self._file_root: Path | None = None
        self._http: HttpTransport | None = None
        if scheme == "file":
            self._file_root = file_url_path(self.base_url)
        elif scheme in ("http", "https"):
            self._http = HttpTransport(
                timeout=timeout,
                connect_timeout=connect_timeout,
                max_retries=max_retries,
                backoff=backoff,
                max_backoff=max_backoff,
                jitter=jitter,
                min_interval=min_interval,
                user_agent=user_agent,
                transport=transport,
                clock=clock,
                sleep=sleep,
                rng=rng,
                max_bytes=max_bytes,
                deadline=deadline,
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
        return _season_path(league, season)

    def url_for(self, path: str) -> str:
        return join_url(self.base_url, path)

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

        An extra league's season (``("ARG", "2025")``) is cut from ``new/<CODE>.csv``, fetched once
        per client (:func:`soccer_assets.sources.league_file.split_league_file`): the result holds
        the header and that season's lines, and no validators (they belong to the whole file). A
        season the file does not hold is :class:`SeasonNotPublished`.

        Raises :class:`SeasonNotPublished`, :class:`SourceUnavailable` or :class:`SourceError`.
        """
        if is_extra_league(league):
            return self._league_file_season(league, season)
        return self.fetch(
            self.season_path(league, season),
            etag=etag,
            last_modified=last_modified,
            cached=cached,
        )

    def league_file_seasons(self, league: str) -> list[str]:
        """The seasons an extra league's ``new/<CODE>.csv`` holds, in order (fetches it once)."""
        self._league_file(league)
        return list(self._league_files[league][1])

    def _league_file_season(self, league: str, season: str) -> FetchResult:
        whole, seasons = self._league_file(league)
        if season not in seasons:
            raise SeasonNotPublished(f"{whole.url} has no season {season} (it has {', '.join(seasons)})",
                                     url=whole.url)
        content = seasons[season]
        return FetchResult(content=content, sha256=sha256_hex(content), url=whole.url, status=whole.status,
                           etag=None, last_modified=None, not_modified=False, attempts=whole.attempts)

    def _league_file(self, league: str) -> tuple[FetchResult, dict[str, bytes]]:
        path = league_file_path(league)
        if league not in self._league_files:
            whole = self.fetch(path)
            try:
                seasons = split_league_file(whole.content)
            except ParseError as exc:
                raise SourceError(f"{whole.url} is not a valid all-seasons file: {exc}",
                                  url=whole.url) from exc
            self._league_files[league] = whole, seasons
        return self._league_files[league]

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
            rel = path.lstrip("/")
            return read_local(self._file_root / rel, self.url_for(rel), cached=cached)
        assert self._http is not None
        return self._http.get(self.url_for(path), etag=etag, last_modified=last_modified, cached=cached)

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
        if self._http is None:
            return f"FootballDataClient({self.base_url!r})"
        # The HTTP settings live once, on the transport that uses them.
        http = self._http
        return (
            f"FootballDataClient({self.base_url!r}, timeout={http.timeout}, "
            f"max_retries={http.max_retries}, min_interval={http.min_interval})"
        )
