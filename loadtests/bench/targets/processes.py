"""The bench's child processes (servers, Locust, auxiliaries): pinned to their CPUs, output to a log file,
each in its own process group, and all stopped at the end: on failure, on the first SIGINT, SIGTERM or SIGHUP
(later ones let the clean-up finish), and by the kernel if the bench itself is killed (shared/lifecycle.py).

Stopping is by process group id, which is each child's own PID (`start_new_session`), never by name.
"""

import atexit
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from deploy.nginx import stop_group
from shared.lifecycle import child_setup, stop_on_signals
from shared.settings import REPO_ROOT

_started: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class CpuPlan:
    """Which CPUs the servers get and which the load generator gets, and why."""

    server: tuple[int, ...]
    generator: tuple[int, ...]
    note: str

    @property
    def pinned(self) -> bool:
        return bool(self.server) and bool(self.generator)


def plan_cpus(available: Sequence[int] | None, taskset: bool) -> CpuPlan:
    """Half the CPUs (rounded down, at least one) for the servers, the rest for Locust and the runner."""
    if available is None or not taskset:
        return CpuPlan((), (), "no CPU affinity on this OS (or no taskset): processes are not pinned")
    cpus = sorted(available)
    if len(cpus) < 2:
        return CpuPlan((), (), "one CPU only: servers and Locust share it, figures are indicative only")
    half = len(cpus) // 2
    return CpuPlan(
        tuple(cpus[:half]),
        tuple(cpus[half:]),
        f"servers on CPU {cpu_list(cpus[:half])}, Locust and the runner on CPU {cpu_list(cpus[half:])}",
    )


def cpu_list(cpus: Sequence[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)


def current_cpu_plan() -> CpuPlan:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return plan_cpus(available, taskset=shutil.which("taskset") is not None)


def pin_self(cpus: Sequence[int]) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)


def pin_tree(pid: int, cpus: Sequence[int]) -> None:
    """A running process, its children and every thread of each, onto `cpus` (sched_setaffinity acts on one
    thread; a server's workers and thread pools are already running). What it forks or spawns later inherits
    the affinity of its parent."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        try:
            for thread in process.threads():
                os.sched_setaffinity(thread.id, cpus)
        except (psutil.NoSuchProcess, ProcessLookupError):  # it ended meanwhile
            continue


def pinned(command: Sequence[str], cpus: Sequence[int]) -> list[str]:
    """The command under `taskset -c CPUS`, which its children (gunicorn's workers) inherit."""
    return ["taskset", "-c", cpu_list(cpus), *command] if cpus else list(command)


def shown(command: Sequence[str], env: Mapping[str, str]) -> str:
    """A command as one could paste it into a shell at the repository's root, with the variables it gets."""
    root = f"{REPO_ROOT}{os.sep}"
    words = [word.removeprefix(root) for word in command]
    assignments = [f"{name}={value}" for name, value in {"PYTHONPATH": ".", **env}.items()]
    return shlex.join(["env", *assignments, *words])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def start(
    command: Sequence[str], env: Mapping[str, str], log: Path, unset: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start a process in its own session, stdout and stderr into `log`; `env` adds to the bench's own, less
    the variables named in `unset` (a setting the bench decides, whatever the caller's environment says)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    inherited = {name: value for name, value in os.environ.items() if name not in unset}
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            cwd=REPO_ROOT,
            env={**inherited, "PYTHONPATH": str(REPO_ROOT), **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=child_setup(),
        )
    _started[process.pid] = process
    return process


def track(process: subprocess.Popen[bytes]) -> None:
    """A process started elsewhere (nginx, by deploy/nginx.py) stopped with the bench's own at exit."""
    _started[process.pid] = process


def untrack(process: subprocess.Popen[bytes]) -> None:
    _started.pop(process.pid, None)


def stop(process: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM to the process group (a server's master and workers), SIGKILL to what outlives the grace."""
    try:
        stop_group(process, signal.SIGTERM, grace_s)
    finally:
        _started.pop(process.pid, None)


def stop_all() -> None:
    """The last started first: the load before the server it drives, the servers before their upstream."""
    for process in reversed(list(_started.values())):
        stop(process)


def log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def install_cleanup() -> None:
    """Every process started is stopped at exit; the first SIGINT, SIGTERM or SIGHUP raises
    shared.lifecycle.Interrupted (a KeyboardInterrupt) to get there, and later ones let it finish."""
    atexit.register(stop_all)
    stop_on_signals()
