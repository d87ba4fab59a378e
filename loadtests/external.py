"""make bench against services that are already running: the docker compose bench profile.

    python -m loadtests.external --flask-url http://flask:8001 --fastapi-url http://fastapi:8002 [knobs]

The same work as `make bench`, from its own parts (loadtests/bench/): the contract verified live, the model
timed in-process, then per scenario the capacity runs (variants interleaved), the equal-load rate chosen from
them and the fixed-rate runs; the same summary.json, report.md and charts. What differs: the bench neither
starts nor pins the servers (in compose they are containers with equal CPU and memory limits), and it finds
each server's process to read its CPU time, which it can when it shares the servers' PID namespace (the
compose profile runs it with `pid: host`) or runs on their machine.
"""

import argparse
import dataclasses
import itertools
import math
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psutil

from loadtests.bench import processes
from loadtests.bench.config import BenchConfig, equal_load_rate
from loadtests.bench.environment import machine_record
from loadtests.bench.loadrun import LoadPlan, locust_command, run_load
from loadtests.bench.microbench import run_microbench
from loadtests.bench.output import write_results
from loadtests.bench.records import CAPACITY, FIXED, Measurement, save_measurements
from loadtests.bench.runner import config_from, new_results_dir, progress_line, say
from loadtests.bench.servers import RunningServer, ServerVariant
from loadtests.bench.summary import build_summary
from loadtests.bench.verify import verify
from loadtests.scenarios import Scenario
from shared.settings import REPO_ROOT

MODULES = {"flask": "flask_service.server", "fastapi": "fastapi_service.server"}


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


@dataclasses.dataclass(frozen=True)
class Deployment:
    """How the services were started, as far as the bench knows: for the report, not checked."""

    workers: int
    server_cpus: float | None
    server_memory: str | None

    @property
    def note(self) -> str:
        if self.server_cpus is None:
            return (
                "no CPU pinning: the servers were already running, started outside the bench; Locust unpinned"
            )
        return (
            f"no CPU pinning: each server in a container limited to {self.server_cpus:g} CPU(s) "
            f"(a CFS quota, Docker's --cpus) and {self.server_memory} of memory, Locust and the runner in "
            "another container without limits"
        )


class ExternalBench:
    def __init__(
        self, config: BenchConfig, urls: dict[str, str], pids: dict[str, int], deployment: Deployment
    ):
        self.config = config
        self.urls = urls
        self.pids = pids
        self.deployment = deployment
        self.results_dir = new_results_dir(config.results_root)
        self.servers: dict[str, RunningServer] = {}
        self.verification: dict[str, Any] = {}
        self.microbench: dict[str, dict[str, float]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.measurements: list[Measurement] = []
        self.started = time.time()
        self.done = 0

    def run(self) -> Path:
        say(f"bench against running services: results in {self.results_dir}\n  {self.deployment.note}")
        interrupted = False
        try:
            say("model micro-benchmark (in-process) ...")
            self.microbench = run_microbench()
            self.verify_servers()
            for scenario in self.config.scenarios:
                self.measure_scenario(scenario)
        except KeyboardInterrupt:
            interrupted = True
            say("interrupted: stopping Locust and writing what was measured")
        finally:
            processes.stop_all()
        self.write(interrupted)
        if interrupted:
            raise KeyboardInterrupt
        return self.results_dir

    def command(self, variant: ServerVariant) -> str:
        d = self.deployment
        limits = f", cpus={d.server_cpus:g}, mem_limit={d.server_memory}" if d.server_cpus is not None else ""
        return f"python -m {variant.module} at {self.urls[variant.framework]} (WORKERS={d.workers}{limits})"

    def verify_servers(self) -> None:
        for variant in self.config.variants:
            url = self.urls[variant.framework]
            say(f"checking the contract live on {variant.key} at {url} ...")
            checks = verify(url)
            failed = [check for check in checks if not check.passed]
            self.verification[variant.key] = {
                "passed": not failed,
                "error": None,
                "checks": [{"name": c.name, "passed": c.passed, "problem": c.problem} for c in checks],
                "command": self.command(variant),
                "config": "",
                "url": url,
            }
            if failed:
                first = failed[0]
                say(f"  NOT BENCHMARKED: {len(failed)} check(s) failed, e.g. {first.name}: {first.problem}")
                continue
            say(f"  {len(checks)} checks passed; server process {self.pids[variant.framework]}")
            process = cast("subprocess.Popen[bytes]", AttachedProcess(self.pids[variant.framework]))
            self.servers[variant.key] = RunningServer(
                variant, url, process, Path(os.devnull), self.command(variant)
            )

    @property
    def total_runs(self) -> int:
        return len(self.config.scenarios) * len(self.servers) * self.config.repeats * 2

    def plan(self, scenario: Scenario, kind: str, repeat: int, rate: float | None = None) -> LoadPlan:
        c = self.config
        return LoadPlan(scenario, kind, repeat, c.users, c.spawn_rate, c.warmup_s, c.duration_s, rate)

    def measure_scenario(self, scenario: Scenario) -> None:
        """As make bench does: capacity runs interleaved, the rate from their medians, fixed-rate runs. Every
        scenario runs against both services as they are deployed (no other server variant is started)."""
        capacities: dict[str, list[float]] = {key: [] for key in self.servers}
        for repeat in range(1, self.config.repeats + 1):
            for key, server in self.servers.items():
                m = self.measure(self.plan(scenario, CAPACITY, repeat), server)
                if not m.error:
                    capacities[key].append(m.rps)
        if not getattr(scenario, "equal_load", True):  # a capacity-only scenario (io)
            return
        medians = {key: sorted(v)[len(v) // 2] if v else None for key, v in capacities.items()}
        chosen = equal_load_rate(scenario.name, medians, self.config.rate)
        if chosen is None:
            say(f"  {scenario.name}: no capacity measured, so no equal-load run")
            return
        rate, source = chosen
        self.rates[scenario.name] = {"rate": rate, "source": source}
        say(f"  {scenario.name} equal load: {rate:g} requests/s ({source})")
        for repeat in range(1, self.config.repeats + 1):
            for server in self.servers.values():
                self.measure(self.plan(scenario, FIXED, repeat, rate), server)

    def measure(self, plan: LoadPlan, server: RunningServer) -> Measurement:
        self.done += 1
        name = f"{self.done:02d}-{server.variant.key}-{plan.scenario.name}-{plan.kind}-r{plan.repeat}"
        m = run_load(plan, server, (), self.results_dir, name)
        self.measurements.append(m)
        say(f"[{self.done}/{self.total_runs}] {progress_line(m)}")
        return m

    def environment(self) -> dict[str, Any]:
        c, d = self.config, self.deployment
        example = locust_command(self.plan(c.scenarios[0], CAPACITY, 1), "http://HOST:PORT", Path("RUN"))
        record = machine_record()
        if record["git"] == "unknown" and os.environ.get("GIT_COMMIT"):
            record["git"] = os.environ["GIT_COMMIT"]
        return {
            **record,
            "cpu_plan": {
                # How many CPUs each server may use, for the report's "was it CPU-bound" test; not their ids.
                "server_cpus": list(range(max(1, math.floor(d.server_cpus or 1)))),
                "generator_cpus": [],
                "note": d.note,
            },
            "deployment": dataclasses.asdict(d),
            "workers": d.workers,
            "server_commands": {key: v.get("command") for key, v in self.verification.items()},
            "server_configs": {},
            "locust_command": processes.shown(example, {}),
            "settings": {
                "scenarios": [s.name for s in c.scenarios],
                "duration_s": c.duration_s,
                "warmup_s": c.warmup_s,
                "users": c.users,
                "spawn_rate": c.spawn_rate,
                "repeats": c.repeats,
                "rate": c.rate or "auto",
                "workers": d.workers,
            },
            "rates": self.rates,
            "invocation": os.environ.get("BENCH_INVOCATION", "").strip(),
            "command": shlex.join(["python", "-m", "loadtests.external", *sys.argv[1:]]),
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(time.time() - self.started, 1),
            "results_dir": str(self.results_dir),
        }

    def write(self, interrupted: bool) -> None:
        save_measurements(self.measurements, self.results_dir / "measurements.json")
        environment = {**self.environment(), "interrupted": interrupted}
        summary = build_summary(
            environment, self.verification, self.microbench, self.rates, self.measurements
        )
        report, headline = write_results(self.results_dir, summary)
        say(f"\nreport: {report}\n\n{headline}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.external", description=__doc__.splitlines()[0])
    parser.add_argument("--flask-url", required=True, help="e.g. http://flask:8001")
    parser.add_argument("--fastapi-url", required=True, help="e.g. http://fastapi:8002")
    parser.add_argument("--flask-pid", type=int, help="the Flask server's master process (default: found)")
    parser.add_argument("--fastapi-pid", type=int, help="the FastAPI server's process (default: found)")
    parser.add_argument(
        "--flask-variant", default="gunicorn-sync", help="how Flask is served, for the report"
    )
    parser.add_argument("--scenarios", default="all", help="comma list or 'all'")
    parser.add_argument("--duration", type=int, default=8, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each run's window")
    parser.add_argument("--users", type=int, default=32, help="Locust users, the same for every run")
    parser.add_argument("--rate", default="auto", help="equal-load requests/s: auto, N or scenario=N,...")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs per variant and measurement, interleaved"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes the servers run (WORKERS)")
    parser.add_argument("--server-cpus", type=float, help="each server container's CPU limit (SERVICE_CPUS)")
    parser.add_argument("--server-memory", help="each server container's memory limit (SERVICE_MEMORY)")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from(args)
        if args.workers < 1:
            raise ValueError("--workers must be a positive integer")
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    variants = (
        ServerVariant("flask", args.flask_variant, MODULES["flask"]),
        ServerVariant("fastapi", "uvicorn", MODULES["fastapi"]),
    )
    config = dataclasses.replace(config, variants=variants)
    try:
        pids = {framework: find_server(framework, getattr(args, f"{framework}_pid")) for framework in MODULES}
    except ServerNotFound as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    urls = {"flask": args.flask_url.rstrip("/"), "fastapi": args.fastapi_url.rstrip("/")}
    deployment = Deployment(args.workers, args.server_cpus, args.server_memory)
    processes.install_cleanup()
    try:
        bench = ExternalBench(config, urls, pids, deployment)
    except PermissionError as exc:
        print(
            f"bench: cannot write the results: {exc}. In compose, create results/ first and run the bench "
            "as its owner: mkdir -p results && HOST_UID=$(id -u) HOST_GID=$(id -g) "
            "docker compose --profile bench run --rm bench",
            file=sys.stderr,
        )
        return 2
    try:
        bench.run()
    except KeyboardInterrupt:
        return 130
    ok = all(v["passed"] for v in bench.verification.values()) and bool(bench.measurements)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
