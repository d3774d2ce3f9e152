"""What can go wrong when asking the source for a file.

``SeasonNotPublished`` is an expected, permanent answer (a season or league that does not exist
yet); ``SourceUnavailable`` is a transient fault that outlived every retry; anything else (a
refusal, a misconfigured URL, an unreadable local file) is a plain ``SourceError``. None of them
is retried by the caller: the client already retried what is worth retrying.
"""

from __future__ import annotations

__all__ = ["SeasonNotPublished", "SourceError", "SourceUnavailable"]


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
