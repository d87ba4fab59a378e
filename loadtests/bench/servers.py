"""The servers under test, as data: which framework, which server variant, and its environment.

A variant is one way to serve a framework (gunicorn sync workers, uvicorn, ...). Adding one (e.g. gunicorn
gthread) is one more entry in VARIANTS; the runner, summary and report take whatever is listed.
"""

import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadtests.bench import processes


@dataclass(frozen=True)
class ServerVariant:
    framework: str
    variant: str
    module: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.framework}-{self.variant}"

    @property
    def label(self) -> str:
        return FRAMEWORK_LABELS.get(self.framework, self.framework) + f" ({self.variant})"


FRAMEWORK_LABELS = {"flask": "Flask", "fastapi": "FastAPI"}

VARIANTS: tuple[ServerVariant, ...] = (
    ServerVariant("flask", "gunicorn-sync", "flask_service.server", {"GUNICORN_WORKER_CLASS": "sync"}),
    ServerVariant("fastapi", "uvicorn", "fastapi_service.server"),
)


@dataclass
class RunningServer:
    variant: ServerVariant
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    command: str

    @property
    def config_line(self) -> str:
        """What the server says it runs with: both services print their configuration first."""
        for line in processes.log_tail(self.log, 100_000).splitlines():
            if line.startswith(("gunicorn ", "uvicorn ")):
                return line
        return ""


class ServerStartError(RuntimeError):
    pass


def start_server(
    variant: ServerVariant, workers: int, cpus: Sequence[int], log_dir: Path, timeout_s: float = 30
) -> RunningServer:
    """Start the variant on a free loopback port and wait for GET /health, or raise quoting its log."""
    port = processes.free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": str(workers), **variant.env}
    command = processes.pinned(processes.python_module(variant.module), cpus)
    log = log_dir / f"{variant.key}.log"
    process = processes.start(command, env, log)
    server = RunningServer(variant, f"http://127.0.0.1:{port}", process, log, processes.shown(command, env))
    try:
        wait_until_healthy(server, timeout_s)
    except BaseException:
        processes.stop(process)
        raise
    return server


def wait_until_healthy(server: RunningServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                f"{server.variant.key} exited with code {server.process.returncode} before it was healthy; "
                f"the end of its log ({server.log}):\n{processes.log_tail(server.log)}"
            )
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerStartError(
        f"{server.variant.key} was not healthy after {timeout_s:.0f} s; the end of its log ({server.log}):\n"
        f"{processes.log_tail(server.log)}"
    )
