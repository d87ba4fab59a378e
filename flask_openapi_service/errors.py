"""The API's error bodies: every error is `{"detail": ...}` JSON, whichever part of the stack raised it."""

import sys
from typing import Any

from flask import current_app
from flask_openapi3 import OpenAPI
from werkzeug.exceptions import HTTPException

from flask_openapi_service.contract import detail_of
from shared.errors import INTERNAL_SERVER_ERROR
from shared.upstream import UpstreamError

Body = dict[str, Any]


def http_error(exc: HTTPException) -> tuple[Body, int, dict[str, str]]:
    """404, 405, 413, 415: `{"detail": str}`, with the exception's headers (Allow, for a 405)."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return {"detail": detail_of(exc)}, exc.code or 500, headers


def upstream_error(exc: UpstreamError) -> tuple[Body, int]:
    """404, 502, 503 or 504 from the upstream observation service: `{"detail": str}`."""
    return {"detail": exc.detail}, exc.status


def server_error(exc: Exception) -> tuple[Body, int]:
    """500 without a traceback, path or exception text; the exception is still logged."""
    # Flask logs an exception only when no handler takes it; this one does, so it logs it as Flask would.
    current_app.log_exception(sys.exc_info())
    return {"detail": INTERNAL_SERVER_ERROR}, 500


def register_error_handlers(app: OpenAPI) -> None:
    handlers: dict[Any, Any] = {
        HTTPException: http_error,
        UpstreamError: upstream_error,
        Exception: server_error,
    }
    for exc_class, handler in handlers.items():
        app.register_error_handler(exc_class, handler)
