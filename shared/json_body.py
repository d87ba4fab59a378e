"""Parse a request body as JSON, the same way on both services.

Python's `json.loads` fails in four ways, not one: JSONDecodeError for bad syntax, but UnicodeDecodeError for
bytes that are not UTF-8/16/32, RecursionError for deep nesting, and ValueError for an integer of more than
4300 digits. Left alone, FastAPI answers the last three with a 400 and Flask with a 500. It also accepts a
lone surrogate escape ("\\ud800"), a string no UTF-8 can carry, which pydantic and marshmallow then treat
differently. Here every one of these is a JSONDecodeError, which both services report as the contract's 422
`json_invalid`.
"""

import json
import re
from typing import Any

# A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def parse_json_body(raw: bytes) -> Any:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        raise
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("Body is not UTF-8, UTF-16 or UTF-32", "", exc.start) from None
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None
    except ValueError:
        raise json.JSONDecodeError("Number too long", "", 0) from None
    # Cheap test first: almost no body has a surrogate escape at all.
    if (b"\\ud" in raw or b"\\uD" in raw) and (match := _LONE_SURROGATE.search(raw)):
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise json.JSONDecodeError("Lone surrogate in a string", "", match.start()) from None
    return document
