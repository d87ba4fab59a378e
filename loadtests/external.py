"""make bench against services that are already running: the docker compose bench profile.

    python -m loadtests.external --flask-url http://flask:8001 --fastapi-url http://fastapi:8002 [knobs]

The same work as `make bench`, from its own parts (loadtests/bench/): the contract verified live, the model
timed in-process, then per scenario the capacity runs (variants interleaved), the equal-load rate chosen from
them and the fixed-rate runs; the same summary.json, report.md and charts. What differs: the bench neither
starts nor pins the servers (in compose they are containers with equal CPU and memory limits), and it finds
each server's process to read its CPU time, which it can when it shares the servers' PID namespace (the
compose profile runs it with `pid: host`) or runs on their machine. The io scenario needs the upstream the
services call in sight too (its CPU is sampled like Locust's). Finding them: loadtests/attach.py.
"""

import argparse
import dataclasses
import math
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.attach import MODULES, ServerNotFound, attached, find_server
from loadtests.bench import processes
from loadtests.bench.config import BenchConfig, equal_load_rate
from loadtests.bench.environment import machine_record
from loadtests.bench.loadrun import LoadPlan, locust_command, run_load
from loadtests.bench.microbench import run_microbench
from loadtests.bench.output import write_results
from loadtests.bench.records import CAPACITY, FIXED, Measurement, save_measurements
from loadtests.bench.runner import config_from, new_results_dir, progress_line, say
from loadtests.bench.servers import CATALOGUE, RunningServer, ServerVariant
from loadtests.bench.summary import build_summary
from loadtests.bench.verify import verify
from loadtests.scenarios import UPSTREAM, Scenario
from shared.settings import REPO_ROOT


def deployed_variant(framework: str, variant: str) -> ServerVariant:
    """The catalogue's entry (how many requests it holds at once, for the io bound), or a bare one."""
    known = {v.key: v for v in CATALOGUE}
    return known.get(f"{framework}-{variant}", ServerVariant(framework, variant, MODULES[framework]))


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
        self,
        config: BenchConfig,
        urls: dict[str, str],
        pids: dict[str, int],
        deployment: Deployment,
        upstream_pid: int | None = None,
    ):
        self.config = config
        self.urls = urls
        self.pids = pids
        self.deployment = deployment
        self.results_dir = new_results_dir(config.results_root)
        self.servers: dict[str, RunningServer] = {}
        # The upstream the services call (io): sampled, never started or stopped by the bench.
        self.upstream = (
            attached(ServerVariant("upstream", "uvicorn", MODULES["upstream"]), "", upstream_pid, "")
            if upstream_pid is not None
            else None
        )
        self.verification: dict[str, Any] = {}
        self.microbench: dict[str, dict[str, float]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.measurements: list[Measurement] = []
        self.started = time.time()
        self.done = 0

    def run(self) -> Path:
        say(
            f"bench against running services: results in {self.results_dir}\n  {self.deployment.note}; "
            f"{self.generator_note}"
        )
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
            checks = verify(url, upstream=self.upstream is not None)
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
            self.servers[variant.key] = attached(
                variant, url, self.pids[variant.framework], self.command(variant)
            )

    @property
    def generator_note(self) -> str:
        n = self.config.locust_processes
        return (
            "Locust: one process"
            if n == 1
            else f"Locust: a master and {n} worker processes (--processes {n})"
        )

    def servers_for(self, scenario: Scenario) -> dict[str, RunningServer]:
        """Both services as deployed, whatever variants make bench would compare; none for io without its
        upstream in sight."""
        return {} if UPSTREAM in scenario.auxiliaries and self.upstream is None else self.servers

    @property
    def total_runs(self) -> int:
        return sum(
            len(self.servers_for(s)) * self.config.repeats * (2 if s.equal_load else 1)
            for s in self.config.scenarios
        )

    def plan(self, scenario: Scenario, kind: str, repeat: int, rate: float | None = None) -> LoadPlan:
        c = self.config
        latency = c.upstream_latency_ms if UPSTREAM in scenario.auxiliaries else None
        return LoadPlan(
            scenario,
            kind,
            repeat,
            c.users,
            c.spawn_rate,
            c.warmup_s,
            c.duration_s,
            rate,
            processes=c.locust_processes,
            upstream_latency_ms=latency,
        )

    def measure_scenario(self, scenario: Scenario) -> None:
        """As make bench does: capacity runs interleaved, the rate from their medians, fixed-rate runs. Every
        scenario runs against both services as they are deployed (no other server variant is started)."""
        servers = self.servers_for(scenario)
        if not servers:
            say(f"  {scenario.name}: skipped, its upstream is not in sight (python -m upstream.server)")
            return
        capacities: dict[str, list[float]] = {key: [] for key in servers}
        for repeat in range(1, self.config.repeats + 1):
            for key, server in servers.items():
                m = self.measure(self.plan(scenario, CAPACITY, repeat), server)
                if not m.error:
                    capacities[key].append(m.rps)
        if not scenario.equal_load:
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
            for server in servers.values():
                self.measure(self.plan(scenario, FIXED, repeat, rate), server)

    def measure(self, plan: LoadPlan, server: RunningServer) -> Measurement:
        self.done += 1
        name = f"{self.done:02d}-{server.variant.key}-{plan.scenario.name}-{plan.kind}-r{plan.repeat}"
        upstream = self.upstream if UPSTREAM in plan.scenario.auxiliaries else None
        m = run_load(plan, server, (), self.results_dir, name, upstream)
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
            "locust_processes": c.locust_processes,
            "generator_note": self.generator_note,
            "variants": {
                v.key: {
                    "label": v.label,
                    "concurrency": v.concurrency,
                    "in_flight": v.in_flight(d.workers, c.users),
                    "note": v.note,
                }
                for v in c.variants
            },
            "upstream": {
                "latency_ms": c.upstream_latency_ms,
                "command": f"python -m {MODULES['upstream']} (process {self.upstream.process.pid})",
                "config": "",
                "cpus": [],
            }
            if self.upstream
            else None,
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
                "locust_processes": c.locust_processes,
                "upstream_latency_ms": c.upstream_latency_ms if c.needs_upstream else None,
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
    parser.add_argument("--upstream-pid", type=int, help="the upstream's process, for io (default: found)")
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
    parser.add_argument("--locust-processes", type=int, default=1, help=">1: a Locust master and N workers")
    parser.add_argument(
        "--upstream-latency-ms",
        type=float,
        default=50.0,
        help="the upstream's delay (UPSTREAM_LATENCY_MS), io",
    )
    parser.add_argument("--server-cpus", type=float, help="each server container's CPU limit (SERVICE_CPUS)")
    parser.add_argument("--server-memory", help="each server container's memory limit (SERVICE_MEMORY)")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    return parser.parse_args(argv)


def refuse(message: object) -> int:
    print(f"bench: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from(args)
        if args.workers < 1:
            raise ValueError("--workers must be a positive integer")
    except ValueError as exc:
        return refuse(exc)
    urls = {"flask": args.flask_url.rstrip("/"), "fastapi": args.fastapi_url.rstrip("/")}
    variants = (deployed_variant("flask", args.flask_variant), deployed_variant("fastapi", "uvicorn"))
    config = dataclasses.replace(config, variants=variants, extra_variants=())
    try:
        pids = {framework: find_server(framework, getattr(args, f"{framework}_pid")) for framework in urls}
    except ServerNotFound as exc:
        return refuse(exc)
    upstream_pid = None
    if config.needs_upstream:  # io samples the upstream's CPU, as make bench does: it must be in sight too
        try:
            upstream_pid = find_server("upstream", args.upstream_pid)
        except ServerNotFound as exc:
            return refuse(f"{exc} Or leave io out of --scenarios.")
    deployment = Deployment(args.workers, args.server_cpus, args.server_memory)
    processes.install_cleanup()
    try:
        bench = ExternalBench(config, urls, pids, deployment, upstream_pid)
    except PermissionError as exc:
        return refuse(
            f"cannot write the results: {exc}. In compose, create results/ first and run the bench as its "
            "owner: mkdir -p results && HOST_UID=$(id -u) HOST_GID=$(id -g) "
            "docker compose --profile bench run --rm bench"
        )
    try:
        bench.run()
    except KeyboardInterrupt:
        return 130
    ok = all(v["passed"] for v in bench.verification.values()) and bool(bench.measurements)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
