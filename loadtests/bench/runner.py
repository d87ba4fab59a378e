"""`make bench`: verify each server live, then measure every scenario in pairs, and write the report.

    python -m loadtests.bench run [--profile default] [--scenarios predict,batch] [--rounds 4] ...
    python -m loadtests.bench report results/latest      # rewrite report.md and charts from measurements
    python -m loadtests.bench readme results/latest      # rewrite the README's results and docs/bench/

One path for both ways of running it: `make bench` starts each server variant when its turn comes, pinned
to the servers' CPUs (loadtests/bench/targets/pool.py, StartedServers); the compose bench attaches to running
services (loadtests/external.py, AttachedServers). Order of work: the model timed in-process on the servers'
CPUs before any server starts; the upstream if a scenario needs it (io), on the generator's CPUs; then per
scenario the capacity rounds (loadtests/bench/plan/slices.py), and the latency curve at rates taken from them.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.bench.inprocess.split import SCENARIOS as SPLIT_SCENARIOS
from loadtests.bench.load import wrk
from loadtests.bench.load.locust import LoadPlan, Placement, locust_command, run_load
from loadtests.bench.machine.environment import machine_record
from loadtests.bench.machine.speed import probe_us
from loadtests.bench.plan import slices as plan
from loadtests.bench.plan.config import (
    PROFILES,
    BenchConfig,
    curve_rates,
    parse_rates,
    parse_scenarios,
    parse_variants,
)
from loadtests.bench.plan.slices import LOCUST, WRK
from loadtests.bench.plan.variants import CATALOGUE
from loadtests.bench.render.output import write_results
from loadtests.bench.results.analysis import disturbances, keeps_up, median, problems
from loadtests.bench.results.records import Measurement, save_measurements
from loadtests.bench.results.summary import build_summary
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import ServerPool, StartedServers
from loadtests.bench.targets.servers import RunningServer, ServerStartError, start_upstream
from loadtests.scenarios import SCENARIOS, UPSTREAM, Scenario
from shared.settings import REPO_ROOT

INPROCESS = "inprocess.json"  # the in-process figures: the model, the split, the glue's price
IN_PROCESS_TIMEOUT_S = 300


def split_scenarios(config: BenchConfig) -> list[str]:
    """The split for the measured scenarios it knows, and always the invalid penguin (validation alone)."""
    wanted = {s.name for s in config.scenarios} | {"invalid"}
    return [name for name in SPLIT_SCENARIOS if name in wanted]


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


def minutes(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class Bench:
    """One bench run: the plan executed against a pool of servers, the records written, the report made."""

    def __init__(
        self,
        config: BenchConfig,
        pool: ServerPool,
        placement: Placement,
        results_dir: Path,
        setting_note: str,
        upstream: RunningServer | None = None,
        attached_cpus: tuple[int, ...] | None = None,
        deployment: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config
        # Against running services: how many CPUs each may use (not their ids), and how they were deployed.
        self.attached_cpus = attached_cpus
        self.deployment = dict(deployment or {})
        self.pool = pool
        self.placement = placement
        self.results_dir = results_dir
        self.setting_note = setting_note
        self.upstream = upstream
        self.microbench: dict[str, dict[str, float]] = {}
        self.split: list[dict[str, Any]] = []
        self.glue: dict[str, Any] = {}
        self.in_process_machine: dict[str, Any] = {}
        self.measurements: list[Measurement] = []
        self.notes: list[str] = []
        self.started = time.time()
        self.planned = plan.whole_plan(config)
        self.in_process_s = plan.in_process_s(config, len(split_scenarios(config)))
        self.estimate_left = plan.estimate_s(config, self.planned) + self.in_process_s
        self.estimate_done = 0.0
        self.last_variant: str | None = None
        self.wrk = wrk.available()

    def run(self) -> Path:
        processes.pin_self(self.placement.generator_cpus)
        say(
            f"make bench ({self.config.profile.name} profile): results in {self.results_dir}\n"
            f"  {self.setting_note}"
        )
        say(plan.describe(self.config, self.planned, self.in_process_s))
        if not self.wrk and any(self.config.wrk_for(s) for s in self.config.scenarios):
            self.notes.append("wrk is not installed, so there is no cross-check: apt-get install wrk")
            say(f"  {self.notes[-1]}")
        interrupted = False
        try:
            self.measure_model()
            for scenario in self.config.scenarios:
                self.measure_scenario(scenario)
        except KeyboardInterrupt:
            interrupted = True
            say("interrupted: stopping every process and writing what was measured")
        finally:
            self.pool.release()
            processes.stop_all()
        self.write(interrupted)
        if interrupted:
            raise KeyboardInterrupt
        return self.results_dir

    def measure_model(self) -> None:
        """The model, and with the split each framework's app layer by layer, in-process: in a process of
        its own, pinned from its start to the servers' CPUs as a server is (inprocess/split.py)."""
        profile = self.config.profile
        scenarios = split_scenarios(self.config) if profile.split else []
        say(
            "in-process, on the servers' CPU: the model"
            + (f", each app's layers ({', '.join(scenarios)})" if scenarios else "")
            + (f", the contract's price ({profile.glue_pairs} pairs)" if profile.glue_pairs else "")
            + " ..."
        )
        out = self.results_dir / INPROCESS
        command = [
            *processes.python_module("loadtests.bench.inprocess.split"),
            *("--scenarios", ",".join(scenarios), "--concurrency", str(self.config.users)),
            *("--glue-pairs", str(profile.glue_pairs), "--out", str(out)),
        ]
        process = processes.start(
            processes.pinned(command, self.placement.server_cpus), {}, out.with_suffix(".log")
        )
        try:
            code = process.wait(IN_PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            processes.stop(process)
        if code != 0 or not out.exists():
            raise SystemExit(
                f"the in-process measurements failed:\n{processes.log_tail(out.with_suffix('.log'))}"
            )
        figures = json.loads(out.read_text())
        self.microbench, self.split, self.glue = figures["model"], figures["split"], figures["glue"]
        self.in_process_machine = {key: figures.get(key) for key in ("others_pct", "steal_pct", "spread_pct")}
        self.estimate_done += self.in_process_s
        self.estimate_left -= self.in_process_s
        say("  " + ", ".join(f"{name} {m['cpu_us']:.0f} us CPU" for name, m in self.microbench.items()))

    def measure_scenario(self, scenario: Scenario) -> None:
        if UPSTREAM in scenario.auxiliaries and self.upstream is None:
            self.notes.append(f"{scenario.name}: not measured, its upstream is not running")
            say(f"  {self.notes[-1]}")
            self.drop_planned(scenario.name)
            return
        say(f"{scenario.name}: {scenario.description}")
        self.execute(plan.capacity_slices(self.config, scenario))
        keys = [variant.key for variant in self.config.variants_for(scenario)]
        pair = plan.curve_pair(keys)
        if not pair or not plan.curve_points(self.config, scenario):
            return
        capacities = [
            median(
                m.rps
                for m in self.measurements
                if m.scenario == scenario.name
                and m.phase == "capacity"
                and m.generator == LOCUST
                and m.key == key
                and m.requests
                and not m.error
            )
            for key in pair
        ]
        fastest = max((c for c in capacities if c), default=None)
        if fastest is None:
            self.notes.append(f"{scenario.name}: no capacity measured, so no latency curve")
            say(f"  {self.notes[-1]}")
            self.drop_planned(scenario.name, plan.CURVE_PHASE)
            return
        rates = curve_rates(self.config.profile.grid, fastest, self.config.rates)
        say(f"  {scenario.name} curve: {', '.join(f'{r:g}' for r in rates)} requests/s offered to both")
        self.execute(plan.curve_slices(scenario, pair, rates), curve=True)

    def drop_planned(self, scenario: str, phase: str | None = None) -> None:
        """Take the slices of a scenario (or of one of its phases) that will not run out of the time left."""
        dropped = [s for s in self.planned if s.scenario == scenario and phase in {None, s.phase}]
        self.estimate_left -= plan.estimate_s(self.config, dropped)

    def execute(self, slices: Sequence[plan.Slice], curve: bool = False) -> None:
        behind: set[str] = set()
        known = {variant.key: variant for variant in (*CATALOGUE, *self.config.deployed.values())}
        for s in slices:
            if curve and s.variant in behind:
                self.estimate_left -= plan.slice_seconds(self.config, s.generator)
                continue
            if s.generator == WRK and not self.wrk:
                continue
            cost = plan.slice_seconds(self.config, s.generator)
            if s.variant != self.last_variant:
                cost += plan.SERVER_SWITCH_S
                self.last_variant = s.variant
            server = self.pool.acquire(known[s.variant])
            if server is None:
                self.skip(s, cost)
                continue
            m = self.measure(s, server)
            self.estimate_done += cost
            self.estimate_left -= cost
            if curve and not keeps_up(m):
                behind.add(s.variant)
            say(self.progress(m))

    def skip(self, s: plan.Slice, cost: float) -> None:
        verification = self.pool.verification.get(s.variant, {})
        why = verification.get("error") or next(
            (f"{c['name']}: {c['problem']}" for c in verification.get("checks", []) if not c["passed"]), "?"
        )
        note = f"{s.variant}: NOT BENCHMARKED: {str(why).splitlines()[0]}"
        if note not in self.notes:
            self.notes.append(note)
            say(f"  {note}")
        self.estimate_left -= cost

    def load_plan(self, s: plan.Slice) -> LoadPlan:
        c = self.config
        scenario = SCENARIOS[s.scenario]
        return LoadPlan(
            scenario,
            s.kind,
            s.round,
            c.users,
            c.spawn_rate,
            c.warmup_s,
            c.duration_s,
            s.rate,
            processes=c.locust_processes,
            upstream_latency_ms=c.upstream_latency_ms if UPSTREAM in scenario.auxiliaries else None,
            phase=s.phase,
        )

    def measure(self, s: plan.Slice, server: RunningServer) -> Measurement:
        index = len(self.measurements) + 1
        rate = f"-{s.rate:g}rps" if s.rate else ""
        name = f"{index:03d}-{s.scenario}-{s.phase}{rate}-r{s.round}-{s.variant}-{s.generator}"
        load = self.load_plan(s)
        # Attached servers may run anywhere: only CPUs this bench placed them on are probed.
        probed = self.placement.server_cpus if self.attached_cpus is None else ()
        before = probe_us(probed)
        if s.generator == WRK:
            m = wrk.run_wrk(load, server, self.placement, self.results_dir, name)
        else:
            upstream = self.upstream if UPSTREAM in load.scenario.auxiliaries else None
            m = run_load(load, server, self.placement, self.results_dir, name, upstream)
        after = probe_us(probed)
        speeds = [round(t, 1) for t in (before, after) if t is not None]
        m = replace(m, server_start=self.pool.start_count, speed_probe_us=speeds)
        self.measurements.append(m)
        return m

    def progress(self, m: Measurement) -> str:
        elapsed = time.time() - self.started
        pace = elapsed / self.estimate_done if self.estimate_done else 1.0
        left = f"~{minutes(self.estimate_left * max(1.0, pace))} left"
        return f"[{len(self.measurements)}, {left}] {progress_line(m)}"

    def environment(self) -> dict[str, Any]:
        c = self.config
        example = locust_command(
            self.load_plan(plan.Slice("capacity", c.scenarios[0].name, "", 1)),
            "http://127.0.0.1:PORT",
            Path("RUN"),
        )
        workers = c.workers or 1
        record = machine_record()
        if record["git"] == "unknown" and os.environ.get("GIT_COMMIT"):
            record["git"] = os.environ["GIT_COMMIT"]  # the compose image has no .git
        return {
            **record,
            "attached": self.attached_cpus is not None,
            "deployment": self.deployment or None,
            "cpu_plan": {
                "server_cpus": list(
                    self.placement.server_cpus if self.attached_cpus is None else self.attached_cpus
                ),
                "generator_cpus": list(self.placement.generator_cpus),
                "note": self.setting_note,
            },
            "workers": workers,
            "locust_processes": c.locust_processes,
            "profile": c.profile.name,
            "variants": {
                v.key: {
                    "label": v.label,
                    "concurrency": v.concurrency,
                    "in_flight": v.in_flight(workers, c.users),
                    "keeps_alive": v.keeps_alive,
                    "note": v.note,
                }
                for v in {v.key: v for s in c.scenarios for v in c.variants_for(s)}.values()
            },
            "upstream": {
                "latency_ms": c.upstream_latency_ms,
                "command": self.upstream.command,
                "config": self.upstream.config_line,
                "cpus": list(self.placement.generator_cpus),
            }
            if self.upstream
            else None,
            "server_commands": {key: v.get("command") for key, v in self.pool.verification.items()},
            "server_configs": {key: v.get("config") for key, v in self.pool.verification.items()},
            "server_starts": self.pool.starts,
            "locust_command": processes.shown(processes.pinned(example, self.placement.generator_cpus), {}),
            "wrk": self.wrk,
            "settings": {
                "scenarios": [s.name for s in c.scenarios],
                "rounds": c.rounds,
                "duration_s": c.duration_s,
                "warmup_s": c.warmup_s,
                "users": c.users,
                "spawn_rate": c.spawn_rate,
                "rates": list(c.rates) or "auto",
                "grid": list(c.profile.grid),
                "slo_ms": c.slo_ms,
                "workers": workers,
                "locust_processes": c.locust_processes,
                "upstream_latency_ms": c.upstream_latency_ms if c.needs_upstream else None,
            },
            "notes": self.notes,
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
            environment,
            self.pool.verification,
            self.microbench,
            self.measurements,
            self.split,
            self.glue,
            self.in_process_machine,
        )
        report, headline = write_results(self.results_dir, summary)
        say(f"\nreport: {report}\n\n{headline}")


def progress_line(m: Measurement) -> str:
    what = f"{m.scenario} {m.phase} r{m.round}: {m.key}" + (
        f" @ {m.target_rate:g} rps" if m.target_rate else ""
    )
    what += " (wrk)" if m.generator == WRK else ""
    if m.error:
        return f"{what}: FAILED: {m.error.splitlines()[0]}"
    line = f"{what}: {m.rps:,.0f} rps"
    if m.corrected_latency_ms and m.corrected_latency_ms.get("99") is not None:
        line += f", p99 {m.corrected_latency_ms['99']:.1f} ms corrected"
    elif m.latency_ms.get("99") is not None:
        line += f", p99 {m.latency_ms['99']:.1f} ms"
    if (cpu := m.server_cpu_us_per_request) is not None:
        line += f", server CPU {cpu:,.0f} us/request"
    if m.steal_pct is not None:
        line += f", steal {m.steal_pct:.1f}%"
    line += f" ({m.generator} CPU {m.generator_cpu_max:.0f}%"
    if m.upstream_cpu_max is not None:
        line += f", upstream {m.upstream_cpu_max:.0f}%"
    line += ")"
    if issues := problems(m) + disturbances(m):
        line += "  NOT CLEAN: " + "; ".join(issue.split(": ", 1)[1] for issue in issues)
    return line


def add_knobs(parser: argparse.ArgumentParser) -> None:
    """The knobs `make bench` and the compose bench share; empty means the profile's choice."""
    parser.add_argument(
        "--profile", default="default", choices=sorted(PROFILES), help="quick, default or full"
    )
    parser.add_argument("--scenarios", default="", help="comma list or 'all'; empty: the profile's")
    parser.add_argument(
        "--variants", default="", help="server variants for every scenario; empty: the profile's"
    )
    parser.add_argument("--rounds", default="", help="capacity rounds (pairs) per scenario")
    parser.add_argument("--duration", default="", help="measured seconds per slice")
    parser.add_argument("--warmup", default="", help="seconds before each slice's window")
    parser.add_argument("--users", type=int, default=32, help="Locust users (and wrk connections)")
    parser.add_argument("--rates", default="auto", help="the curve's offered rates: auto or r1,r2,...")
    parser.add_argument("--slo-ms", type=float, default=50.0, help="the latency objective: corrected p99, ms")
    parser.add_argument("--locust-processes", type=int, default=1, help=">1: a Locust master and N workers")
    parser.add_argument(
        "--upstream-latency-ms", type=float, default=50.0, help="the upstream's delay, for the io scenario"
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="verify, measure, write results/<UTC timestamp>/")
    add_knobs(run)
    run.add_argument("--workers", default="auto", help="worker processes per server; auto: one per CPU")
    for name, help_text in (
        ("report", "rewrite report.md and the charts from a results directory's measurements"),
        ("readme", "rewrite README.md's results and docs/bench/ from a results directory"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("results", type=Path, nargs="?", default=REPO_ROOT / "results" / "latest")
    return parser.parse_args(argv)


def whole(text: str, name: str, default: int, least: int = 1) -> int:
    if str(text).strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"--{name} must be an integer of at least {least}, got {text!r}")
    return value


def config_from(args: argparse.Namespace, workers: int | None = None) -> BenchConfig:
    profile = PROFILES[args.profile]
    if args.users < 1:
        raise ValueError("--users must be a positive integer")
    if args.locust_processes < 1:
        raise ValueError("LOCUST_PROCESSES (--locust-processes) must be a positive integer")
    if not 0 < args.upstream_latency_ms < 60_000:
        raise ValueError("UPSTREAM_LATENCY_MS (--upstream-latency-ms) must be between 0 and 60000, exclusive")
    if not 0 < args.slo_ms < 3_600_000:
        raise ValueError("SLO_MS (--slo-ms) must be a positive number of milliseconds")
    return BenchConfig(
        profile=profile,
        scenarios=parse_scenarios(args.scenarios, profile),
        variant_keys=parse_variants(args.variants),
        rounds=whole(args.rounds, "rounds", profile.rounds),
        duration_s=whole(args.duration, "duration", profile.duration_s),
        warmup_s=whole(args.warmup, "warmup", profile.warmup_s, least=0),
        users=args.users,
        rates=parse_rates(args.rates),
        slo_ms=args.slo_ms,
        workers=workers,
        results_root=args.results_dir.resolve(),
        locust_processes=args.locust_processes,
        upstream_latency_ms=args.upstream_latency_ms,
    )


def start_bench(config: BenchConfig) -> Bench:
    """make bench: the CPUs split between servers and generator, servers started in turn, the upstream
    started on the generator's CPUs if a scenario needs it."""
    cpus = processes.current_cpu_plan()
    workers = config.workers or max(1, len(cpus.server))
    config = replace(config, workers=workers)
    results_dir = new_results_dir(config.results_root)
    placement = Placement(cpus.server, cpus.generator)
    upstream = None
    if config.needs_upstream:
        latency = config.upstream_latency_ms
        say(
            f"starting the upstream observation service ({latency:g} ms per answer) on the generator's CPU(s)"
        )
        try:
            upstream = start_upstream(latency, cpus.generator, results_dir / "logs")
        except ServerStartError as exc:
            say(f"  the upstream did not start, so the io scenario cannot run: {exc}")
    pool = StartedServers(
        workers,
        cpus.server,
        results_dir / "logs",
        config.users,
        {"UPSTREAM_URL": upstream.url} if upstream else {},
        upstream=upstream is not None,
    )
    note = f"{cpus.note}; {workers} worker(s) per server; {generator_note(config, len(cpus.generator))}"
    return Bench(config, pool, placement, results_dir, note, upstream)


def generator_note(config: BenchConfig, cpus: int) -> str:
    n = config.locust_processes
    if n == 1:
        return "Locust: one process"
    note = f"Locust: a master and {n} worker processes (--processes {n})"
    if cpus and n > cpus:
        note += f", sharing {cpus} CPU(s): more processes than CPUs add no capacity"
    return note


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "report":
        from loadtests.bench.render.output import rewrite_report

        say(f"report: {rewrite_report(args.results)}")
        return 0
    if args.command == "readme":
        from loadtests.bench.render.readme import update_readme

        say(f"updated {update_readme(args.results)}")
        return 0
    try:
        workers = None if args.workers in {"", "auto"} else whole(args.workers, "workers", 1)
        config = config_from(args, workers)
    except ValueError as exc:
        print(f"make bench: {exc}", file=sys.stderr)
        return 2
    processes.install_cleanup()
    bench = start_bench(config)
    try:
        results = bench.run()
    except KeyboardInterrupt:
        return 130
    summary = json.loads((results / "summary.json").read_text())
    ok = all(v["passed"] for v in summary["verification"].values()) and bool(summary["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
