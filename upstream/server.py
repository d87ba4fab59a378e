"""Serve the upstream observation service: `python -m upstream.server` (what `make run-upstream` runs)."""

from typing import Any

import uvicorn

from shared.server import ServerOptions

DEFAULT_PORT = 8003
APP = "upstream.app:app"


def main() -> None:
    options = ServerOptions.from_env(DEFAULT_PORT)
    config: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "workers": options.workers,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": options.access_log,
        # Each connection a client keeps open is one more idle task, which costs nothing while it waits.
        "backlog": 4096,
    }
    print(f"uvicorn {APP} {config}", flush=True)
    uvicorn.run(APP, **config)


if __name__ == "__main__":
    main()
