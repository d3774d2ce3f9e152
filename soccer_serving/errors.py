"""API errors: :class:`ApiError`, the ``{"error": {...}}`` body and the exception handlers.

Every error the API answers (its own, HTTP errors, an unreachable warehouse, anything unexpected)
has the body ``ErrorResponse`` with a request id; 422 validation errors keep FastAPI's ``detail``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from soccer_serving.predictor import PredictionError
from soccer_serving.registry import short_error
from soccer_serving.schemas import ErrorBody, ErrorResponse, ValidationErrorResponse

# The API's logger keeps the name it had when the API was one module, so log queries keep matching.
logger = logging.getLogger("soccer_serving.app")


class ApiError(Exception):
    """An error answered as ``{"error": {...}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, suggestions: list[str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.suggestions = suggestions or []
        self.headers = headers

    @classmethod
    def from_prediction(cls, exc: PredictionError) -> ApiError:
        return cls(exc.status, exc.code, exc.message, exc.suggestions)


class BrokerUnavailable(RuntimeError):
    """The job queue (Redis) refused a job; nothing was stored."""


def warehouse_unavailable() -> ApiError:
    return ApiError(503, "warehouse_unavailable", "the warehouse is not reachable")


# -- OpenAPI documentation of the error answers ----------------------------------------------
def err(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: err("Body that cannot be read (not UTF-8 / JSON, bad Content-Length)."),
    413: err("Request body larger than SOCCER_MAX_BODY_BYTES."),
    500: err("Unexpected error; the body carries a request id to quote, never a stack trace."),
}
def unprocessable(description: str) -> dict[int | str, dict[str, Any]]:
    """A 422 that is either a body that does not validate (``detail``) or a business refusal of a
    valid body (``error``: ``description`` names its codes)."""
    return {422: {"model": ValidationErrorResponse | ErrorResponse,
                  "description": f"The body does not validate (`detail` names the fields), or {description}"}}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: err("Missing or wrong X-API-Key."),
    403: err("`auth_not_configured`: no key is configured for the route (it fails closed); "
             "`admin_key_required`: a client key on an admin route."),
}


# -- bodies and handlers ----------------------------------------------------------------------
def request_id(request: Request) -> str:
    """The id the middleware gave the request (a fresh one outside it)."""
    return str(request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex)


def error_response(request: Request, status: int, code: str, message: str,
                   suggestions: list[str] | None = None, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    rid = request_id(request)
    body = ErrorResponse(error=ErrorBody(code=code, message=message, suggestions=suggestions or [],
                                         request_id=rid))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.suggestions, exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(request, exc.status_code, f"http_{exc.status_code}", str(exc.detail),
                          headers=getattr(exc, "headers", None))


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("warehouse error on %s: %s", request.url.path, short_error(exc))
    return error_response(request, 503, "warehouse_unavailable", "the warehouse is not reachable")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id(request)
    logger.exception("unhandled error (request_id=%s)", rid)
    return error_response(request, 500, "internal_error", f"internal error; quote request id {rid}",
                          headers={"x-request-id": rid})


def add_exception_handlers(app: FastAPI) -> None:
    """Answer every error with the error body (a 503 for an unreachable warehouse, never a 500)."""
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _db_error)
    app.add_exception_handler(OperationalError, _db_error)
    app.add_exception_handler(Exception, _unexpected)
