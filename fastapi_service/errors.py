"""The API's error bodies: every error is `{"detail": ...}` JSON, whichever part of the stack raised it."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shared.errors import INTERNAL_SERVER_ERROR
from shared.upstream import UpstreamError


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """404, 405, 413, 415: `{"detail": str}`, with the exception's headers (Allow, for a 405)."""
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def upstream_error(request: Request, exc: UpstreamError) -> JSONResponse:
    """404, 502, 503 or 504 from the upstream observation service: `{"detail": str}`."""
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """500 without a traceback, path or exception text; the exception is still logged."""
    return JSONResponse({"detail": INTERNAL_SERVER_ERROR}, status_code=500)


def register_error_handlers(app: FastAPI) -> None:
    handlers: dict[Any, Any] = {
        HTTPException: http_error,
        UpstreamError: upstream_error,
        Exception: server_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
