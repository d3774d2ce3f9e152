"""``GET /healthcheck`` (liveness), ``GET /ready`` (readiness) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from soccer_serving.auth import access_denied, api_key_scheme
from soccer_serving.deps import SettingsDep, StateDep
from soccer_serving.registry import without_locations
from soccer_serving.schemas import ReadyResponse

router = APIRouter()


@router.get("/healthcheck", tags=["ops"], summary="Liveness")
async def healthcheck() -> dict[str, str]:
    return {"status": "ok", "time": dt.datetime.now(dt.UTC).isoformat()}


@router.get(
    "/ready",
    tags=["ops"],
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "Not ready; `checks` says why."}},
    summary="Readiness: a model is loaded, warehouse and Redis answer",
)
async def ready(
    state: StateDep, settings: SettingsDep, api_key: Annotated[str | None, Security(api_key_scheme)] = None
) -> JSONResponse:
    """Open to anyone (probes); error texts name hosts and ports only for a caller with a client or
    admin key (or with auth disabled)."""
    ok, checks = await run_in_threadpool(state.readiness)
    if access_denied(settings, api_key) is not None:
        checks = without_locations(checks)
    return JSONResponse(ReadyResponse(ready=ok, checks=checks).model_dump(mode="json"),
                        status_code=200 if ok else 503)


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition"}})
async def metrics(state: StateDep) -> Response:
    data = await run_in_threadpool(generate_latest, state.metrics.registry)
    return Response(content=data, media_type=CONTENT_TYPE_LATEST)
