"""`python -m shared.healthcheck [URL]`: exit 0 when URL answers 200, else 1 (the containers' HEALTHCHECK).

The slim images have no curl, and the standard library starts in a few tens of milliseconds, which matters
for a probe that runs every few seconds beside the server it measures. Without URL it asks the server in its
own container: http://127.0.0.1:$PORT/health.
"""

import os
import sys
import urllib.request
from urllib.error import HTTPError, URLError

TIMEOUT_S = 2.0


def default_url() -> str | None:
    port = os.environ.get("PORT")
    return f"http://127.0.0.1:{port}/health" if port else None


def probe(url: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when `url` answers 200, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status: int = response.status
    except HTTPError as exc:
        status = exc.code
    except (URLError, OSError) as exc:
        return f"{url}: {exc}"
    return None if status == 200 else f"{url}: status {status}"


def main(argv: list[str]) -> int:
    url = argv[0] if argv else default_url()
    if url is None:
        print("usage: python -m shared.healthcheck [URL] (or set PORT)", file=sys.stderr)
        return 2
    problem = probe(url)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
