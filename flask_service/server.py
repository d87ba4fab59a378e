"""Serve the Flask app with gunicorn: `python -m flask_service.server` (what `make run-flask` runs).

gunicorn's documented custom-application API, so that the settings live in Python beside the app:
https://docs.gunicorn.org/en/stable/custom.html
"""

import os
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

from shared.server import ServerOptions

DEFAULT_PORT = 8001
APP = "flask_service.app:app"


def server_config(options: ServerOptions) -> dict[str, Any]:
    worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
    return {
        "bind": f"{options.host}:{options.port}",
        "workers": options.workers,
        "worker_class": worker_class,
        "threads": int(os.environ.get("GUNICORN_THREADS", "1")),
        "accesslog": "-" if options.access_log else None,
        # Each worker imports the app, so each loads the model once; no --preload.
        "preload_app": False,
        # SIGTERM lets requests in flight finish for up to this long.
        "graceful_timeout": 10,
        "timeout": 30,
        # Above the limits both apps enforce (shared/limits.py), so that the apps answer first, in JSON.
        "limit_request_line": 8190,
        "limit_request_fields": 200,
        "limit_request_field_size": 16380,
        # gunicorn 24+ opens a control socket at a fixed path; two servers on one machine would share it.
        "control_socket_disable": True,
    }


class GunicornServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.config.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return import_app(APP)


def main() -> None:
    options = ServerOptions.from_env(DEFAULT_PORT)
    config = server_config(options)
    print(f"gunicorn {APP} {config}", flush=True)
    GunicornServer(config).run()


if __name__ == "__main__":
    main()
