"""FastAPI dependencies of the routes: the settings, the shared state and the API-key check.

Each reads ``request.app.state`` (set by ``create_app``), so a test can replace any of them with
``app.dependency_overrides[get_state] = ...``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security

from soccer_serving.auth import api_key_scheme, key_is_valid
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
    """401 unless ``X-API-Key`` is one of ``SOCCER_API_KEYS``; open when no key is configured.

    One key set for every protected route: the job routes and ``/v1/model/reload`` always, the
    predict routes when ``SOCCER_PROTECT_PREDICT`` is set.
    """
    keys = settings.api_key_list()
    if keys and not key_is_valid(api_key, keys):
        raise ApiError(401, "unauthorized", "missing or invalid API key (header X-API-Key)",
                       headers={"WWW-Authenticate": "ApiKey"})
