"""The contract's error bodies, and the body guard that refuses non-JSON (415) and oversized (413) bodies."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import (
    INTERNAL_SERVER_ERROR,
    UNSUPPORTED_MEDIA_TYPE,
    is_json_media_type,
    payload_too_large,
)
from shared.upstream import UpstreamError


class LimitedRequest(Request):
    """Reads at most `max_body_bytes`, whether the client declared a length or streamed in chunks."""

    max_body_bytes: int

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                raise HTTPException(413, payload_too_large(self.max_body_bytes))
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise HTTPException(413, payload_too_large(self.max_body_bytes))
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class JSONBodyRoute(APIRoute):
    """A route whose body, if it takes one, must be JSON and within the size limit, checked before parsing.

    FastAPI's documented way to customise request handling per route: https://fastapi.tiangolo.com/how-to/custom-request-and-route/
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def guarded_handler(request: Request) -> Response:
            if not is_json_media_type(request.headers.get("content-type")):
                raise HTTPException(415, UNSUPPORTED_MEDIA_TYPE)
            limited = LimitedRequest(request.scope, request.receive)
            limited.max_body_bytes = request.app.state.settings.max_body_bytes
            return await handler(limited)

        return guarded_handler


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with loc, msg and type only: FastAPI's default echoes the input, and fails on NaN."""
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """404, 405, 413, 415: `{"detail": str}`, with the exception's headers (Allow, for a 405)."""
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def upstream_error(request: Request, exc: UpstreamError) -> JSONResponse:
    """404, 503 or 504 from the upstream observation service: `{"detail": str}`."""
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """500 without a traceback, path or exception text; the server still logs the exception."""
    return JSONResponse({"detail": INTERNAL_SERVER_ERROR}, status_code=500)


def register_error_handlers(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        RequestValidationError: validation_error,
        StarletteHTTPException: http_error,
        UpstreamError: upstream_error,
        Exception: server_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
