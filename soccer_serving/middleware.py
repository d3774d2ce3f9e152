"""Pure-ASGI middleware: request id, body-size limit (413) and request metrics."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soccer_serving.metrics import ApiMetrics

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def error_json(status: int, code: str, message: str, request_id: str | None) -> bytes:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "suggestions": [],
                                      "request_id": request_id}}
    return json.dumps(body).encode()


class ServingMiddleware:
    """Sets ``scope["state"]["request_id"]`` (from ``X-Request-ID`` or new), echoes it in the
    response, refuses bodies over ``max_body_bytes`` with 413 before the app sees them, and records
    count and latency per (method, route template, status)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, max_body_bytes: int):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = ""
        declared: str | None = None
        for k, v in scope.get("headers", ()):  # only the two headers this reads: no dict per request
            name = k.lower()
            if name == b"x-request-id":
                rid = v.decode("latin-1")
            elif name == b"content-length":
                declared = v.decode("latin-1")
        if not _REQUEST_ID.match(rid):
            rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status = [500]
        method = scope.get("method", "GET")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                hdrs = list(message.get("headers", []))
                hdrs.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": hdrs}
            await send(message)

        try:
            if method in _BODY_METHODS:
                refused = await self._read_body(receive, declared)
                if isinstance(refused, tuple):
                    code, msg = refused
                    await self._reply(send_wrapper, code, msg, rid)
                    return
                body = refused
                sent = False

                async def replay() -> Message:
                    nonlocal sent
                    if not sent:
                        sent = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(method, path, status[0], time.perf_counter() - start)

    async def _read_body(self, receive: Receive, declared: str | None) -> bytes | tuple[int, str]:
        limit = self.max_body_bytes
        if declared is not None:
            if not declared.isdigit():
                return (400, "invalid Content-Length")
            if int(declared) > limit:
                return (413, f"request body exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return (400, "client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return (413, f"request body exceeds {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _reply(send: Send, status: int, message: str, rid: str) -> None:
        code = "payload_too_large" if status == 413 else "bad_request"
        body = error_json(status, code, message, rid)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
