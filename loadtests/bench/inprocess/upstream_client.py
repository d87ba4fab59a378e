"""CPU per upstream call of each HTTP client a service could fetch with, without any framework:
`python -m loadtests.bench.inprocess.upstream_client` (`--help` for the knobs).

It starts the upstream as `make bench` does (on the load generator's CPUs, `--latency-ms`) and pins itself to
the servers' CPUs. Each client then makes its calls from `--concurrency` callers sharing one pooled client, as
a service worker does: tasks on one event loop for an `AsyncClient` (asyncio's, and uvloop's, which uvicorn
runs), threads for a `Client` (as gunicorn's gthread worker). The figure is this process's CPU time per call
(time.process_time: the client, the event loop or the threads), the median of the repeats.
"""

import argparse
import asyncio
import importlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from loadtests.bench.targets import processes
from loadtests.bench.targets.servers import start_upstream
from shared.settings import Settings
from shared.upstream import POOL_CONNECTIONS, observation_path

LIBRARIES = ("httpx", "httpx2")
RUNS_ON = ("asyncio", "uvloop", "threads")
# The rows of the upstream's data cycled through, as the io scenario's users do (a few are 404s).
PENGUIN_IDS = range(1, 301)


@dataclass(frozen=True)
class Figure:
    library: str
    version: str
    client: str
    runs_on: str
    cpu_us: list[float]
    calls_per_s: float

    @property
    def name(self) -> str:
        return f"{self.library}.{self.client} on {self.runs_on}"

    def row(self) -> str:
        spread = f"{min(self.cpu_us):,.0f}-{max(self.cpu_us):,.0f}"
        return (
            f"| {self.library} {self.version} | {self.client} | {self.runs_on} "
            f"| {statistics.median(self.cpu_us):,.0f} | {spread} | {self.calls_per_s:,.0f} |"
        )


def client_kwargs(library: Any, url: str) -> dict[str, Any]:
    """What shared.upstream.client_options gives the services, in this library's own types."""
    return {
        "base_url": url,
        "timeout": library.Timeout(Settings.upstream_timeout_s),
        "limits": library.Limits(
            max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_CONNECTIONS
        ),
    }


def paths(calls: int) -> list[str]:
    return [observation_path(PENGUIN_IDS[i % len(PENGUIN_IDS)]) for i in range(calls)]


def per_caller(calls: int, concurrency: int) -> list[list[str]]:
    every = paths(calls)
    return [every[i::concurrency] for i in range(concurrency)]


async def async_cpu(
    library: Any, url: str, calls: int, concurrency: int, repeats: int
) -> tuple[list[float], float]:
    """CPU µs per call of each repeat, and the calls per second of the last one."""
    async with library.AsyncClient(**client_kwargs(library, url)) as client:

        async def caller(todo: Sequence[str]) -> None:
            for path in todo:
                await client.get(path)

        await asyncio.gather(*(caller(todo) for todo in per_caller(concurrency * 4, concurrency)))  # warm
        cpu, rate = [], 0.0
        for _ in range(repeats):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            await asyncio.gather(*(caller(todo) for todo in per_caller(calls, concurrency)))
            cpu.append((time.process_time() - cpu_start) / calls * 1e6)
            rate = calls / (time.perf_counter() - wall_start)
        return cpu, rate


def threads_cpu(
    library: Any, url: str, calls: int, concurrency: int, repeats: int
) -> tuple[list[float], float]:
    with library.Client(**client_kwargs(library, url)) as client, ThreadPoolExecutor(concurrency) as pool:

        def caller(todo: Sequence[str]) -> None:
            for path in todo:
                client.get(path)

        list(pool.map(caller, per_caller(concurrency * 4, concurrency)))  # warm
        cpu, rate = [], 0.0
        for _ in range(repeats):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            list(pool.map(caller, per_caller(calls, concurrency)))
            cpu.append((time.process_time() - cpu_start) / calls * 1e6)
            rate = calls / (time.perf_counter() - wall_start)
        return cpu, rate


def run(library: Any, runs_on: str, url: str, calls: int, concurrency: int, repeats: int) -> Figure:
    """One client on one kind of caller: "asyncio" or "uvloop" (an AsyncClient) or "threads" (a Client)."""
    if runs_on == "threads":
        cpu, rate = threads_cpu(library, url, calls, concurrency, repeats)
        return Figure(library.__name__, library.__version__, "Client", f"{concurrency} threads", cpu, rate)
    loop_run = uvloop.run if runs_on == "uvloop" else asyncio.run
    cpu, rate = loop_run(async_cpu(library, url, calls, concurrency, repeats))
    return Figure(library.__name__, library.__version__, "AsyncClient", runs_on, cpu, rate)


def measure(
    libraries: Sequence[str], url: str, calls: int, concurrency: int, repeats: int, say: Callable[[str], None]
) -> list[Figure]:
    figures = []
    for name in libraries:
        library = importlib.import_module(name)
        for runs_on in RUNS_ON:
            figure = run(library, runs_on, url, calls, concurrency, repeats)
            say(f"  {figure.name}: {statistics.median(figure.cpu_us):,.0f} µs of CPU per call")
            figures.append(figure)
    return figures


def table(figures: Sequence[Figure]) -> str:
    return "\n".join(
        [
            "| library | client | runs on | CPU per call, µs (median) | min-max | calls/s |",
            "|---|---|---|--:|--:|--:|",
            *(figure.row() for figure in figures),
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench.inprocess.upstream_client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the upstream's delay (default 50)")
    parser.add_argument("--concurrency", type=int, default=32, help="callers sharing the client (default 32)")
    parser.add_argument("--calls", type=int, default=1600, help="calls per repeat (default 1600)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per client (default 3)")
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma list (default httpx,httpx2)")
    args = parser.parse_args(argv)
    args.libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    if not args.libraries or set(args.libraries) - set(LIBRARIES):
        parser.error(f"--libraries: a comma list of {', '.join(LIBRARIES)}, got {','.join(args.libraries)}")
    if min(args.concurrency, args.calls, args.repeats) < 1 or args.latency_ms < 0:
        parser.error("--concurrency, --calls and --repeats must be at least 1, --latency-ms at least 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = processes.current_cpu_plan()
    # httpcore 1.0 looks for sniffio on every lock it sets up, and a failed import is not cached.
    sniffio = "installed" if importlib.util.find_spec("sniffio") else "not installed"
    print(
        f"CPU per upstream call: {args.concurrency} concurrent callers, upstream latency "
        f"{args.latency_ms:g} ms, {args.calls} calls x {args.repeats} repeats per client; {plan.note}; "
        f"Python {sys.version.split()[0]}, sniffio {sniffio}.",
        flush=True,
    )
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    with tempfile.TemporaryDirectory(prefix="upstream-client-") as logs:
        upstream = start_upstream(args.latency_ms, plan.generator, Path(logs))
        try:
            processes.pin_self(plan.server)
            figures = measure(
                args.libraries,
                upstream.url,
                args.calls,
                args.concurrency,
                args.repeats,
                lambda line: print(line, flush=True),
            )
        finally:
            processes.stop(upstream.process)
            processes.pin_self(affinity)  # as it was: main() may run inside another program (the tests)
    print("\n" + table(figures))
    return 0


if __name__ == "__main__":
    processes.install_cleanup()
    raise SystemExit(main())
