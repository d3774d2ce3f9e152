"""API-key digests: a key is configured as itself or as ``sha256:<hex>`` and kept only as the digest.

Pure (no FastAPI, no settings) so that both the settings and the auth dependency use it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def key_digest(key: str) -> str:
    """``sha256:<hex>`` of a key (what is configured, kept and compared)."""
    return DIGEST_PREFIX + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def parse_keys(configured: str) -> tuple[str, ...]:
    """Comma-separated keys or ``sha256:`` digests → digests (a key is never kept as given)."""
    out = []
    for raw in configured.split(","):
        k = raw.strip()
        if k:
            out.append(k.lower() if _DIGEST.match(k.lower()) else key_digest(k))
    return tuple(out)


def key_is_valid(presented: str | None, digests: Sequence[str]) -> bool:
    """True if ``presented`` is one of the keys whose digests are ``digests``.

    Every configured digest is compared with ``hmac.compare_digest`` (no early exit), so neither the
    position of a matching key nor a common prefix shows in the timing. No keys: nothing is valid.
    """
    if presented is None or not digests:
        return False
    candidate = key_digest(presented).encode()
    ok = False
    for digest in digests:
        ok |= hmac.compare_digest(candidate, digest.encode())
    return ok
