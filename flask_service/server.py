"""Serve the Flask app with gunicorn: `python -m flask_service.server` (what `make run-flask` runs).

gunicorn's documented custom-application API, so that the settings live in Python beside the app:
https://docs.gunicorn.org/en/stable/custom.html. Both Flask services run it alike: shared/gunicorn_server.py.
"""

from shared.gunicorn_server import GunicornServer, server_config
from shared.model import exit_unless_servable
from shared.server import ServerOptions

DEFAULT_PORT = 8001
APP = "flask_service.app:app"


def main() -> None:
    options = ServerOptions.from_env(DEFAULT_PORT)
    exit_unless_servable()
    config = server_config(options)
    print(f"gunicorn {APP} {config}", flush=True)
    GunicornServer(APP, config).run()


if __name__ == "__main__":
    main()
