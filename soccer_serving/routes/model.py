"""``GET /v1/model`` (the served models and the registry's view) and ``POST /v1/model/reload``."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends

from soccer_serving.deps import SettingsDep, StateDep, require_api_key
from soccer_serving.errors import AUTH_ERRORS, COMMON_ERRORS

router = APIRouter()


@router.get("/v1/model", tags=["model"], summary="The served models and the registry's view")
async def model_info(state: StateDep, settings: SettingsDep) -> dict[str, Any]:
    return {"alias": settings.model_alias, "variants": state.models.describe()}


@router.post(
    "/v1/model/reload",
    tags=["model"],
    responses={**COMMON_ERRORS, **AUTH_ERRORS},
    dependencies=[Depends(require_api_key)],
    summary="Check the registry now (admin)",
)
async def model_reload(state: StateDep, settings: SettingsDep) -> dict[str, Any]:
    await anyio.to_thread.run_sync(state.models.refresh)
    return {"alias": settings.model_alias, "variants": state.models.describe()}
