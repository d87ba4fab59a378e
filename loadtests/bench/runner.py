"""`make bench`: verify each service live, then measure capacity and equal-load figures for every scenario.

    python -m loadtests.bench run [--scenarios predict,batch] [--duration 8] [--repeats 3] ...
    python -m loadtests.bench report results/latest      # rewrite report.md and charts from summary.json
    python -m loadtests.bench readme results/latest      # rewrite the README's benchmark sections
    python -m loadtests.bench crosscheck                 # Locust against wrk on predict (needs wrk)

Order of work: the model micro-benchmark (in-process, on the servers' CPU, before any server starts); the
upstream observation service if a scenario needs it (io), on the generator's CPUs; each server variant the
scenarios compare started, pinned, and verified; then per scenario the capacity runs, variants interleaved
(A B A B ...), the equal-load rate chosen from them, and the fixed-rate runs interleaved alike (not for io).
"""

import argparse
import json
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.bench import processes
from loadtests.bench.config import BenchConfig, equal_load_rate, parse_rate, parse_scenarios
from loadtests.bench.environment import machine_record
from loadtests.bench.loadrun import LoadPlan, locust_command
from loadtests.bench.loadrun import run_load as run_locust
from loadtests.bench.microbench import run_microbench
from loadtests.bench.output import write_results
from loadtests.bench.records import CAPACITY, FIXED, Measurement, save_measurements
from loadtests.bench.servers import RunningServer, ServerStartError, start_server, start_upstream
from loadtests.bench.summary import build_summary, problems
from loadtests.bench.verify import verify
from loadtests.scenarios import UPSTREAM, Scenario
from shared.settings import REPO_ROOT


def say(message: str) -> None:
    print(message, flush=True)


def new_results_dir(root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = root / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{suffix}"
    path.mkdir(parents=True)
    return path


class Bench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.cpus = processes.current_cpu_plan()
        self.workers = config.workers or max(1, len(self.cpus.server))
        self.results_dir = new_results_dir(config.results_root)
        self.servers: dict[str, RunningServer] = {}
        self.upstream: RunningServer | None = None
        self.verification: dict[str, Any] = {}
        self.microbench: dict[str, dict[str, float]] = {}
        self.rates: dict[str, dict[str, Any]] = {}
        self.measurements: list[Measurement] = []
        self.started = time.time()
        self.done = 0

    def run(self) -> Path:
        processes.pin_self(self.cpus.generator)
        say(
            f"make bench: results in {self.results_dir}\n  {self.cpus.note}; "
            f"{self.workers} worker(s) per server; {self.generator_note}"
        )
        interrupted = False
        try:
            self.measure_model()
            if self.config.needs_upstream:
                self.start_upstream()
            self.start_and_verify()
            for scenario in self.config.scenarios:
                self.measure_scenario(scenario)
        except KeyboardInterrupt:
            interrupted = True
            say("interrupted: stopping every process and writing what was measured")
        finally:
            for server in self.servers.values():
                processes.stop(server.process)
            if self.upstream:
                processes.stop(self.upstream.process)
            processes.stop_all()
        self.write(interrupted)
        if interrupted:
            raise KeyboardInterrupt
        return self.results_dir

    def measure_model(self) -> None:
        say("model micro-benchmark (in-process, on the servers' CPU) ...")
        processes.pin_self(self.cpus.server)
        try:
            self.microbench = run_microbench()
        finally:
            processes.pin_self(self.cpus.generator)
        say("  " + ", ".join(f"{name} {m['cpu_us']:.0f} us CPU" for name, m in self.microbench.items()))

    @property
    def generator_note(self) -> str:
        n, cpus = self.config.locust_processes, len(self.cpus.generator)
        if n == 1:
            return "Locust: one process"
        note = f"Locust: a master and {n} worker processes (--processes {n})"
        if cpus and n > cpus:
            note += f", sharing {cpus} CPU(s): more processes than CPUs add no capacity"
        return note

    def start_upstream(self) -> None:
        latency = self.config.upstream_latency_ms
        say(
            f"starting the upstream observation service ({latency:g} ms per answer) on the generator's CPU(s)"
        )
        try:
            self.upstream = start_upstream(latency, self.cpus.generator, self.results_dir / "logs")
        except ServerStartError as exc:
            say(f"  the upstream did not start, so the io scenario cannot run: {exc}")
            return
        say(f"  {self.upstream.command}")

    def start_and_verify(self) -> None:
        upstream_env = {"UPSTREAM_URL": self.upstream.url} if self.upstream else {}
        for variant in self.config.needed_variants:
            say(f"starting {variant.key} and checking the contract live ...")
            try:
                server = start_server(
                    variant,
                    self.workers,
                    self.cpus.server,
                    self.results_dir / "logs",
                    users=self.config.users,
                    extra_env=upstream_env,
                )
            except ServerStartError as exc:
                self.verification[variant.key] = {"passed": False, "error": str(exc), "checks": []}
                say(f"  NOT BENCHMARKED: {exc}")
                continue
            checks = verify(server.url, upstream=self.upstream is not None)
            failed = [check for check in checks if not check.passed]
            self.verification[variant.key] = {
                "passed": not failed,
                "error": None,
                "checks": [{"name": c.name, "passed": c.passed, "problem": c.problem} for c in checks],
                "command": server.command,
                "config": server.config_line,
                "url": server.url,
            }
            if failed:
                processes.stop(server.process)
                say(
                    f"  NOT BENCHMARKED: {len(failed)} check(s) failed, "
                    f"e.g. {failed[0].name}: {failed[0].problem}"
                )
                continue
            say(f"  {len(checks)} checks passed: {server.command}")
            self.servers[variant.key] = server

    def servers_for(self, scenario: Scenario) -> dict[str, RunningServer]:
        """The running, verified servers of the variants the scenario compares; none without its upstream."""
        if UPSTREAM in scenario.auxiliaries and self.upstream is None:
            return {}
        return {
            v.key: self.servers[v.key] for v in self.config.variants_for(scenario) if v.key in self.servers
        }

    @property
    def total_runs(self) -> int:
        return sum(
            len(self.servers_for(s)) * self.config.repeats * (2 if s.equal_load else 1)
            for s in self.config.scenarios
        )

    def plan(self, scenario: Scenario, kind: str, repeat: int, rate: float | None = None) -> LoadPlan:
        c = self.config
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
            upstream_latency_ms=c.upstream_latency_ms if UPSTREAM in scenario.auxiliaries else None,
        )

    def measure_scenario(self, scenario: Scenario) -> None:
        servers = self.servers_for(scenario)
        if not servers:
            say(f"  {scenario.name}: no server to measure (not verified, or no upstream)")
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
        m = run_locust(plan, server, self.cpus.generator, self.results_dir, name, upstream)
        self.measurements.append(m)
        say(f"[{self.done}/{self.total_runs}] {progress_line(m)}")
        return m

    def environment(self) -> dict[str, Any]:
        c = self.config
        example = locust_command(self.plan(c.scenarios[0], CAPACITY, 1), "http://127.0.0.1:PORT", Path("RUN"))
        return {
            **machine_record(),
            "cpu_plan": {
                "server_cpus": list(self.cpus.server),
                "generator_cpus": list(self.cpus.generator),
                "note": self.cpus.note,
            },
            "workers": self.workers,
            "locust_processes": c.locust_processes,
            "generator_note": self.generator_note,
            "variants": {
                v.key: {
                    "label": v.label,
                    "concurrency": v.concurrency,
                    "in_flight": v.in_flight(self.workers, c.users),
                    "note": v.note,
                }
                for v in c.needed_variants
            },
            "upstream": {
                "latency_ms": c.upstream_latency_ms,
                "command": self.upstream.command,
                "config": self.upstream.config_line,
                "cpus": list(self.cpus.generator),
            }
            if self.upstream
            else None,
            "server_commands": {key: v.get("command") for key, v in self.verification.items()},
            "server_configs": {key: v.get("config") for key, v in self.verification.items()},
            "locust_command": processes.shown(processes.pinned(example, self.cpus.generator), {}),
            "settings": {
                "scenarios": [s.name for s in c.scenarios],
                "duration_s": c.duration_s,
                "warmup_s": c.warmup_s,
                "users": c.users,
                "spawn_rate": c.spawn_rate,
                "repeats": c.repeats,
                "rate": c.rate or "auto",
                "workers": self.workers,
                "locust_processes": c.locust_processes,
                "upstream_latency_ms": c.upstream_latency_ms if c.needs_upstream else None,
            },
            "rates": self.rates,
            "invocation": os.environ.get("BENCH_INVOCATION", "").strip(),
            "command": shlex.join(["python", "-m", "loadtests.bench", *sys.argv[1:]]),
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


def progress_line(m: Measurement) -> str:
    what = f"{m.framework}-{m.variant} {m.scenario} {m.kind}" + (
        f" @ {m.target_rate:g} rps" if m.target_rate else ""
    )
    if m.error:
        return f"{what}: FAILED: {m.error.splitlines()[0]}"
    p99 = m.latency_ms.get("99")
    line = (
        f"{what}: {m.rps:.0f} rps p50 {m.latency_ms.get('50') or 0:.2f} ms p99 {p99 or 0:.2f} ms, "
        f"server CPU {m.server_cpu_percent:.0f}%"
    )
    if (cpu := m.server_cpu_us_per_request) is not None:
        line += f" {cpu:.0f} us/request"
    locust = f"locust cpu {m.generator_cpu_max:.0f}%"
    if m.generator_processes > 1:
        locust = f"{m.generator_processes} locust processes, busiest {m.generator_cpu_max:.0f}% cpu"
    if m.upstream_cpu_max is not None:
        locust += f", upstream {m.upstream_cpu_max:.0f}%"
    line += f" ({locust})"
    if issues := problems(m):
        line += "  INVALID: " + "; ".join(issue.split(": ", 1)[1] for issue in issues)
    return line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="verify, measure, write results/<UTC timestamp>/")
    run.add_argument("--scenarios", default="all", help="comma list or 'all'")
    run.add_argument("--duration", type=int, default=8, help="measured seconds per run")
    run.add_argument("--warmup", type=int, default=2, help="seconds before each run's window")
    run.add_argument("--users", type=int, default=32, help="Locust users, the same for every run")
    run.add_argument("--rate", default="auto", help="equal-load requests/s: auto, N or scenario=N,...")
    run.add_argument("--repeats", type=int, default=1, help="runs per variant and measurement, interleaved")
    run.add_argument("--workers", default="auto", help="worker processes per server; auto: one per CPU")
    run.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    run.add_argument(
        "--locust-processes", type=int, default=1, help="Locust processes: >1 runs a master and N workers"
    )
    run.add_argument(
        "--upstream-latency-ms", type=float, default=50.0, help="the upstream's delay, for the io scenario"
    )
    cross = commands.add_parser("crosscheck", help="Locust against wrk on predict, same server and payloads")
    cross.add_argument("--duration", type=int, default=8)
    cross.add_argument("--warmup", type=int, default=2)
    cross.add_argument("--users", type=int, default=32)
    cross.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    for name, help_text in (
        ("report", "rewrite report.md and the charts from a results directory's summary.json"),
        ("readme", "rewrite README.md's benchmark sections from a results directory"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("results", type=Path, nargs="?", default=REPO_ROOT / "results" / "latest")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> BenchConfig:
    scenarios = parse_scenarios(args.scenarios)
    for name in ("duration", "warmup", "users", "repeats"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            raise ValueError(f"--{name} must be a positive integer")
    # Not every caller's parser has these (loadtests/external.py): the defaults then.
    locust_processes = getattr(args, "locust_processes", 1)
    upstream_latency_ms = getattr(args, "upstream_latency_ms", 50.0)
    if locust_processes < 1:
        raise ValueError("LOCUST_PROCESSES (--locust-processes) must be a positive integer")
    if not 0 < upstream_latency_ms < 60_000:
        raise ValueError("UPSTREAM_LATENCY_MS (--upstream-latency-ms) must be between 0 and 60000, exclusive")
    workers = None if args.workers in {"", "auto"} else int(args.workers)
    return BenchConfig(
        scenarios=scenarios,
        duration_s=args.duration,
        warmup_s=args.warmup,
        users=args.users,
        rate=parse_rate(args.rate, scenarios),
        repeats=args.repeats,
        workers=workers,
        results_root=args.results_dir.resolve(),
        locust_processes=locust_processes,
        upstream_latency_ms=upstream_latency_ms,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "report":
        from loadtests.bench.output import rewrite_report

        say(f"report: {rewrite_report(args.results)}")
        return 0
    if args.command == "crosscheck":
        from loadtests.bench.crosscheck import crosscheck

        say(f"cross-check: {crosscheck(args.duration, args.warmup, args.users, args.results_dir.resolve())}")
        return 0
    if args.command == "readme":
        from loadtests.bench.readme import update_readme

        say(f"updated {update_readme(args.results)}")
        return 0
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return 2
    processes.install_cleanup()
    try:
        results = Bench(config).run()
    except KeyboardInterrupt:
        return 130
    summary = json.loads((results / "summary.json").read_text())
    ok = all(v["passed"] for v in summary["verification"].values()) and bool(summary["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
