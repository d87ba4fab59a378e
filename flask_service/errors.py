"""The API's error bodies: every error is `{"detail": ...}` JSON, whichever part of the stack raised it."""

from typing import Any

from flask import Flask
from flask_restx import Api
from werkzeug.exceptions import HTTPException

from flask_service.contract import detail_of
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
    return {"detail": INTERNAL_SERVER_ERROR}, 500


def register_error_handlers(app: Flask, api: Api) -> None:
    # restx answers errors as {"message": ...} and adds hints to 404s; the contract says {"detail": ...}.
    app.config.update(ERROR_INCLUDE_MESSAGE=False, RESTX_ERROR_404_HELP=False, RESTX_MASK_SWAGGER=False)
    api.errorhandler(HTTPException)(http_error)
    api.errorhandler(UpstreamError)(upstream_error)
    api.errorhandler(Exception)(server_error)
    # Outside restx's resources (its root URL, the docs pages, static files) Flask's own handlers answer.
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, server_error)
