"""The contract's error bodies, and the body guard that refuses non-JSON (415) and oversized (413) bodies."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import (
    INTERNAL_SERVER_ERROR,
    UNSUPPORTED_MEDIA_TYPE,
    is_json_media_type,
    payload_too_large,
    request_head_problem,
)
from shared.json_body import parse_json_body
from shared.upstream import UpstreamError


class LimitedRequest(Request):
    """Reads at most `max_body_bytes`, whether the client declared a length or streamed in chunks, and
    parses JSON as the Flask service does (FastAPI turns a JSONDecodeError into the contract's 422)."""

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

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


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


class RequestHeadLimits:
    """414 or 431 for an oversized request target or headers, before routing, as the Flask service does.

    A pure ASGI middleware: Starlette's BaseHTTPMiddleware would cost every request far more.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
            target_bytes = len(scope["path"].encode()) + len(scope["query_string"])
            problem = request_head_problem(target_bytes, headers)
            if problem is not None:
                status, detail = problem
                await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    app.add_middleware(RequestHeadLimits)
