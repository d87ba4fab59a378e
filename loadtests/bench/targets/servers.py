"""Start the servers under test (plan/variants.py says what they are), nginx in front of those that have it,
and the io scenario's upstream: each on a free loopback port, its output to a log file, healthy before it is
measured."""

import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy import nginx
from loadtests.bench.plan.variants import ServerVariant
from loadtests.bench.targets import processes
from shared import collector
from shared.settings import Settings


@dataclass
class RunningServer:
    variant: ServerVariant
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    command: str
    startup_s: float | None = None  # from the process's start to its first healthy answer
    proxy: nginx.Nginx | None = None  # nginx in front (the variant's `proxy`): `url` is then nginx's
    # Where its workers record the collector's pauses (GC_PAUSES_DIR, shared/collector.py); None: attached.
    gc_dir: Path | None = None
    start_index: int = 0  # which of the run's server starts it is (1-based; 0: attached, never started)
    # How it was started (start_server): when, on which CPUs it is to run, whether it started on others.
    started_at: float = 0.0
    cpus: tuple[int, ...] = ()
    moved: bool = False

    @property
    def pids(self) -> list[int]:
        """The process groups to stop: the server's, and nginx's in front of it."""
        return [self.process.pid, *([self.proxy.process.pid] if self.proxy else [])]

    @property
    def config_line(self) -> str:
        """What the server says it runs with: both services print their configuration first; Granian's
        command line is its configuration."""
        for line in processes.log_tail(self.log, 100_000).splitlines():
            if line.startswith(("gunicorn ", "uvicorn ")):
                return line
        return f"granian {' '.join(self.variant.args)}" if self.variant.module == "granian" else ""


class ServerStartError(RuntimeError):
    pass


def start_server(
    variant: ServerVariant,
    workers: int,
    cpus: Sequence[int],
    log_dir: Path,
    timeout_s: float = 30,
    users: int = 1,
    extra_env: Mapping[str, str] | None = None,
    log_name: str = "",
    start_cpus: Sequence[int] = (),
    ready: bool = True,
) -> RunningServer:
    """Start the variant on a free loopback port and wait for GET /health, or raise quoting its log.
    `users` sizes what depends on the load (gthread's threads); `extra_env` adds e.g. UPSTREAM_URL or
    MODEL_NAME; `log_name` names its log (default: the variant's key) and its folder of pauses. With `ready`
    False it returns as soon as the process is started: ready_server then waits for it."""
    port = processes.free_port()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": str(workers),
        **variant.environment(workers, users),
        **(extra_env or {}),
    }
    arguments = variant.arguments("127.0.0.1", port, workers)
    bare = [*processes.python_module(variant.module), *arguments]
    command = processes.pinned(bare, cpus)
    # Started on `start_cpus` when given (servers started together, before any is measured, on every CPU),
    # then moved onto the servers' CPUs, workers and threads alike; the command shown is the pinned one.
    started_as = processes.pinned(bare, start_cpus) if start_cpus and cpus else command
    log = log_dir / f"{log_name or variant.key}.log"
    gc_dir = fresh_directory(log_dir / "gc", log_name or variant.key)
    started = time.perf_counter()
    # The pauses' folder is left out of the command shown: the bench's instrument, like its CPU sampler, not
    # a setting a reader repeating the command needs.
    # The collector is the variant's (GC_TUNING in its environment) and the experiment's (extra_env), never
    # the caller's: a GC_TUNING=1 left in a shell would otherwise tune the interpreter's variants too. So is
    # the model, when the bench names one (the crossover): MODEL_NAME or MODEL_PATH, never both.
    unset = collector.SETTINGS + (MODEL_VARIABLES if set(MODEL_VARIABLES) & set(env) else ())
    process = processes.start(started_as, {**env, "GC_PAUSES_DIR": str(gc_dir)}, log, unset=unset)
    server = RunningServer(
        variant, f"http://127.0.0.1:{port}", process, log, processes.shown(command, env), gc_dir=gc_dir
    )
    server.started_at, server.cpus, server.moved = started, tuple(cpus), started_as is not command
    return server if not ready else ready_server(server, timeout_s)


def ready_server(server: RunningServer, timeout_s: float = 30) -> RunningServer:
    """A started server once healthy: its start-up time, moved onto its CPUs if it started elsewhere, nginx
    in front if its variant has it; stopped, and ServerStartError, if it does not get there. Separate from
    start_server so that several can start at once from this thread (a child's parent-death signal is its
    parent thread's: one started from a worker thread would die with that thread)."""
    try:
        wait_until_healthy(server, timeout_s)
    except BaseException:
        processes.stop(server.process)
        raise
    server.startup_s = time.perf_counter() - server.started_at
    if server.moved:
        processes.pin_tree(server.process.pid, server.cpus)
    if server.variant.proxy:
        try:
            put_nginx_in_front(server, server.cpus, server.log.parent)
        except BaseException:
            processes.stop(server.process)
            raise
    return server


def fresh_directory(parent: Path, name: str) -> Path:
    """parent/name-1, or -2, ...: the first that does not exist yet, made (one per start of a server)."""
    n = 1
    while (parent / f"{name}-{n}").exists():
        n += 1
    directory = parent / f"{name}-{n}"
    directory.mkdir(parents=True)
    return directory


def put_nginx_in_front(server: RunningServer, cpus: Sequence[int], log_dir: Path) -> None:
    """deploy/nginx.py's configuration in front of the server, pinned to the servers' CPUs with one worker per
    CPU (written out: `auto` would count the machine's CPUs, not the ones it is given); the server's
    framework's site takes the load, the other sites point at the same server and get nothing."""
    upstream = server.url.removeprefix("http://")
    sites = {name: nginx.Site(f"127.0.0.1:{processes.free_port()}", upstream) for name in nginx.SITE_NAMES}
    own = sites[server.variant.framework]
    scratch = log_dir / f"{server.variant.key}.nginx"
    try:
        proxy = nginx.start(
            scratch,
            sites,
            Settings.from_env().max_body_bytes,
            workers=max(1, len(cpus)),
            command_prefix=processes.pinned((), cpus),
        )
    except (nginx.NginxMissing, RuntimeError) as exc:
        raise ServerStartError(f"{server.variant.key}: nginx did not start: {exc}") from exc
    processes.track(proxy.process)
    server.proxy, server.url = proxy, f"http://{own.listen}"
    server.command += f"; in front: nginx -c {proxy.scratch / 'nginx.conf'}"


def stop_server(server: RunningServer) -> None:
    """nginx first (gracefully: requests in flight finish), then the server, each by its process group."""
    if server.proxy is not None:
        nginx.stop(server.proxy)
        processes.untrack(server.proxy.process)
    processes.stop(server.process)


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
        time.sleep(0.02)  # short: the first healthy answer is the start-up time reported
    raise ServerStartError(
        f"{server.variant.key} was not healthy after {timeout_s:.0f} s; the end of its log ({server.log}):\n"
        f"{processes.log_tail(server.log)}"
    )


MODEL_VARIABLES = ("MODEL_NAME", "MODEL_PATH")
UPSTREAM_MODULE = "upstream.server"


def start_upstream(
    latency_ms: float, cpus: Sequence[int], log_dir: Path, timeout_s: float = 30
) -> RunningServer:
    """The upstream observation service for the io scenario: one uvicorn process on a free port, on the load
    generator's CPUs (the servers' CPUs stay theirs alone), no faults."""
    port = processes.free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "1", "UPSTREAM_LATENCY_MS": f"{latency_ms:g}"}
    command = processes.pinned(processes.python_module(UPSTREAM_MODULE), cpus)
    log = log_dir / "upstream.log"
    process = processes.start(command, env, log)
    variant = ServerVariant("upstream", "uvicorn", UPSTREAM_MODULE)
    server = RunningServer(variant, f"http://127.0.0.1:{port}", process, log, processes.shown(command, env))
    try:
        wait_until_healthy(server, timeout_s)
    except BaseException:
        processes.stop(process)
        raise
    return server
