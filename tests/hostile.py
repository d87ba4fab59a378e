"""The hostile-input corpus: requests beyond the contract's rows, which both services must answer alike.

Each case is one request and the status both services must give it. The tests send every case to both apps
in-process (tests/test_hostile.py) and to both real servers, and compare the answers.
"""

import json
from dataclasses import dataclass, field

from shared.examples import EXAMPLE_PENGUIN
from shared.settings import Settings
from tests.clients import Headers

JSON = {"Content-Type": "application/json"}
PENGUIN = json.dumps(EXAMPLE_PENGUIN).encode()
# Deep enough to pass Python's recursion limit, small enough to stay under the 1 MiB body limit.
DEPTH = 100_000
LIMIT = Settings().max_body_bytes
# The example penguin, padded with whitespace to exactly the body limit: valid, and as large as may be.
PENGUIN_AT_THE_LIMIT = PENGUIN + b" " * (LIMIT - len(PENGUIN))


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    body: bytes | None = None
    headers: Headers = field(default_factory=lambda: dict(JSON))
    chunked: bool = False  # the body sent in chunks, without a Content-Length
    nginx_status: int | None = None  # through nginx, where nginx refuses the request itself


def penguin_with(replacement: bytes, field_name: str = "bill_length_mm") -> bytes:
    """The example penguin, one field's value replaced by raw JSON text (which json.dumps cannot write)."""
    start = PENGUIN.index(f'"{field_name}": '.encode()) + len(field_name) + 4
    end = PENGUIN.index(b",", start)
    return PENGUIN[:start] + replacement + PENGUIN[end:]


MALFORMED = [
    Case("truncated object", "POST", "/predict", 422, PENGUIN[:-10]),
    Case("single quotes", "POST", "/predict", 422, b"{'island': 'Biscoe'}"),
    Case("trailing comma", "POST", "/predict", 422, PENGUIN[:-1] + b",}"),
    Case("unclosed array", "POST", "/predict/batch", 422, b'{"items": [1, 2'),
    Case("two documents", "POST", "/predict", 422, PENGUIN + PENGUIN),
    Case("empty body", "POST", "/predict", 422, b""),
    Case("whitespace only", "POST", "/predict", 422, b"  \n\t "),
    Case("null document", "POST", "/predict", 422, b"null"),
    Case("array document", "POST", "/predict", 422, b"[]"),
    Case("string document", "POST", "/predict", 422, b'"penguin"'),
    Case("number document", "POST", "/predict/batch", 422, b"42"),
    Case("comment", "POST", "/predict", 422, b"// a penguin\n" + PENGUIN),
]

DEEP_AND_ENCODED = [
    Case("arrays nested 100k deep", "POST", "/predict", 422, b"[" * DEPTH + b"]" * DEPTH),
    Case("objects nested 100k deep", "POST", "/predict/batch", 422, b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
    Case(
        "items nested deep", "POST", "/predict/batch", 422, b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    ),
    Case("latin-1 bytes", "POST", "/predict", 422, penguin_with(b'"Biscoe\xe9"', "island")),
    Case("invalid utf-8", "POST", "/predict", 422, b"\xff\xfe\xfd" + PENGUIN),
    Case("utf-8 byte-order mark", "POST", "/predict", 200, b"\xef\xbb\xbf" + PENGUIN),
    Case("utf-16 with byte-order mark", "POST", "/predict", 200, PENGUIN.decode().encode("utf-16")),
    Case("utf-32", "POST", "/predict", 200, PENGUIN.decode().encode("utf-32-le")),
    Case("NUL byte in a string", "POST", "/predict", 422, penguin_with(b'"Bis\\u0000coe"', "island")),
    Case("lone surrogate", "POST", "/predict", 422, penguin_with(b'"\\ud800"', "island")),
    Case("paired surrogates", "POST", "/predict", 422, penguin_with(b'"\\ud83d\\udc27"', "island")),
    Case("escaped island name", "POST", "/predict", 200, penguin_with(b'"\\u0042iscoe"', "island")),
]

NUMBERS_AND_STRINGS = [
    Case("NaN token", "POST", "/predict", 422, penguin_with(b"NaN")),
    Case("Infinity token", "POST", "/predict", 422, penguin_with(b"Infinity")),
    Case("-Infinity token", "POST", "/predict", 422, penguin_with(b"-Infinity")),
    Case("float overflowing to inf", "POST", "/predict", 422, penguin_with(b"1e999")),
    Case("huge integer", "POST", "/predict", 422, penguin_with(b"1" + b"0" * 300)),
    Case("integer over 4300 digits", "POST", "/predict", 422, penguin_with(b"9" * 5000)),
    Case("tiny float", "POST", "/predict", 422, penguin_with(b"1e-999")),
    Case("negative zero", "POST", "/predict", 422, penguin_with(b"-0.0")),
    Case("number as string", "POST", "/predict", 422, penguin_with(b'"45.2"')),
    Case("boolean as number", "POST", "/predict", 422, penguin_with(b"true")),
    Case("null measurement", "POST", "/predict", 422, penguin_with(b"null")),
    Case("huge string", "POST", "/predict", 422, penguin_with(b'"' + b"x" * 500_000 + b'"', "island")),
    Case("island in lower case", "POST", "/predict", 422, penguin_with(b'"biscoe"', "island")),
    Case("island with spaces", "POST", "/predict", 422, penguin_with(b'" Biscoe "', "island")),
    Case("duplicate keys, last valid", "POST", "/predict", 200, b'{"island": "Atlantis", ' + PENGUIN[1:]),
    Case("duplicate keys, last invalid", "POST", "/predict", 422, PENGUIN[:-1] + b', "island": "Atlantis"}'),
    Case("batch of non-objects", "POST", "/predict/batch", 422, b'{"items": [1, "a", null, []]}'),
    Case("batch items as object", "POST", "/predict/batch", 422, b'{"items": {"0": ' + PENGUIN + b"}}"),
    Case(
        "batch over the limit",
        "POST",
        "/predict/batch",
        422,
        b'{"items": [' + b",".join([PENGUIN] * 1001) + b"]}",
    ),
]

CONTENT_TYPES = [
    Case("no content type", "POST", "/predict", 415, PENGUIN, {}),
    Case("text/plain", "POST", "/predict", 415, PENGUIN, {"Content-Type": "text/plain"}),
    Case(
        "form",
        "POST",
        "/predict",
        415,
        b"island=Biscoe",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("multipart", "POST", "/predict", 415, PENGUIN, {"Content-Type": "multipart/form-data; boundary=x"}),
    Case(
        "json suffix type", "POST", "/predict", 415, PENGUIN, {"Content-Type": "application/merge-patch+json"}
    ),
    Case(
        "json with charset",
        "POST",
        "/predict",
        200,
        PENGUIN,
        {"Content-Type": "application/json; charset=utf-8"},
    ),
    Case("json in capitals", "POST", "/predict", 200, PENGUIN, {"Content-Type": "Application/JSON"}),
    Case("empty content type", "POST", "/predict", 415, PENGUIN, {"Content-Type": ""}),
    Case("body over the limit, declared", "POST", "/predict", 413, b" " * (1 << 20) + PENGUIN),
    Case("batch body over the limit", "POST", "/predict/batch", 413, b"[" + b" " * (2 << 20) + b"]"),
    # The limit is inclusive, declared or chunked.
    Case("body of exactly the limit, declared", "POST", "/predict", 200, PENGUIN_AT_THE_LIMIT),
    Case("body of exactly the limit, chunked", "POST", "/predict", 200, PENGUIN_AT_THE_LIMIT, chunked=True),
    Case("body one byte over, chunked", "POST", "/predict", 413, PENGUIN_AT_THE_LIMIT + b" ", chunked=True),
]

METHODS_AND_PATHS = [
    *[Case(f"{m} /predict", m, "/predict", 405, None, {}) for m in ("GET", "PUT", "PATCH", "DELETE")],
    *[Case(f"{m} /health", m, "/health", 405, None, {}) for m in ("POST", "HEAD", "OPTIONS", "TRACE")],
    Case("HEAD /predict", "HEAD", "/predict", 405, None, {}),
    Case("OPTIONS /predict", "OPTIONS", "/predict", 405, None, {}),
    Case("OPTIONS /penguins/1/prediction", "OPTIONS", "/penguins/1/prediction", 405, None, {}),
    Case("PROPFIND /health", "PROPFIND", "/health", 405, None, {}),
    Case("trailing slash /health/", "GET", "/health/", 404, None, {}),
    Case("trailing slash /predict/", "POST", "/predict/", 404, PENGUIN),
    Case("trailing slash /predict/batch/", "POST", "/predict/batch/", 404, PENGUIN),
    Case("empty segment", "GET", "/penguins//1/prediction", 404, None, {}),
    Case("upper-case path", "GET", "/HEALTH", 404, None, {}),
    Case("unknown path", "GET", "/admin", 404, None, {}),
    Case("path traversal", "GET", "/static/../flask_service/app.py", 404, None, {}),
    # nginx decodes the path to match its locations, and refuses one that climbs above the root, or has a NUL.
    Case(
        "encoded traversal",
        "GET",
        "/static/..%2f..%2fflask_service%2fapp.py",
        404,
        None,
        {},
        nginx_status=400,
    ),
    # Both servers decode %2F before routing (into PATH_INFO and the ASGI path): this is /predict/batch.
    Case("encoded slash", "POST", "/predict%2Fbatch", 422, PENGUIN),
    Case("NUL in path", "GET", "/health%00", 404, None, {}, nginx_status=400),
    Case("query string ignored", "GET", "/health?debug=1&x=%ff", 200, None, {}),
    Case("body on GET ignored", "GET", "/health", 200, PENGUIN),
    Case("penguin id zero", "GET", "/penguins/0/prediction", 422, None, {}),
    Case("penguin id negative", "GET", "/penguins/-1/prediction", 422, None, {}),
    Case("penguin id 30 digits", "GET", "/penguins/" + "9" * 30 + "/prediction", 404, None, {}),
    Case("penguin id text", "GET", "/penguins/adelie/prediction", 422, None, {}),
    Case("penguin id with exponent", "GET", "/penguins/1e3/prediction", 422, None, {}),
    Case("penguin id unicode digits", "GET", "/penguins/%D9%A1/prediction", 422, None, {}),
]

HEADERS = [
    Case("request target over 4 KiB", "GET", "/health?" + "q" * 5000, 414, None, {}),
    Case("header over 8 KiB", "GET", "/health", 431, None, {"X-Padding": "p" * 9000}),
    Case("over 100 headers", "GET", "/health", 431, None, {f"X-H{i}": "1" for i in range(120)}),
    # One header sent many times is one field, its values joined by commas, as a WSGI server hands it on:
    # 150 short copies are one short field, 60 copies of 200 bytes one field over 8 KiB.
    Case("one header 150 times", "GET", "/health", 200, None, [("X-Same", "1")] * 150),
    Case("one header 60 times, over 8 KiB", "GET", "/health", 431, None, [("X-Same", "s" * 200)] * 60),
]

CORPUS = MALFORMED + DEEP_AND_ENCODED + NUMBERS_AND_STRINGS + CONTENT_TYPES + METHODS_AND_PATHS + HEADERS

# Requests no HTTP client library will send: each server's own parser answers them, before any app code,
# or (gunicorn's chunked body, read by the app) the app's body read does: 400 from both, never a 500. Through
# nginx, nginx reads them first: its 400, or (a chunk line it tolerates) the same 4xx from both services.
POST_CHUNKED = (
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
)
POST_JSON = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
MALFORMED_HTTP = {
    "request line of garbage": b"HELLO\r\n\r\n",
    "non-ASCII path": "GET /pingüino HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "Content-Length not a number": b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    "Content-Length and chunked": POST_JSON
    + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Content-Lengths": POST_JSON + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ",
    "negative Content-Length": POST_JSON + b"Content-Length: -2\r\n\r\n{}",
    "chunked twice": POST_CHUNKED + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "folded header": POST_JSON + b"X-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}",
    "NUL in a header": POST_JSON + b"X-Nul: a\x00b\r\nContent-Length: 2\r\n\r\n{}",
    # Before: Flask's 500, gunicorn's InvalidChunkSize or ChunkMissingTerminator raised in the view's read.
    "chunk size not hex": POST_CHUNKED + b"\r\nzz\r\n{}\r\n0\r\n\r\n",
    "negative chunk size": POST_CHUNKED + b"\r\n-2\r\n{}\r\n0\r\n\r\n",
    "chunk not terminated": POST_CHUNKED + b"\r\n2\r\n{}XX0\r\n\r\n",
    "chunk size and a space": POST_CHUNKED + b"\r\n2 \r\n{}\r\n0\r\n\r\n",
    "trailer without a colon": POST_CHUNKED + b"\r\n2\r\n{}\r\n0\r\nno colon\r\n\r\n",
}

# A chunk line of 100 kB (a valid chunk extension, only long): gunicorn refuses a line past its
# limit_request_field_size (Flask's 400, before: 500); uvicorn (httptools) has no limit and reads the body, {}
# (FastAPI's 422). nginx reads it too, and hands both a body with a Content-Length: 422 from both.
LONG_CHUNK_LINE = POST_CHUNKED + b"\r\n2;" + b"a" * 100_000 + b"\r\n{}\r\n0\r\n\r\n"
