"""Serve the FastAPI app with uvicorn: `python -m fastapi_service.server` (what `make run-fastapi` runs).

uvicorn's documented programmatic API, so that the settings live in Python beside the app:
https://www.uvicorn.org/deployment/#running-programmatically; run as `uvicorn --workers N` runs, by its
supervisor, for one worker too (ForegroundSupervisor below).
"""

import multiprocessing
import os
import subprocess
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from shared.lifecycle import dies_with_parent
from shared.server import ServerOptions
from shared.settings import REPO_ROOT

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


class WorkerConfig(uvicorn.Config):
    """uvicorn's configuration, which a worker loads first thing: then it ties itself to its supervisor, so
    that it ends when the supervisor does, however that ends, as gunicorn's workers leave when their master
    is gone (uvicorn's spawned workers would serve on, orphaned)."""

    def load(self) -> None:
        if (supervisor := multiprocessing.parent_process()) is not None:
            dies_with_parent(supervisor.pid)
        super().load()


class ForegroundSupervisor(Multiprocess):
    """uvicorn's --workers supervisor, run for one worker too: uvicorn.run serves one worker in its only
    process, which nothing replaces when it dies (https://github.com/Kludex/uvicorn/discussions/2926); the
    supervisor replaces it, and holds the listening socket meanwhile, so that requests wait for the new worker
    rather than being refused. It stops on SIGHUP as on SIGTERM, gracefully: it runs in the foreground of a
    command, where SIGHUP means the terminal closed (uvicorn's own SIGHUP restarts the workers, for a
    daemon)."""

    def handle_hup(self) -> None:
        self.handle_term()


def exit_unless_servable() -> None:
    """shared.model.exit_unless_servable, in a process of its own: uvicorn spawns its workers, which share
    nothing with the supervisor, so the supervisor need not hold the model and its libraries (about 100 MiB;
    gunicorn's forked workers share their master's)."""
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    check = "from shared.model import exit_unless_servable; exit_unless_servable()"
    if code := subprocess.run([sys.executable, "-c", check], env=environ).returncode:
        raise SystemExit(code)


def serve(config: uvicorn.Config) -> None:
    """What uvicorn.run does with --workers, whatever their number (uvicorn's main.run)."""
    ForegroundSupervisor(config, sockets=[config.bind_socket()]).run()


def main() -> None:
    options = ServerOptions.from_env(DEFAULT_PORT)
    exit_unless_servable()
    config = server_config(options)
    print(f"uvicorn {APP} {config}", flush=True)
    serve(WorkerConfig(APP, **config))


if __name__ == "__main__":
    main()
