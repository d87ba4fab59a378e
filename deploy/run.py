"""`make run-nginx`: the services, and nginx in front of them as deployed: Flask at 127.0.0.1:8081,
FastAPI at 127.0.0.1:8082, Flask with flask-openapi3 at 127.0.0.1:8084 (their servers on 8001, 8002 and 8004,
or on free ports when those are taken). Ctrl-C stops them all. nginx's configuration, logs and temporary files
are in a scratch folder it prints.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from deploy.nginx import INSTALL, Site, find_nginx, start, stop, stop_group
from shared.healthcheck import probe
from shared.settings import REPO_ROOT, Settings

# framework -> (server module, its usual port, nginx's port for it)
SERVICES = {
    "flask": ("flask_service.server", 8001, 8081),
    "fastapi": ("fastapi_service.server", 8002, 8082),
    "flask_openapi": ("flask_openapi_service.server", 8004, 8084),
}
START_TIMEOUT_S = 60


def usual_or_free(host: str, port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            sock.bind((host, 0))
        bound: int = sock.getsockname()[1]
        return bound


def start_service(module: str, port: int) -> subprocess.Popen[bytes]:
    """The service as `make run-flask` runs it, its output on this terminal, in its own process group."""
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", module], cwd=REPO_ROOT, env=environ, start_new_session=True
    )


def wait_until_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while (problem := probe(f"{url}/health", timeout_s=1)) is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service did not become healthy: {problem}")
        time.sleep(0.2)


def stop_on_signal(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    if find_nginx() is None:
        print(f"nginx is not installed: {INSTALL}", file=sys.stderr)
        return 1
    # Ctrl-C, and SIGTERM or SIGHUP, stop them all (SIGINT set too: a shell starts a background job with it
    # ignored, and Python then leaves it so).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    host = os.environ.get("HOST", "127.0.0.1")
    scratch = Path(tempfile.mkdtemp(prefix="run-nginx-"))
    services: dict[str, subprocess.Popen[bytes]] = {}
    nginx = None
    try:
        sites = {}
        for name, (module, usual, listen) in SERVICES.items():
            port = usual_or_free(host, usual)
            services[name] = start_service(module, port)
            sites[name] = Site(f"{host}:{listen}", f"{host}:{port}")
        for name, process in services.items():
            wait_until_healthy(process, f"http://{sites[name].upstream}")
        max_body_bytes = Settings.from_env().max_body_bytes
        nginx = start(scratch, sites, max_body_bytes, workers="auto")
        fronted = ", ".join(
            f"{name} at http://{site.listen} (its server on {site.upstream})" for name, site in sites.items()
        )
        print(
            f"nginx in front: {fronted}; nginx's configuration and logs in {scratch}. Ctrl-C stops them all.",
            flush=True,
        )
        while nginx.process.poll() is None and all(p.poll() is None for p in services.values()):
            time.sleep(0.5)
        print("one of them exited: stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if nginx is not None:
            stop(nginx)
        for process in services.values():
            stop_group(process, signal.SIGTERM, grace_s=15)


if __name__ == "__main__":
    raise SystemExit(main())
