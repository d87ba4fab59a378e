"""Serve the FastAPI app with uvicorn: `python -m fastapi_service.server` (what `make run-fastapi` runs).

uvicorn's documented programmatic API, so that the settings live in Python beside the app:
https://www.uvicorn.org/deployment/#running-programmatically
"""

from typing import Any

import uvicorn

from shared.model import exit_unless_servable
from shared.server import ServerOptions

DEFAULT_PORT = 8002
APP = "fastapi_service.app:app"


def server_config(options: ServerOptions) -> dict[str, Any]:
    return {
        "host": options.host,
        "port": options.port,
        "workers": options.workers,
        # uvloop and httptools: what `uvicorn[standard]` installs and production deployments use.
        "loop": "uvloop",
        "http": "httptools",
        "access_log": options.access_log,
        # The client's address and scheme from nginx's X-Forwarded-For and -Proto, trusted from nginx only.
        "proxy_headers": True,
        "forwarded_allow_ips": options.forwarded_allow_ips,
        # SIGTERM lets requests in flight finish for up to this long.
        "timeout_graceful_shutdown": 10,
    }


def main() -> None:
    options = ServerOptions.from_env(DEFAULT_PORT)
    exit_unless_servable()
    config = server_config(options)
    print(f"uvicorn {APP} {config}", flush=True)
    uvicorn.run(APP, **config)


if __name__ == "__main__":
    main()
