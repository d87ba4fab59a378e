"""The error vocabulary of the contract: what every error body says, on both services.

The 422 sentences are pydantic's: FastAPI gets them from pydantic itself, and the Flask service repeats them
in its own `contract.py`, the glue that only it needs.
"""

from collections.abc import Iterable, Sequence

from shared.limits import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_TARGET_BYTES

NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INTERNAL_SERVER_ERROR = "Internal Server Error"
UNSUPPORTED_MEDIA_TYPE = "Request body must be JSON, sent with Content-Type: application/json"
# FastAPI's own 400 for a body it could not read (fastapi/routing.py): broken chunked framing, a client gone.
BODY_NOT_READ = "There was an error parsing the body"


URI_TOO_LONG = "Request target (path and query) is too long"
HEADERS_TOO_LARGE = "Request headers are too many or too large"


def payload_too_large(max_body_bytes: int) -> str:
    return f"Request body is larger than the limit of {max_body_bytes} bytes"


def is_json_media_type(content_type: str | None) -> bool:
    """True for `application/json`, with or without parameters such as charset."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def header_field_bytes(lines: Iterable[tuple[bytes, bytes]]) -> list[int]:
    """The size of each header field, from the lines as sent (ASGI's `scope["headers"]`).

    A field is a name and every value sent with it, joined by commas (RFC 9110, 5.3): what a WSGI server hands
    the app (gunicorn joins repeated lines into one environ key), so that both apps count alike. A header sent
    150 times is one field; 60 copies of 200 bytes are one field over MAX_HEADER_FIELD_BYTES.
    """
    sizes: dict[bytes, int] = {}
    for name, value in lines:
        key = name.lower()
        sizes[key] = sizes[key] + 1 + len(value) if key in sizes else len(name) + len(value)
    return list(sizes.values())


def request_head_problem(target_bytes: int, field_bytes: Sequence[int]) -> tuple[int, str] | None:
    """414 or 431 when the request line or headers pass the limits both apps enforce, else None.

    `field_bytes` has one entry per header field (a name, once, with its values joined by commas): the length
    of its name and value.
    """
    if target_bytes > MAX_TARGET_BYTES:
        return 414, URI_TOO_LONG
    if len(field_bytes) > MAX_HEADER_FIELDS or max(field_bytes, default=0) > MAX_HEADER_FIELD_BYTES:
        return 431, HEADERS_TOO_LARGE
    return None
