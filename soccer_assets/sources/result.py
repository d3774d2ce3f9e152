"""The outcome of a successful fetch: the bytes, their sha256 and the validators to send next time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["FetchResult", "sha256_hex"]


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
