"""``GET /v1/model`` (the served models and the registry's view) and ``POST /v1/model/reload``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from soccer_serving.auth import API_KEY_HEADER, access_denied
from soccer_serving.deps import SettingsDep, StateDep, require_admin_key
from soccer_serving.errors import AUTH_ERRORS, COMMON_ERRORS, err
from soccer_serving.registry import without_locations

router = APIRouter()


@router.get("/v1/model", tags=["model"], summary="The served models and the registry's view")
async def model_info(
    state: StateDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """Open to anyone; error texts name hosts and ports only for a caller with a key."""
    variants = state.models.describe()
    # The key is read, not required: a Security dependency would document these open routes as
    # protected in OpenAPI.
    if access_denied(settings, request.headers.get(API_KEY_HEADER)) is not None:
        variants = without_locations(variants)
    return {"alias": settings.model_alias, "variants": variants}


@router.post(
    "/v1/model/reload",
    tags=["model"],
    responses={**COMMON_ERRORS, **AUTH_ERRORS,
               429: err("`reload_too_soon`: the registry was checked less than "
                        "SOCCER_RELOAD_MIN_INTERVAL_SECONDS ago; `Retry-After` says when to retry.")},
    dependencies=[Depends(require_admin_key)],
    summary="Check the registry now (admin)",
)
async def model_reload(state: StateDep, settings: SettingsDep) -> dict[str, Any]:
    await state.reload_models()
    return {"alias": settings.model_alias, "variants": state.models.describe()}
