"""Start a service under its real server on a free loopback port, its output in a log file; stop it by PID."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from deploy.nginx import SITE_NAMES, Site, start, stop_group
from shared.lifecycle import child_setup
from shared.settings import REPO_ROOT, Settings

SERVER_MODULES = {
    "flask": "flask_service.server",
    "fastapi": "fastapi_service.server",
    "flask_openapi": "flask_openapi_service.server",
    "upstream": "upstream.server",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    framework: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def wait_until_healthy(server: LiveServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(
        f"{server.framework} did not become healthy; its log:\n{server.log.read_text()[-3000:]}"
    )


def stop(process: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM to the server's process group (master and workers), SIGKILL if it outlives the grace."""
    stop_group(process, signal.SIGTERM, grace_s)


@contextmanager
def live_server(
    framework: str, log_dir: Path, env: Mapping[str, str] | None = None, timeout_s: float = 30
) -> Iterator[LiveServer]:
    port = free_port()
    log = log_dir / f"{framework}-{port}.log"
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        **(env or {}),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULES[framework]],
            cwd=REPO_ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child_setup(),  # it ends with this process, even if this one is killed
        )
    server = LiveServer(framework, f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_healthy(server, timeout_s)
        yield server
    finally:
        stop(process)


@contextmanager
def behind_nginx(urls: Mapping[str, str], scratch: Path) -> Iterator[dict[str, str]]:
    """nginx in front of the services at `urls` (one for each of its sites), as `make run-nginx` deploys
    them, on free ports: their URLs through it."""
    sites = {
        name: Site(f"127.0.0.1:{free_port()}", urls[name].removeprefix("http://")) for name in SITE_NAMES
    }
    with start(scratch, sites, Settings().max_body_bytes) as nginx:
        yield nginx.urls


def access_log_with(server: LiveServer, text: str, timeout_s: float = 10) -> str:
    """The server's log once `text` is in it: the access line is written after the response is sent."""
    deadline = time.monotonic() + timeout_s
    while text not in (log := server.log.read_text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no access log line with {text!r} in {server.log}")
        time.sleep(0.05)
    return log


def workers_of(server: LiveServer) -> list[psutil.Process]:
    """The worker processes: gunicorn's master and uvicorn's supervisor each have one child per worker."""
    workers = []
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.NoSuchProcess:  # the worker just killed (a zombie until reaped), or gone
            continue
        if command and "resource_tracker" not in command:  # multiprocessing's helper is no worker
            workers.append(child)
    return workers
