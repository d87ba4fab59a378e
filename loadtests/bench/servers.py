"""The servers under test, as data: which framework, which server variant, and how it is started.

A variant is one way to serve a framework (gunicorn sync workers, uvicorn, Granian, ...). Adding one is one
more entry in CATALOGUE; a profile (loadtests/bench/config.py) or VARIANTS= picks those a run compares, and
the plan, analysis and report take whatever is picked. `scenarios` says where a variant means something:
"cpu" (health, predict, batch, invalid, mixed) or "io" (a route that waits on the upstream).
"""

import math
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from loadtests.bench import processes
from loadtests.scenarios import CPU, IO_BOUND

# How many requests one worker process of a variant has in flight at once, while they wait on I/O.
ONE = "one"  # a sync worker, or an event loop stalled by a blocking call
THREADS = "threads"  # one per thread
MANY = "many"  # an event loop, or gevent's greenlets: as many as the connections


@dataclass(frozen=True)
class ServerVariant:
    framework: str
    variant: str
    module: str  # run as `python -m module *args`
    # Values may name {threads}: one thread per user the worker can be sent (see threads_per_worker).
    env: Mapping[str, str] = field(default_factory=dict)
    concurrency: str = MANY
    note: str = ""  # what it is, for the report
    # Arguments after the module, which may name {host}, {port} and {workers}; none: the module reads HOST,
    # PORT and WORKERS (the services' own server modules).
    args: tuple[str, ...] = ()
    scenarios: frozenset[str] = frozenset({CPU, IO_BOUND})
    keeps_alive: bool = True  # whether a client's connection serves more than one request

    @property
    def key(self) -> str:
        return f"{self.framework}-{self.variant}"

    @property
    def label(self) -> str:
        return FRAMEWORK_LABELS.get(self.framework, self.framework) + f" ({self.variant})"

    def environment(self, workers: int, users: int) -> dict[str, str]:
        threads = str(threads_per_worker(users, workers))
        return {name: value.format(threads=threads) for name, value in self.env.items()}

    def arguments(self, host: str, port: int, workers: int) -> list[str]:
        return [arg.format(host=host, port=port, workers=workers) for arg in self.args]

    def in_flight(self, workers: int, users: int) -> int | None:
        """Requests the server holds at once while they wait; None: as many as arrive (here, `users`)."""
        if self.concurrency == ONE:
            return workers
        if self.concurrency == THREADS:
            return workers * threads_per_worker(users, workers)
        return None


def threads_per_worker(users: int, workers: int) -> int:
    """gthread's threads: enough for every user's request to have one (users / workers, rounded up). Fewer
    would make requests queue for a thread, so the bound would be threads x workers / latency, not users /
    latency; more only cost memory and GIL contention."""
    return max(1, math.ceil(users / max(1, workers)))


FRAMEWORK_LABELS = {"flask": "Flask", "fastapi": "FastAPI"}


def granian(interface: str, app: str) -> tuple[str, ...]:
    """Granian's command line, its defaults otherwise (its README: no thread tuning, one worker per CPU)."""
    return (
        "--interface",
        interface,
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--workers",
        "{workers}",
        "--no-ws",
        app,
    )


FLASK_SYNC = ServerVariant(
    "flask",
    "gunicorn-sync",
    "flask_service.server",
    {"GUNICORN_WORKER_CLASS": "sync"},
    ONE,
    "the default: a sync worker serves one request at a time, waiting included, and closes the connection "
    "after each response",
    keeps_alive=False,
)
FASTAPI_UVICORN = ServerVariant(
    "fastapi",
    "uvicorn",
    "fastapi_service.server",
    concurrency=MANY,
    note="the default: uvicorn (uvloop, httptools), connections kept alive; `def` prediction views in the "
    "thread pool, `async def` for the rest",
)
FLASK_GRANIAN = ServerVariant(
    "flask",
    "granian",
    "granian",
    concurrency=THREADS,
    note="Granian's WSGI interface (one Rust HTTP core for both frameworks), connections kept alive",
    args=granian("wsgi", "flask_service.app:app"),
)
FASTAPI_GRANIAN = ServerVariant(
    "fastapi",
    "granian",
    "granian",
    concurrency=MANY,
    note="Granian's ASGI interface, the same server as Flask's Granian variant",
    args=granian("asgi", "fastapi_service.app:app"),
)
FLASK_GTHREAD = ServerVariant(
    "flask",
    "gunicorn-gthread",
    "flask_service.server",
    {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "{threads}"},
    THREADS,
    "gunicorn's threaded worker, one thread per user (users / workers), connections kept alive; the same "
    "`def` views",
)
FASTAPI_ASYNC_DEF = ServerVariant(
    "fastapi",
    "async-def",
    "examples.fastapi_async_predict",
    concurrency=MANY,
    note="`async def` prediction endpoints (examples/fastapi_async_predict.py): the model runs on the event "
    "loop, no thread-pool hop",
    scenarios=frozenset({CPU}),
)

VARIANTS: tuple[ServerVariant, ...] = (FLASK_SYNC, FASTAPI_UVICORN)
CPU_VARIANTS: tuple[ServerVariant, ...] = (
    *VARIANTS,
    FASTAPI_GRANIAN,
    FLASK_GRANIAN,
    FLASK_GTHREAD,
    FASTAPI_ASYNC_DEF,
)
IO_VARIANTS: tuple[ServerVariant, ...] = (
    FLASK_GTHREAD,
    ServerVariant(
        "flask",
        "gunicorn-gevent",
        "flask_service.server",
        {"GUNICORN_WORKER_CLASS": "gevent"},
        MANY,
        "gunicorn's gevent worker (monkey-patched sockets: httpx2's waits yield), up to 1000 connections "
        "per worker; the same `def` view",
        scenarios=frozenset({IO_BOUND}),
    ),
    ServerVariant(
        "fastapi",
        "async-blocking",
        "examples.fastapi_blocking_call",
        concurrency=ONE,
        note="mistake: `async def` calling the sync httpx2.Client (examples/fastapi_blocking_call.py): "
        "the event loop waits with it",
        scenarios=frozenset({IO_BOUND}),
    ),
    ServerVariant(
        "flask",
        "async-view",
        "examples.flask_async_view",
        {"GUNICORN_WORKER_CLASS": "sync"},
        ONE,
        "mistake: an `async def` view under the sync worker (examples/flask_async_view.py): Flask runs "
        "it to completion in a new event loop",
        scenarios=frozenset({IO_BOUND}),
        keeps_alive=False,
    ),
)
CATALOGUE: tuple[ServerVariant, ...] = tuple({v.key: v for v in (*CPU_VARIANTS, *IO_VARIANTS)}.values())


def variants_by_key(
    keys: Sequence[str], catalogue: Sequence[ServerVariant] = CATALOGUE
) -> list[ServerVariant]:
    """The variants named, in catalogue order; an unknown name is an error."""
    known = {variant.key for variant in catalogue}
    if unknown := [key for key in keys if key not in known]:
        raise ValueError(f"unknown server variant(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [variant for variant in catalogue if variant.key in keys]


@dataclass
class RunningServer:
    variant: ServerVariant
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    command: str
    startup_s: float | None = None  # from the process's start to its first healthy answer

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
) -> RunningServer:
    """Start the variant on a free loopback port and wait for GET /health, or raise quoting its log.
    `users` sizes what depends on the load (gthread's threads); `extra_env` adds e.g. UPSTREAM_URL."""
    port = processes.free_port()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": str(workers),
        **variant.environment(workers, users),
        **(extra_env or {}),
    }
    arguments = variant.arguments("127.0.0.1", port, workers)
    command = processes.pinned([*processes.python_module(variant.module), *arguments], cpus)
    log = log_dir / f"{variant.key}.log"
    started = time.perf_counter()
    process = processes.start(command, env, log)
    server = RunningServer(variant, f"http://127.0.0.1:{port}", process, log, processes.shown(command, env))
    try:
        wait_until_healthy(server, timeout_s)
    except BaseException:
        processes.stop(process)
        raise
    server.startup_s = time.perf_counter() - started
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
        time.sleep(0.02)  # short: the first healthy answer is the start-up time reported
    raise ServerStartError(
        f"{server.variant.key} was not healthy after {timeout_s:.0f} s; the end of its log ({server.log}):\n"
        f"{processes.log_tail(server.log)}"
    )


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
