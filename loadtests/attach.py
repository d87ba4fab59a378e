"""Servers the bench did not start, found by their command line, so that it can read their CPU time.

The compose bench (loadtests/external.py) sees the containers' processes in the host's PID namespace
(`pid: host`): the master of `python -m flask_service.server` is the one whose parent does not run it too.
"""

import itertools
import os
import subprocess
from pathlib import Path
from typing import cast

import psutil

from loadtests.bench.plan.variants import ServerVariant
from loadtests.bench.targets.servers import RunningServer

MODULES = {
    "flask": "flask_service.server",
    "fastapi": "fastapi_service.server",
    "upstream": "upstream.server",
}


class ServerNotFound(RuntimeError):
    pass


class AttachedProcess:
    """A server the bench did not start, by PID: what a Locust run needs of it (its PID, whether it runs)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not psutil.pid_exists(self.pid):
            self.returncode = 0
        return self.returncode


def server_roots(module: str, listing: list[tuple[int, int, list[str]]]) -> list[int]:
    """PIDs running `python -m module` whose parent does not (gunicorn's workers share its command line)."""
    matching = {
        pid: ppid
        for pid, ppid, cmdline in listing
        if any(a == "-m" and b == module for a, b in itertools.pairwise(cmdline))
    }
    return sorted(pid for pid, ppid in matching.items() if ppid not in matching)


def visible_processes() -> list[tuple[int, int, list[str]]]:
    found = []
    for process in psutil.process_iter(["pid", "ppid", "cmdline"]):
        info = process.info
        found.append((info["pid"], info["ppid"] or 0, info["cmdline"] or []))
    return found


def find_server(framework: str, given_pid: int | None) -> int:
    """The server's master process: the PID given, or the only one running its module in sight."""
    if given_pid is not None:
        if not psutil.pid_exists(given_pid):
            raise ServerNotFound(f"--{framework}-pid {given_pid}: no such process")
        return given_pid
    module = MODULES[framework]
    roots = server_roots(module, visible_processes())
    if len(roots) == 1:
        return roots[0]
    found = f"{len(roots)} processes run it (PIDs {', '.join(map(str, roots))})" if roots else "none runs it"
    raise ServerNotFound(
        f"cannot read {framework}'s CPU time: looking for `python -m {module}`, {found}. The bench must see "
        f"the server's processes: run it on the servers' machine, or in compose with `pid: host` (the bench "
        f"profile does), and name the server with --{framework}-pid if several run."
    )


def attached(variant: ServerVariant, url: str, pid: int, command: str) -> RunningServer:
    """A running server as the bench's Locust runs take one; it has no log here (docker compose logs)."""
    process = cast("subprocess.Popen[bytes]", AttachedProcess(pid))
    return RunningServer(variant, url, process, Path(os.devnull), command)
