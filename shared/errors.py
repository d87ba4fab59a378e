"""The error vocabulary of the contract: what every error body says, on both services.

FastAPI gets the 422 sentences from pydantic itself; the Flask service uses `MESSAGES`, which repeat
pydantic's wording so that both services answer a bad request with the same body (the parity suite
compares them).
"""

from typing import Any

from shared.limits import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_TARGET_BYTES

NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INTERNAL_SERVER_ERROR = "Internal Server Error"
UNSUPPORTED_MEDIA_TYPE = "Request body must be JSON, sent with Content-Type: application/json"


URI_TOO_LONG = "Request target (path and query) is too long"
HEADERS_TOO_LARGE = "Request headers are too many or too large"


def payload_too_large(max_body_bytes: int) -> str:
    return f"Request body is larger than the limit of {max_body_bytes} bytes"


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


def is_json_media_type(content_type: str | None) -> bool:
    """True for `application/json`, with or without parameters such as charset."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def request_head_problem(target_bytes: int, headers: list[tuple[str, str]]) -> tuple[int, str] | None:
    """414 or 431 when the request line or headers pass the limits both apps enforce, else None."""
    if target_bytes > MAX_TARGET_BYTES:
        return 414, URI_TOO_LONG
    if len(headers) > MAX_HEADER_FIELDS or any(
        len(name) + len(value) > MAX_HEADER_FIELD_BYTES for name, value in headers
    ):
        return 431, HEADERS_TOO_LARGE
    return None
