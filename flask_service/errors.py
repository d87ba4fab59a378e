"""The contract's error bodies, and the body guard that refuses non-JSON (415) and oversized (413) bodies.

Flask has no request-validation error of its own: `RequestValidationError` plays the part of FastAPI's, and
`load_json_body` does what FastAPI does before calling a view (parse JSON, validate, collect every error).
"""

import json
from typing import Any

from flask import Flask, current_app, request
from flask_restx import Api
from marshmallow import Schema, ValidationError
from marshmallow import fields as ma
from werkzeug.exceptions import (
    HTTPException,
    NotFound,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestURITooLarge,
    UnsupportedMediaType,
)

from shared.errors import (
    INTERNAL_SERVER_ERROR,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    error_item,
    is_json_media_type,
    payload_too_large,
    request_head_problem,
)
from shared.json_body import parse_json_body
from shared.upstream import UpstreamError

Body = dict[str, Any]


class RequestValidationError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def flatten(messages: Any, loc: list[str | int], data: Any = None) -> list[dict[str, Any]]:
    """marshmallow's nested {field: [error, ...]} into the contract's flat list, in pydantic's order.

    Declared fields come in field order from marshmallow already; unknown fields come in the order of a set,
    which changes from process to process, so they are put back in the order the client sent them.
    """
    if isinstance(messages, list):
        return [{"loc": loc, **error} for error in messages]
    keys = list(messages)
    unknown = [i for i, key in enumerate(keys) if is_unknown_field(messages[key])]
    if isinstance(data, dict):
        position = {key: i for i, key in enumerate(data)}
        in_input_order = sorted((keys[i] for i in unknown), key=lambda key: position.get(key, 0))
        for i, key in zip(unknown, in_input_order, strict=True):
            keys[i] = key
    errors = []
    for key in keys:
        nested_data = data if key == "_schema" else item_of(data, key)
        errors.extend(flatten(messages[key], loc if key == "_schema" else [*loc, key], nested_data))
    return errors


def is_unknown_field(messages: Any) -> bool:
    return isinstance(messages, list) and [error.get("type") for error in messages] == ["extra_forbidden"]


def item_of(data: Any, key: Any) -> Any:
    """The part of the input an error is about, when there is one (a list item or an object member)."""
    if isinstance(data, dict):
        return data.get(key)
    if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return None


def load_json_body(schema: Schema) -> dict[str, Any]:
    """The request body, parsed and validated, or a 415, 413 or 422 with every problem at once."""
    if not is_json_media_type(request.content_type):
        raise UnsupportedMediaType(UNSUPPORTED_MEDIA_TYPE)
    raw = request.get_data(cache=False)  # werkzeug raises 413 past a declared MAX_CONTENT_LENGTH
    if request.content_length is None and len(raw) >= current_app.config["MAX_CONTENT_LENGTH"]:
        # A chunked body is cut at the limit without an error; a body of exactly the limit is refused too.
        raise RequestEntityTooLarge()
    if not raw:
        raise RequestValidationError([error_item(["body"], "missing")])
    try:
        payload = parse_json_body(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([error_item(["body", exc.pos], "json_invalid")]) from None
    try:
        loaded: dict[str, Any] = schema.load(payload)
    except ValidationError as exc:
        raise RequestValidationError(flatten(exc.messages, ["body"], payload)) from None
    return loaded


def load_path_param(field: ma.Field[Any], name: str, value: str) -> Any:
    """A path parameter, parsed and validated, or a 422 located at ["path", name]."""
    try:
        return field.deserialize(value)
    except ValidationError as exc:
        raise RequestValidationError(flatten(exc.messages, ["path", name])) from None


def check_request_head() -> None:
    """414 or 431 for an oversized request target or headers, before routing, as the FastAPI service does.

    Also 404 for an empty path segment ("//health"): werkzeug strips leading slashes before matching, where
    Starlette matches the path as sent.
    """
    if "//" in request.environ.get("PATH_INFO", ""):
        raise NotFound()
    target_bytes = len(request.path.encode()) + len(request.query_string)
    problem = request_head_problem(target_bytes, list(request.headers.items()))
    if problem is not None:
        status, detail = problem
        raise (RequestURITooLarge if status == 414 else RequestHeaderFieldsTooLarge)(detail)


def validation_error(exc: RequestValidationError) -> tuple[Body, int]:
    """422 with loc, msg and type only: never the rejected input."""
    return {"detail": exc.errors}, 422


def http_error(exc: HTTPException) -> tuple[Body, int, dict[str, str]]:
    """404, 405, 413, 415: `{"detail": str}`, with the exception's headers (Allow, for a 405)."""
    code = exc.code or 500
    details = {
        404: NOT_FOUND,
        405: METHOD_NOT_ALLOWED,
        413: payload_too_large(current_app.config["MAX_CONTENT_LENGTH"]),
    }
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return {"detail": details.get(code, exc.description)}, code, headers


def upstream_error(exc: UpstreamError) -> tuple[Body, int]:
    """404, 503 or 504 from the upstream observation service: `{"detail": str}`."""
    return {"detail": exc.detail}, exc.status


def server_error(exc: Exception) -> tuple[Body, int]:
    """500 without a traceback, path or exception text; Flask still logs the exception."""
    return {"detail": INTERNAL_SERVER_ERROR}, 500


def register_error_handlers(app: Flask, api: Api) -> None:
    # restx answers errors as {"message": ...} and adds hints to 404s; the contract says {"detail": ...}.
    app.config.update(ERROR_INCLUDE_MESSAGE=False, RESTX_ERROR_404_HELP=False, RESTX_MASK_SWAGGER=False)
    api.errorhandler(RequestValidationError)(validation_error)
    api.errorhandler(HTTPException)(http_error)
    api.errorhandler(UpstreamError)(upstream_error)
    api.errorhandler(Exception)(server_error)
    # Outside restx's resources (its root URL, the docs pages, static files) Flask's own handlers answer.
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, server_error)
    app.before_request(check_request_head)
