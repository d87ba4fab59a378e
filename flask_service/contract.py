"""The contract's glue: what this service does only so that both services answer one contract.

The contract's 422 is FastAPI's: pydantic's error types and sentences, every problem at once, in pydantic's
order. Flask has no request-validation error of its own and marshmallow words its errors its own way, so here
marshmallow's errors are turned into pydantic's, and `load_json_body` does what FastAPI does before calling a
view (check the body, parse JSON, validate, collect every error). This module is most of what answering one
contract costs the Flask service; the FastAPI service's `contract.py` is the other side's.
"""

import json
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, request
from flask_restx import Api
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as ma
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.wrappers import Response

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

Body = dict[str, Any]

# pydantic v2's error types and their sentences; {names} are filled from the error's context.
MESSAGES: dict[str, str] = {
    "missing": "Field required",
    "extra_forbidden": "Extra inputs are not permitted",
    "float_type": "Input should be a valid number",
    "finite_number": "Input should be a finite number",
    "greater_than": "Input should be greater than {gt}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "enum": "Input should be {expected}",
    "too_short": "List should have at least {min_length} item after validation, not {actual_length}",
    "too_long": "List should have at most {max_length} items after validation, not {actual_length}",
    "list_type": "Input should be a valid list",
    "model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
    "json_invalid": "JSON decode error",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
}


def error_item(loc: list[str | int], type_: str, **ctx: Any) -> dict[str, Any]:
    """One entry of a 422 body's `detail`: exactly `loc`, `msg` and `type`, never the input."""
    return {"loc": loc, "msg": MESSAGES[type_].format(**ctx), "type": type_}


def expected_values(values: list[str]) -> str:
    """pydantic's way of listing an enum's members: 'a', 'b' or 'c'."""
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def contract_error(type_: str, **ctx: Any) -> dict[str, Any]:
    """A marshmallow error message that is already a contract error, still without its `loc`."""
    return {key: value for key, value in error_item([], type_, **ctx).items() if key != "loc"}


# --- marshmallow's errors in pydantic's words ------------------------------------------------------------

# For each kind of field, what pydantic calls each of marshmallow's error keys (marshmallow lets a message be
# any object, so each one is the contract error itself).
FLOAT_ERRORS = {"null": "float_type", "invalid": "float_type", "special": "finite_number"}
LIST_ERRORS = {"null": "list_type", "invalid": "list_type"}


def bounds(limits: validate.Range) -> Callable[[float], None]:
    """marshmallow's Range, reporting the bound that failed as pydantic does (`gt` or `ge`, `le` or `lt`)."""
    low = ("greater_than_equal", "ge") if limits.min_inclusive else ("greater_than", "gt")
    high = ("less_than_equal", "le") if limits.max_inclusive else ("less_than", "lt")

    def check(value: float) -> None:
        if limits.min is not None and not (
            value >= limits.min if limits.min_inclusive else value > limits.min
        ):
            raise ValidationError([contract_error(low[0], **{low[1]: limits.min})])
        if limits.max is not None and not (
            value <= limits.max if limits.max_inclusive else value < limits.max
        ):
            raise ValidationError([contract_error(high[0], **{high[1]: limits.max})])

    return check


def contract_messages(field: ma.Field[Any]) -> dict[str, Any]:
    """The contract's error for each error key of `field`; its Range validators made to report pydantic's."""
    field.validators = [bounds(v) if isinstance(v, validate.Range) else v for v in field.validators]
    messages: dict[str, Any] = {"required": [contract_error("missing")]}
    if isinstance(field, ma.Float):
        messages |= {key: [contract_error(type_)] for key, type_ in FLOAT_ERRORS.items()}
    elif isinstance(field, ma.Enum):
        unknown = [contract_error("enum", expected=expected_values([member.value for member in field.enum]))]
        messages |= {"unknown": unknown, "null": unknown}
    elif isinstance(field, ma.List):
        messages |= {key: [contract_error(type_)] for key, type_ in LIST_ERRORS.items()}
        if isinstance(field.inner, ma.Nested):
            field.inner.error_messages = {
                **field.inner.error_messages,
                "null": [contract_error("model_attributes_type")],
            }
    return messages


class ContractSchema(Schema):
    """A schema whose errors are the contract's: each field's, as it is bound (marshmallow's `on_bind_field`
    hook), and its own for an unknown field or an input that is not an object."""

    error_messages: dict[str, Any] = {  # noqa: RUF012 (marshmallow's own class attribute)
        "unknown": contract_error("extra_forbidden"),
        "type": contract_error("model_attributes_type"),
    }

    def on_bind_field(self, field_name: str, field_obj: ma.Field[Any]) -> None:
        field_obj.error_messages = {**field_obj.error_messages, **contract_messages(field_obj)}


class LengthFirstList(ma.List[Any]):
    """Checks its Length validators before its items, as pydantic does: a 5000-item batch is not validated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list):
            for length in (v for v in self.validators if isinstance(v, validate.Length)):
                if length.max is not None and len(value) > length.max:
                    raise ValidationError(
                        [contract_error("too_long", max_length=length.max, actual_length=len(value))]
                    )
                if length.min is not None and len(value) < length.min:
                    raise ValidationError(
                        [contract_error("too_short", min_length=length.min, actual_length=len(value))]
                    )
        return super()._deserialize(value, attr, data, **kwargs)


class PathInteger(ma.Integer):
    """A path segment parsed as pydantic parses it: ASCII only ("1.0" is 1, "\u0663" is not 3)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip()
        if not text.isascii():
            raise self.make_error("invalid")
        if re.fullmatch(r"[+-]?\d+\.0+", text):
            text = text.split(".")[0]
        return super()._deserialize(text, attr, data, **kwargs)


def positive(value: int) -> None:
    if not value > 0:
        raise ValidationError([contract_error("greater_than", gt=0)])


penguin_id_field = PathInteger(validate=positive, error_messages={"invalid": [contract_error("int_parsing")]})


# --- the 422: every error at once, in pydantic's order ------------------------------------------------


class RequestValidationError(Exception):
    """What FastAPI raises for a request that breaks its schema: the contract's errors, with their `loc`."""

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
    """The request body, parsed and validated, or a 415, 413, 400 or 422 with every problem at once."""
    if not is_json_media_type(request.content_type):
        raise UnsupportedMediaType(UNSUPPORTED_MEDIA_TYPE)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # werkzeug cuts a chunked body at the stream's limit without saying whether more came: read one byte
    # past it, so that a body of exactly the limit passes (the limit is inclusive) and a longer one does not.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=False)  # werkzeug raises 413 past a declared limit + 1
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


def load_path_param(field: ma.Field[Any], name: str, value: str) -> Any:
    """A path parameter, parsed and validated, or a 422 located at ["path", name]."""
    try:
        return field.deserialize(value)
    except ValidationError as exc:
        raise RequestValidationError(flatten(exc.messages, ["path", name])) from None


class RequestHeadLimits:
    """414 or 431 for an oversized request target or headers, in the contract's JSON, before routing.

    A WSGI middleware around `app.wsgi_app`, as Flask's docs wrap ProxyFix: a `before_request` hook would add
    Flask's hook machinery to every request's cost. It answers as restx answers an error (`json.dumps` of the
    body and a newline). Also 404 for an empty path segment ("//health"): werkzeug strips leading slashes
    before matching, where Starlette matches the path as sent.
    """

    def __init__(self, app: "WSGIApplication") -> None:
        self.app = app

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        problem = head_problem(environ)
        if problem is None:
            return self.app(environ, start_response)
        status, detail = problem
        body = json.dumps({"detail": detail}) + "\n"
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


def validation_error(exc: RequestValidationError) -> tuple[Body, int]:
    """422 with loc, msg and type only: never the rejected input."""
    return {"detail": exc.errors}, 422


def add_contract(app: Flask, api: Api) -> None:
    """The glue of this module, installed on the app."""
    api.errorhandler(RequestValidationError)(validation_error)
    app.wsgi_app = RequestHeadLimits(app.wsgi_app)  # type: ignore[method-assign]
