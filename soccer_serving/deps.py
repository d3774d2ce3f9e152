"""FastAPI dependencies of the routes: the settings, the shared state and the API-key check.

Each reads ``request.app.state`` (set by ``create_app``), so a test can replace any of them with
``app.dependency_overrides[get_state] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security

from soccer_serving.auth import access_denied, api_key_scheme
from soccer_serving.errors import ApiError
from soccer_serving.settings import ServingSettings
from soccer_serving.state import ServingState


# ``async def`` although nothing here awaits: FastAPI runs a plain ``def`` dependency in the
# threadpool, a thread hop per dependency per request for a dictionary lookup.
async def get_settings(request: Request) -> ServingSettings:
    """The settings the app was built with."""
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_state(request: Request) -> ServingState:
    """The app's :class:`ServingState` (models, predictor, warehouse, broker, metrics)."""
    return request.app.state.serving  # type: ignore[no-any-return]


SettingsDep = Annotated[ServingSettings, Depends(get_settings)]
StateDep = Annotated[ServingState, Depends(get_state)]


async def require_api_key(
    settings: SettingsDep, api_key: Annotated[str | None, Security(api_key_scheme)] = None
) -> None:
    """401 unless ``X-API-Key`` is a client or admin key; 403 when no key is configured (fails
    closed) unless ``SOCCER_AUTH_DISABLED``. Used by the job routes, and by the predict routes
    with ``SOCCER_PROTECT_PREDICT``."""
    _check(settings, api_key, admin=False)


async def require_admin_key(
    settings: SettingsDep, api_key: Annotated[str | None, Security(api_key_scheme)] = None
) -> None:
    """As :func:`require_api_key`, for admin keys only (a client key gets 403)."""
    _check(settings, api_key, admin=True)


def _check(settings: ServingSettings, api_key: str | None, *, admin: bool) -> None:
    denied = access_denied(settings, api_key, admin=admin)
    if denied is not None:
        status, code, message = denied
        raise ApiError(status, code, message,
                       headers={"WWW-Authenticate": "ApiKey"} if status == 401 else None)
