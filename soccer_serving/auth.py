"""Optional API keys (header ``X-API-Key``), compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi.security import APIKeyHeader

API_KEY_HEADER = "X-API-Key"

# auto_error=False: the dependency decides (no keys configured = open), and OpenAPI still
# documents the scheme.
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey")


def key_is_valid(presented: str | None, keys: Sequence[str]) -> bool:
    """True if ``presented`` equals one of ``keys``.

    Every configured key is compared with ``hmac.compare_digest`` (no early exit), so neither the
    position of a matching key nor the length of a common prefix shows in the timing.
    """
    if not keys:
        return True
    if presented is None:
        return False
    candidate = presented.encode("utf-8", "surrogateescape")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(candidate, key.encode("utf-8"))
    return ok
