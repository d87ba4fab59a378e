"""The contract's glue: what this service does only so that every service answers one contract.

pydantic validates here as it does on FastAPI, so its error types and sentences are the contract's already.
What the extension does its own way: its 422 is pydantic's error list as such (with `input`, `ctx` and
`url`, and no `body` or `path` in `loc`); it reads the body with `request.get_json(silent=True)`, so a body
that is not JSON, is empty or is sent as another type reaches the model as None (a `model_type` error at
`loc: []`), and a JSON string is parsed again, as JSON; its spec drops pydantic's `examples` and documents a
422 on every operation. Flask adds its own: no 415, a 413 only for a declared length, werkzeug's sentences for
404, 405 and 413, keys sorted in JSON answers, and no limit on the request line and headers. The FastAPI
service's `contract.py` is the other side's.
"""

import functools
import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, abort, current_app, make_response, request
from flask.json.provider import DefaultJSONProvider
from flask_openapi3.models import OPENAPI3_REF_TEMPLATE
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.wrappers import Response

from flask_openapi_service import schemas
from shared.errors import (
    BODY_NOT_READ,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    is_json_media_type,
    payload_too_large,
    request_head_problem,
)
from shared.json_body import parse_json_body
from shared.limits import CHUNK_BYTES, DRAIN_MAX_BYTES, DRAIN_MAX_S

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The errors this module reports itself, before pydantic sees the body, in pydantic's words.
MESSAGES: dict[str, str] = {
    "missing": "Field required",
    "json_invalid": "JSON decode error",
    "model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
}
MODELS = {
    name: value
    for name, value in vars(schemas).items()
    if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == schemas.__name__
}
# pydantic's error for a value that is not an object, where FastAPI, which validates with from_attributes,
# reports another (fastapi/_compat: `validate_python(value, from_attributes=True)`).
RENAMED = {"model_type": "model_attributes_type"}


def error_item(loc: list[str | int], type_: str) -> dict[str, Any]:
    """One entry of a 422 body's `detail`: exactly `loc`, `msg` and `type`, never the input."""
    return {"loc": loc, "msg": MESSAGES[type_], "type": type_}


def unprocessable(errors: list[dict[str, Any]]) -> Response:
    """The contract's 422: every error at once, in pydantic's order."""
    return make_response({"detail": errors}, 422)


def validation_error(exc: ValidationError) -> Response:
    """The extension's `validation_error_callback`: loc, msg and type only, located as FastAPI does."""
    # This API's routes validate a path or a body, never both.
    where = "path" if request.view_args else "body"
    detail = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        type_ = RENAMED.get(error["type"], error["type"])
        message = MESSAGES[type_] if type_ != error["type"] else error["msg"]
        detail.append({"loc": [where, *error["loc"]], "msg": message, "type": type_})
    return unprocessable(detail)


# --- the body, checked and parsed before the extension reads it -------------------------------------------


class ContractJSONProvider(DefaultJSONProvider):
    """Flask's JSON, made FastAPI's: bodies parsed by the contract's rules (shared/json_body.py), and answers'
    keys in the models' order, not sorted."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json_body(s.encode() if isinstance(s, str) else s)


class ContractRequest(Request):
    """A body that is not JSON is the contract's `json_invalid`, at the position where parsing stopped."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        position = e.pos if isinstance(e, json.JSONDecodeError) else 0
        abort(unprocessable([error_item(["body", position], "json_invalid")]))


@functools.cache
def takes_body(view: Any) -> bool:
    """Whether a view validates a body: the extension reads it from the view's `body` parameter."""
    return "body" in getattr(view, "__annotations__", {})


def guard_json_body() -> None:
    """Before a view that takes a body: 415, 413, 400 or 422, as FastAPI answers before validating; the parsed
    body is left in the request's cache, where the extension's `request.get_json()` finds it."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not takes_body(view):
        return
    if not is_json_media_type(request.content_type):
        raise UnsupportedMediaType(UNSUPPORTED_MEDIA_TYPE)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # werkzeug cuts a chunked body at the stream's limit without saying whether more came: read one byte
    # past it, so that a body of exactly the limit passes (the limit is inclusive) and a longer one does not.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=True)  # werkzeug raises 413 past a declared limit + 1
    except RequestEntityTooLarge:
        drain_body()
        raise
    except Exception as exc:
        # As FastAPI answers a body it cannot read (fastapi/routing.py): the server's error for a broken
        # chunked framing (gunicorn's InvalidChunkSize, ChunkMissingTerminator...) or a client gone.
        raise BadRequest(BODY_NOT_READ) from exc
    if len(raw) > limit:
        drain_body()
        raise RequestEntityTooLarge()
    if not raw:
        abort(unprocessable([error_item(["body"], "missing")]))
    # The extension would parse a JSON string again, as JSON: it is no object, whatever it holds.
    if isinstance(request.get_json(), str):
        abort(unprocessable([error_item(["body"], "model_attributes_type")]))


def drain_body() -> None:
    """Read and drop the rest of a refused body, within bounds: the client then reads the 413."""
    declared = request.content_length
    if declared is not None and declared > DRAIN_MAX_BYTES:
        return  # it would be reset anyway: do not read what cannot help
    stream, left = request.environ["wsgi.input"], DRAIN_MAX_BYTES
    deadline = time.monotonic() + DRAIN_MAX_S
    while left > 0 and time.monotonic() < deadline:
        try:
            chunk = stream.read(min(CHUNK_BYTES, left))
        except Exception:  # a broken chunked framing: the server closes the connection after the 413
            return
        if not chunk:
            return
        left -= len(chunk)


# --- before routing, and after it ---------------------------------------------------------------------------


class RequestHeadLimits:
    """414 or 431 for an oversized request target or headers, in the contract's JSON, before routing.

    A WSGI middleware around `app.wsgi_app`, as Flask's docs wrap ProxyFix: a `before_request` hook would not
    see a request that routing refuses first. Also 404 for an empty path segment ("//health"): werkzeug strips
    leading slashes before matching, where Starlette matches the path as sent.
    """

    def __init__(self, app: "WSGIApplication") -> None:
        self.app = app

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        problem = head_problem(environ)
        if problem is None:
            return self.app(environ, start_response)
        status, detail = problem
        body = json.dumps({"detail": detail})
        return Response(body, status, mimetype="application/json")(environ, start_response)


def head_problem(environ: "WSGIEnvironment") -> tuple[int, str] | None:
    """404, 414 or 431 from the WSGI environ, read as werkzeug's `request.path`, `query_string` and `headers`
    read it (a header is an HTTP_ key, or CONTENT_TYPE and CONTENT_LENGTH when set: one field per name, the
    server having joined repeated lines, as shared.errors.header_field_bytes counts them on FastAPI)."""
    raw_path = environ.get("PATH_INFO", "")
    if "//" in raw_path:
        return 404, NOT_FOUND
    path = raw_path if raw_path.isascii() else raw_path.encode("latin-1").decode(errors="replace")
    target_bytes = len(("/" + path.lstrip("/")).encode()) + len(environ.get("QUERY_STRING", ""))
    field_bytes = [
        len(key) - 5 + len(value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
    ]
    field_bytes += [
        len(key) + len(value) for key in ("CONTENT_TYPE", "CONTENT_LENGTH") if (value := environ.get(key))
    ]
    return request_head_problem(target_bytes, field_bytes)


def detail_of(exc: HTTPException) -> str:
    """An HTTP error's `detail`: Starlette's status phrase where werkzeug's description is a sentence."""
    details = {
        404: NOT_FOUND,
        405: METHOD_NOT_ALLOWED,
        413: payload_too_large(current_app.config["MAX_CONTENT_LENGTH"]),
    }
    return details.get(exc.code or 500, exc.description or "")


def documented(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as FastAPI's documents the same models: each model's schema as pydantic writes it (the
    extension copies it into Schema objects that keep OpenAPI 3.0's keywords and drop 3.1's `examples`), a
    422 only where a parameter or a body is validated (the extension adds one to every operation), and no
    `securitySchemes: null` (the extension writes one without schemes; OpenAPI wants an object)."""
    if spec["components"].get("securitySchemes", {}) is None:
        del spec["components"]["securitySchemes"]
    components = spec["components"]["schemas"]
    for name, model in MODELS.items():
        if name in components:
            # As serialised, as the extension writes a response's model (computed fields included): this API's
            # request models read the same either way.
            components[name] = model.model_json_schema(
                ref_template=OPENAPI3_REF_TEMPLATE, mode="serialization"
            )
            components[name].pop("$defs", None)  # each nested model is a component of its own already
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            if "parameters" not in operation and "requestBody" not in operation:
                operation["responses"].pop("422", None)
    return spec


def add_contract(app: Flask) -> None:
    """The glue of this module, installed on the app."""
    app.json = ContractJSONProvider(app)
    app.request_class = ContractRequest
    app.before_request(guard_json_body)
    app.wsgi_app = RequestHeadLimits(app.wsgi_app)  # type: ignore[method-assign]
