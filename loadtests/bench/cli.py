"""`make bench`: verify each server live, then measure every scenario in pairs, and write the report.

    python -m loadtests.bench run [--profile default] [--scenarios predict,batch] [--rounds 4] ...
    python -m loadtests.bench report results/latest      # rewrite report.md and charts from measurements
    python -m loadtests.bench readme results/latest      # rewrite the README's results and docs/bench/

A run stopped or failed half-way keeps its folder, marked as such (run.json): `report` makes its partial
report and says how far it got; `readme` takes complete runs only.

The command line only: the run itself is runner.py, its layers loadtests/bench/__init__.py.
"""

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from loadtests.bench.load.locust import Placement
from loadtests.bench.plan.config import (
    PROFILES,
    BenchConfig,
    Profile,
    parse_rates,
    parse_scenarios,
    parse_variants,
)
from loadtests.bench.render.output import rewrite_report
from loadtests.bench.render.readme import update_readme
from loadtests.bench.results.records import FormatError, read_measurements
from loadtests.bench.results.state import COMPLETE, IncompleteRun, how_far, read_state, require_complete
from loadtests.bench.runner import Bench, say
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import StartedServers
from loadtests.bench.targets.servers import ServerStartError, start_upstream
from shared.lifecycle import Interrupted
from shared.model import ModelArtifactError, is_own, load_named
from shared.settings import MODEL_NAMES, REPO_ROOT, Settings


def new_results_dir(root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = root / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{suffix}"
    path.mkdir(parents=True)
    return path


def add_knobs(parser: argparse.ArgumentParser) -> None:
    """The knobs `make bench` and the compose bench share; empty means the profile's choice."""
    parser.add_argument("--profile", default="default", choices=sorted(PROFILES), help=", ".join(PROFILES))
    parser.add_argument("--scenarios", default="", help="comma list or 'all'; empty: the profile's")
    parser.add_argument(
        "--variants", default="", help="server variants for every scenario; empty: the profile's"
    )
    parser.add_argument(
        "--rounds", default="", help="capacity rounds (pairs) per scenario, before the rule's"
    )
    parser.add_argument(
        "--budget",
        default="",
        help="seconds the whole run may take while the precision rule adds pairs; 0: the rounds only; "
        "empty: the profile's",
    )
    parser.add_argument("--models", default="", help="crossover: comma list of models; empty: every one")
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
    if args.models.strip():
        profile = replace(profile, models=parse_models(args.models, profile))
    if profile.models and (own := os.environ.get("MODEL_PATH")):
        # The reader's own pipeline, one more point of the crossover: does the framework matter for it?
        profile = replace(profile, models=(*profile.models, *parse_models(own, profile)))
    return BenchConfig(
        profile=profile,
        scenarios=parse_scenarios(args.scenarios, profile),
        variant_keys=parse_variants(args.variants),
        rounds=whole(args.rounds, "rounds", profile.rounds),
        budget_s=whole(args.budget, "budget", profile.budget_s, least=0),
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


def parse_models(text: str, profile: Profile) -> tuple[str, ...]:
    """MODELS=: the crossover's models, in the order given (the first is the batch-size axis's): names
    `make model` trains, or paths of pipelines of one's own (x.joblib, its card x.json beside it), each
    checked as a server would check it."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not profile.models:
        raise ValueError(f"--models is for the crossover profile, not {profile.name}")
    if unknown := [name for name in names if name not in MODEL_NAMES and not is_own(name)]:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; make model trains {', '.join(MODEL_NAMES)}, and a "
            "pipeline of your own is a path to its .joblib (examples/own_model.py)"
        )
    for name in names:
        try:
            load_named(Settings.from_env().model_dir, name)
        except ModelArtifactError as exc:
            raise ValueError(f"cannot serve the model {name}: {exc}") from None
    return tuple(str(Path(name).resolve()) if is_own(name) else name for name in names)


def start_bench(config: BenchConfig) -> Bench:
    """make bench: the CPUs split between servers and generator, servers started in turn, the upstream
    started on the generator's CPUs if a scenario needs it."""
    cpus = processes.current_cpu_plan()
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
        config.workers,
        cpus.server,
        results_dir / "logs",
        config.users,
        {"UPSTREAM_URL": upstream.url} if upstream else {},
        upstream=upstream is not None,
    )
    notes = (cpus.note, workers_note(config, len(cpus.server)), generator_note(config, len(cpus.generator)))
    note = "; ".join(notes)
    return Bench(config, pool, placement, results_dir, note, upstream)


def workers_note(config: BenchConfig, cpus: int) -> str:
    """WORKERS= for every server, else each server's own rule (plan/variants.py)."""
    if config.workers:
        return f"{config.workers} worker(s) per server (WORKERS=)"
    rules = {v.workers_rule: v.workers(cpus) for s in config.scenarios for v in config.variants_for(s)}
    return "worker processes as each server's docs advise: " + ", ".join(
        f"{rule} ({count})" for rule, count in rules.items()
    )


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
    try:
        if args.command == "report":
            say(f"report: {rewrite_report(args.results)}")
            state = read_state(args.results.resolve())
            if state is not None and state["state"] != COMPLETE:
                # The slices on disk, not run.json's count: a run killed between the two kept one more.
                measured = len(read_measurements(args.results.resolve() / "measurements.json")[0])
                say(f"partial: {how_far({**state, 'measured': measured})}")
            return 0
        if args.command == "readme":
            require_complete(args.results.resolve())
            say(f"updated {update_readme(args.results)}")
            return 0
    except (FormatError, IncompleteRun) as exc:
        print(f"python -m loadtests.bench {args.command}: {exc}", file=sys.stderr)
        return 2
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
    except Interrupted as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    summary = json.loads((results / "summary.json").read_text())
    ok = all(v["passed"] for v in summary["verification"].values()) and bool(summary["runs"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
