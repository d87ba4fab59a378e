"""`python -m loadtests.crash` (make crash): what a crashed worker costs each service as deployed, behind
nginx, and how long until it is whole again.

`make run-nginx`'s own code (deploy/run.py) starts both services behind nginx, on free loopback ports. An
open-loop load sends RATE predictions a second to each through nginx, every request at its planned time
whether or not the one before was answered, so that a stall shows as waiting, not as fewer requests. KILL_AT
seconds in, one worker of each server is killed with SIGKILL (what the kernel's OOM killer or a crash in a C
extension does); the load goes on to the end of the window. For each server: the requests sent, those that
failed and how (nginx's 502, a reset or refused connection, a timeout), the longest wait for an answer, when
answers resumed for requests sent after the kill, and when the replacement worker said it was ready (its own
log line: gunicorn's post_worker_init hook, uvicorn's "Application startup complete."). Twice: with two
workers each, then with one, the default. About a minute, loopback only.

`--docs` writes the table between docs/reliability.md's crash markers; `--repo` measures another checkout
(`--docs-section before` for the table of the code as it was).
"""

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil

from deploy.run import SERVICES
from loadtests.bench.render.markers import replace_between
from shared.examples import EXAMPLE_PENGUIN
from shared.lifecycle import child_setup, stop_on_signals
from shared.settings import REPO_ROOT

RATE = 20.0  # requests/s to each service
WINDOW_S = 24.0
KILL_AT_S = 4.0
WORKER_COUNTS = (2, 1)
TIMEOUT_S = 10.0  # a request not answered by then counts as a timeout
START_TIMEOUT_S = 90.0
WATCH_EVERY_S = 0.02
DOCS = REPO_ROOT / "docs" / "reliability.md"
FRONT = re.compile(r" at (http://[^\s,]+) \((\w+) on ([^)\s]+)\)")


@dataclass
class Answer:
    sent_s: float  # planned, from the window's start
    ended_s: float
    outcome: str  # "200", another status, or how the connection failed


@dataclass
class Server:
    """One service's server under the load: its process, its workers, what happened to it."""

    service: str
    module: str
    url: str  # through nginx
    server: str = "?"  # gunicorn, uvicorn: from the line each service prints first
    process: psutil.Process | None = None
    workers_before: set[int] = field(default_factory=set)
    killed: int | None = None
    replaced_s: float | None = None  # a new worker process seen, from the kill
    ready_s: float | None = None  # the new worker said it was ready, from the kill
    answers: list[Answer] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    service: str
    server: str
    workers: int
    requests: int
    failed: int
    how: str
    longest_wait_s: float
    answering_after_s: float | None  # the first answer to a request sent after the kill
    ready_after_s: float | None
    replaced_after_s: float | None


def workers_of(process: psutil.Process) -> set[int]:
    """The processes that serve: a master's or a supervisor's children (not multiprocessing's resource
    tracker), or the server process itself when it has none (uvicorn run as one process)."""
    try:
        children = [
            child
            for child in process.children()
            if "resource_tracker" not in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE
        ]
        return {child.pid for child in children} or ({process.pid} if process.is_running() else set())
    except psutil.NoSuchProcess:
        return set()


def outcome_of(exc: Exception) -> str:
    if isinstance(exc, httpx2.ConnectError):
        return "refused"
    if isinstance(exc, httpx2.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx2.ReadError | httpx2.WriteError | httpx2.RemoteProtocolError):
        return "reset"
    return type(exc).__name__


async def send(client: httpx2.AsyncClient, server: Server, planned: float, started: float) -> None:
    try:
        reply = await client.post(f"{server.url}/predict", json=EXAMPLE_PENGUIN)
        outcome = str(reply.status_code)
    except httpx2.HTTPError as exc:
        outcome = outcome_of(exc)
    server.answers.append(Answer(planned, time.monotonic() - started, outcome))


async def load(servers: Sequence[Server], rate: float, window_s: float, started: float) -> None:
    """Each service sent `rate` requests a second for `window_s`, each at its planned time."""
    limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx2.AsyncClient(timeout=TIMEOUT_S, limits=limits) as client:
        tasks = []
        for index in range(int(window_s * rate)):
            planned = index / rate
            await asyncio.sleep(max(0.0, started + planned - time.monotonic()))
            tasks += [asyncio.create_task(send(client, server, planned, started)) for server in servers]
        await asyncio.gather(*tasks)


class Watch(threading.Thread):
    """Kills a worker of each server at `kill_at_s`, then sees its replacement start and say it is ready."""

    def __init__(self, servers: Sequence[Server], log: Path, started: float, kill_at_s: float) -> None:
        super().__init__(daemon=True)
        self.servers, self.log, self.started, self.kill_at_s = servers, log, started, kill_at_s
        self.done = threading.Event()
        self.killed_s = kill_at_s  # when the kills were sent, from the window's start

    def run(self) -> None:
        while time.monotonic() < self.started + self.kill_at_s:
            time.sleep(WATCH_EVERY_S)
        killed_at = time.monotonic()
        for server in self.servers:
            assert server.process is not None
            server.workers_before = workers_of(server.process)
            if server.workers_before:
                server.killed = min(server.workers_before)
                os.kill(server.killed, signal.SIGKILL)
        self.killed_s = time.monotonic() - self.started
        while not self.done.wait(WATCH_EVERY_S):
            text = self.log.read_text(errors="replace")
            for server in self.servers:
                assert server.process is not None
                new = workers_of(server.process) - server.workers_before
                if new and server.replaced_s is None:
                    server.replaced_s = time.monotonic() - killed_at
                if new and server.ready_s is None and any(said_ready(text, pid) for pid in new):
                    server.ready_s = time.monotonic() - killed_at


def said_ready(log: str, pid: int) -> bool:
    """Whether worker `pid` said it loaded the app: gunicorn's post_worker_init line (flask_service/server.py)
    or uvicorn's startup lines, which name the worker first and then say it is complete."""
    if f"Worker ready (pid: {pid})" in log:
        return True
    started = log.find(f"Started server process [{pid}]")
    return started >= 0 and "Application startup complete." in log[started:]


def start_deployment(repo: Path, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """make run-nginx's code, each port a free one (its knobs), its output in `log`."""
    python = repo / ".venv" / "bin" / "python"
    knobs = {}
    for name in SERVICES:
        knobs[f"{name.upper()}_PORT"] = "0"
        knobs[f"{name.upper()}_NGINX_PORT"] = str(free_port())
    environ = {**os.environ, "PYTHONPATH": str(repo), "WORKERS": str(workers), **knobs}
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(python if python.exists() else sys.executable), "-m", "deploy.run"],
            cwd=repo,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child_setup(),
        )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def servers_in_front(deployment: subprocess.Popen[bytes], log: Path) -> list[Server]:
    """The services behind nginx once it says where they are, with their server processes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (fronts := FRONT.findall(log.read_text(errors="replace"))):
        if deployment.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"make run-nginx did not start; its output:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    root = psutil.Process(deployment.pid)
    servers = []
    for (name, (module, _, _)), (url, _, _) in zip(SERVICES.items(), fronts, strict=False):
        process = next(p for p in root.children() if module in " ".join(p.cmdline()))
        said = re.search(rf"^(\w+) {module.split('.')[0]}\.app:app", log.read_text(), re.MULTILINE)
        servers.append(Server(name, module, url, said.group(1) if said else "?", process))
    return servers


def measure(
    workers: int, repo: Path, scratch: Path, rate: float, window_s: float, kill_at_s: float
) -> list[Row]:
    log = scratch / f"run-nginx-{workers}.log"
    deployment = start_deployment(repo, workers, log)
    try:
        servers = servers_in_front(deployment, log)
        for server in servers:  # warm: each worker has loaded its model
            for _ in range(2 * workers):
                httpx2.post(f"{server.url}/predict", json=EXAMPLE_PENGUIN, timeout=TIMEOUT_S)
        started = time.monotonic() + 0.5
        watch = Watch(servers, log, started, kill_at_s)
        watch.start()
        asyncio.run(load(servers, rate, window_s, started))
        time.sleep(0.5)
        watch.done.set()
        watch.join()
        return [row(server, workers, watch.killed_s) for server in servers]
    finally:
        stop(deployment)


def stop(deployment: subprocess.Popen[bytes]) -> None:
    if deployment.poll() is None:
        os.killpg(deployment.pid, signal.SIGTERM)
        try:
            deployment.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(deployment.pid, signal.SIGKILL)
            deployment.wait()


def row(server: Server, workers: int, killed_s: float) -> Row:
    failures = Counter(a.outcome for a in server.answers if a.outcome != "200")
    after = [a.ended_s for a in server.answers if a.sent_s >= killed_s and a.outcome == "200"]
    return Row(
        service=server.service,
        server=server.server,
        workers=workers,
        requests=len(server.answers),
        failed=sum(failures.values()),
        how=", ".join(f"{n} {how_named(kind)}" for kind, n in failures.most_common()),
        longest_wait_s=max((a.ended_s - a.sent_s for a in server.answers), default=0.0),
        answering_after_s=min(after) - killed_s if after else None,
        ready_after_s=server.ready_s,
        replaced_after_s=server.replaced_s,
    )


def how_named(outcome: str) -> str:
    return {"502": "502 from nginx", "504": "504 from nginx"}.get(outcome, outcome)


def seconds(value: float | None, never: str) -> str:
    return never if value is None else f"{value:.1f} s"


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| server | workers | requests | failed | how they failed | longest wait | answers for requests sent "
        "after the kill, from | replacement ready |",
        "|---|--:|--:|--:|---|--:|--:|--:|",
    ]
    for r in rows:
        ready = seconds(r.ready_after_s, "")
        if not ready:
            ready = (
                f"started {r.replaced_after_s:.1f} s (ready not logged)" if r.replaced_after_s else "never"
            )
        lines.append(
            f"| {r.service} ({r.server}) | {r.workers} | {r.requests} | {r.failed} | {r.how or '-'} "
            f"| {r.longest_wait_s:.2f} s | {seconds(r.answering_after_s, 'never')} | {ready} |"
        )
    return "\n".join(lines)


def section(
    rows: Sequence[Row], repo: Path, rate: float, window_s: float, kill_at_s: float, load: float
) -> str:
    """The table with where it comes from, for docs/reliability.md."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    return (
        f"From `python -m loadtests.crash` on {time.strftime('%Y-%m-%d')}, commit {commit or 'unknown'} "
        f"({os.cpu_count()} cores, load average {load:.1f} before it started): {rate:g} predictions a second "
        "to each service through nginx for "
        f"{window_s:g} s, one worker of each server killed with SIGKILL {kill_at_s:g} s in.\n\n{table(rows)}"
    )


def write_docs(text: str, name: str) -> None:
    markers = (f"<!-- crash:{name} -->", f"<!-- /crash:{name} -->")
    updated = replace_between(DOCS.read_text(), markers, text)
    if updated is None:
        raise SystemExit(f"{DOCS}: no {markers[0]} ... {markers[1]} markers")
    DOCS.write_text(updated)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=RATE, help=f"requests/s to each service ({RATE:g})")
    parser.add_argument("--window", type=float, default=WINDOW_S, help=f"seconds of load ({WINDOW_S:g})")
    parser.add_argument("--kill-at", type=float, default=KILL_AT_S, help=f"seconds in ({KILL_AT_S:g})")
    parser.add_argument("--workers", default=",".join(map(str, WORKER_COUNTS)), help="worker counts, in turn")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="the checkout to measure")
    parser.add_argument("--docs", action="store_true", help=f"write the table in {DOCS.name}")
    parser.add_argument("--docs-section", default="now", choices=("now", "before"))
    args = parser.parse_args(argv)
    if not 0 < args.kill_at < args.window <= 120 or not 0 < args.rate <= 200:
        parser.error("0 < --kill-at < --window <= 120 and 0 < --rate <= 200")
    stop_on_signals()
    load = os.getloadavg()[0]  # other work on the machine: what the timings also depend on
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="crash-") as scratch:
        for workers in (int(n) for n in args.workers.split(",")):
            print(
                f"{workers} worker(s) each: {args.window:g} s at {args.rate:g}/s, a worker killed at "
                f"{args.kill_at:g} s ...",
                flush=True,
            )
            rows += measure(workers, args.repo.resolve(), Path(scratch), args.rate, args.window, args.kill_at)
    text = section(rows, args.repo.resolve(), args.rate, args.window, args.kill_at, load)
    print(text)
    if args.docs:
        write_docs(text, args.docs_section)
        print(f"written in {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
