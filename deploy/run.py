"""`make run-nginx`: the three services, and nginx in front of them as deployed: Flask at 127.0.0.1:8081,
FastAPI at 127.0.0.1:8082, Flask with flask-openapi3 at 127.0.0.1:8084, their servers on 8001, 8002 and 8004.
Each port is a knob (FLASK_PORT, FLASK_NGINX_PORT, FASTAPI_PORT, FASTAPI_NGINX_PORT, FLASK_OPENAPI_PORT,
FLASK_OPENAPI_NGINX_PORT; 0: a free one); a service's port another process listens on is replaced by a free
one, and it says so. nginx's configuration, logs and temporary files are in a scratch folder it prints.

It keeps them running as a process manager would (deploy/supervise.py): a service or nginx that exits is
started again while the others go on serving. The first Ctrl-C, SIGTERM or SIGHUP stops them all, whatever
signals follow; if this process is killed, they end with it (shared/lifecycle.py).
"""

import functools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.nginx import INSTALL, Site, find_nginx, start
from deploy.supervise import Child, keep_running, stop_all
from shared.healthcheck import probe
from shared.lifecycle import child_setup, stop_on_signals
from shared.settings import REPO_ROOT, Settings

# framework -> (server module, its usual port, nginx's port for it); each port read from <FRAMEWORK>_PORT and
# <FRAMEWORK>_NGINX_PORT when set.
SERVICES = {
    "flask": ("flask_service.server", 8001, 8081),
    "fastapi": ("fastapi_service.server", 8002, 8082),
    "flask_openapi": ("flask_openapi_service.server", 8004, 8084),
}
# How the line that says where they are names each (loadtests/crash.py reads "<Name> at <url> (<server> on").
NAMES = {
    "flask": ("Flask", "gunicorn"),
    "fastapi": ("FastAPI", "uvicorn"),
    "flask_openapi": ("Flask-OpenAPI3", "gunicorn"),
}
START_TIMEOUT_S = 60
STOP_GRACE_S = 15  # the servers give requests in flight 10 s


def port_knob(name: str, kind: str, default: int) -> int:
    value = os.environ.get(f"{name.upper()}_{kind}", "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) > 65535:
        raise SystemExit(f"{name.upper()}_{kind} must be a port number (0: a free one), got {value!r}")
    return int(value)


def usual_or_free(host: str, port: int, what: str) -> int:
    """`port` unless a process listens on it, else a free one, said. The probe binds as the servers do, with
    SO_REUSEADDR (gunicorn and uvicorn set it), so a port held only by the last run's connections in
    TIME_WAIT is kept."""
    if port == 0:
        return free_port(host)
    if port_free(host, port):
        return port
    free = free_port(host)
    print(f"port {port} is in use by another process: {what} on {free} instead", file=sys.stderr, flush=True)
    return free


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(host: str, port: int) -> bool:
    """Whether a server binding as nginx, gunicorn and uvicorn do (SO_REUSEADDR) could listen on `port`."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_service(module: str, port: int) -> subprocess.Popen[bytes]:
    """The service as `make run-flask` runs it, its output on this terminal, in its own process group, ending
    if this process ends."""
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=REPO_ROOT,
        env=environ,
        start_new_session=True,
        preexec_fn=child_setup(),
    )


def wait_until_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while (problem := probe(f"{url}/health", timeout_s=1)) is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the service did not become healthy: {problem}")
        time.sleep(0.2)


def start_nginx(scratch: Path, sites: dict[str, Site]) -> subprocess.Popen[bytes]:
    """nginx in front of the services (deploy/nginx.py); started again with the same configuration."""
    max_body_bytes = Settings.from_env().max_body_bytes
    return start(scratch, sites, max_body_bytes, workers="auto").process


def main() -> int:
    if find_nginx() is None:
        print(f"nginx is not installed: {INSTALL}", file=sys.stderr)
        return 1
    stop_on_signals()
    host = os.environ.get("HOST", "127.0.0.1")
    scratch = Path(tempfile.mkdtemp(prefix="run-nginx-"))
    children: list[Child] = []
    try:
        sites = {}
        for name, (module, usual, listen) in SERVICES.items():
            port = usual_or_free(host, port_knob(name, "PORT", usual), f"{name}'s server")
            nginx_port = port_knob(name, "NGINX_PORT", listen) or free_port(host)
            if not port_free(host, nginx_port):
                print(
                    f"port {nginx_port} is in use by another process, so nginx cannot listen there for "
                    f"{name}: set {name.upper()}_NGINX_PORT (0: a free one)",
                    file=sys.stderr,
                )
                return 1
            sites[name] = Site(f"{host}:{nginx_port}", f"{host}:{port}")
            children.append(Child(name, functools.partial(start_service, module, port), grace_s=STOP_GRACE_S))
            children[-1].start()
        for child in children:
            assert child.process is not None
            wait_until_healthy(child.process, f"http://{sites[child.name].upstream}")
        # nginx's graceful stop (SIGQUIT): requests in flight finish.
        children.append(Child("nginx", lambda: start_nginx(scratch, sites), signal.SIGQUIT, grace_s=10))
        children[-1].start()
        fronted = ", ".join(
            f"{NAMES[name][0]} at http://{site.listen} ({NAMES[name][1]} on {site.upstream})"
            for name, site in sites.items()
        )
        print(
            f"nginx in front: {fronted}; nginx's configuration and logs in {scratch}. Ctrl-C stops them all.",
            flush=True,
        )
        return keep_running(children)
    except RuntimeError as exc:  # a service or nginx did not start
        print(f"make run-nginx: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second signal meanwhile lets this finish (shared/lifecycle.py).
        stop_all(children)


if __name__ == "__main__":
    raise SystemExit(main())
