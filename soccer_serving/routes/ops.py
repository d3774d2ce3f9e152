"""``GET /healthcheck`` (liveness), ``GET /ready`` (readiness) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from soccer_serving.auth import API_KEY_HEADER, access_denied
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
    state: StateDep, settings: SettingsDep, request: Request
) -> JSONResponse:
    """Open to anyone (probes); error texts name hosts and ports only for a caller with a client or
    admin key (or with auth disabled)."""
    ok, checks = await run_in_threadpool(state.readiness)
    # The key is read, not required: a Security dependency would document these open routes as
    # protected in OpenAPI.
    if access_denied(settings, request.headers.get(API_KEY_HEADER)) is not None:
        checks = without_locations(checks)
    return JSONResponse(ReadyResponse(ready=ok, checks=checks).model_dump(mode="json"),
                        status_code=200 if ok else 503)


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition"}})
async def metrics(state: StateDep) -> Response:
    data = await run_in_threadpool(generate_latest, state.metrics.registry)
    return Response(content=data, media_type=CONTENT_TYPE_LATEST)
