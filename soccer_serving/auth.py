"""API keys (header ``X-API-Key``): client and admin keys, kept and compared as SHA-256 digests.

Fails closed: a protected route with no key configured answers 403 unless auth is explicitly
disabled (``SOCCER_AUTH_DISABLED=true``, for local use; ``/ready`` says so). Client keys
(``SOCCER_API_KEYS``) open the job routes (and the predict routes with ``SOCCER_PROTECT_PREDICT``);
admin keys (``SOCCER_ADMIN_API_KEYS``) open those and the admin routes (``/v1/model/reload``).
A key is configured as itself or as ``sha256:<hex digest>``, so a deployment's secret need not hold
the key; either way only the digest stays in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.security import APIKeyHeader

from soccer_serving.keys import DIGEST_PREFIX, key_digest, key_is_valid, parse_keys

if TYPE_CHECKING:  # pragma: no cover
    from soccer_serving.settings import ServingSettings

__all__ = ["API_KEY_HEADER", "DIGEST_PREFIX", "access_denied", "api_key_scheme", "key_digest",
           "key_is_valid", "parse_keys"]

API_KEY_HEADER = "X-API-Key"

# auto_error=False: the dependency decides, and OpenAPI still documents the scheme.
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey")


def access_denied(settings: ServingSettings, presented: str | None, *, admin: bool = False
                  ) -> tuple[int, str, str] | None:
    """None if the key may use the route, else ``(status, code, message)`` of the refusal."""
    if settings.auth_disabled:
        return None
    keys = settings.admin_key_list() if admin else settings.api_key_list()
    if not keys:
        what = "no admin key is configured (SOCCER_ADMIN_API_KEYS)" if admin else (
            "no API key is configured (SOCCER_API_KEYS, SOCCER_ADMIN_API_KEYS)")
        return (403, "auth_not_configured",
                f"{what}: this route is closed; configure keys, or set SOCCER_AUTH_DISABLED=true "
                "for local use only")
    if key_is_valid(presented, keys):
        return None
    if admin and key_is_valid(presented, settings.api_key_list()):
        return (403, "admin_key_required", "this route needs an admin key (SOCCER_ADMIN_API_KEYS)")
    return (401, "unauthorized", "missing or invalid API key (header X-API-Key)")
