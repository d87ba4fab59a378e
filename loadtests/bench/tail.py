"""The tail experiments: where a service's p99 comes from at a steady load, one candidate cause at a time.

    python -m loadtests.bench.tail                 # batch at 60 and 120 requests/s, every experiment
    python -m loadtests.bench.tail --rates 120 --experiments fastapi-def-off,fastapi-def
    python -m loadtests.bench.tail --docs          # also write docs/bench/tail.md from the run

Each experiment starts one service pinned to the servers' CPU, with one worker unless it says otherwise,
and offers it an open-loop rate from Locust on the generator's CPU (each request timed from when it was due:
the p99 is corrected for coordinated omission), for `--seconds` after a warm-up. The server records every
pause of its garbage collector (shared/collector.py), so each row shows the cause beside the effect. The
candidates are the issue's: the cyclic collector (the interpreter's settings, as the services serve by
default; the start-up heap frozen; a higher young-generation threshold; both, the tuning GC_TUNING=1 sets; the
collector off), FastAPI's thread-pool hop
(`def` against `async def` views), the GIL's switch interval, and uneven load between workers (two workers
on the one CPU).

Results go to results/tail-<time>/: tail.json (every figure) and tail.md (the table); `--from
results/tail-<time>/tail.json` writes the page again from those figures, with no load.
"""

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.bench.load.locust import LoadPlan, Placement, run_load
from loadtests.bench.machine.environment import machine_record
from loadtests.bench.plan.slices import FIXED
from loadtests.bench.plan.variants import CATALOGUE
from loadtests.bench.render.markers import replace_between
from loadtests.bench.render.reading import num
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import keeps_up
from loadtests.bench.targets import processes
from loadtests.bench.targets.servers import ServerStartError, start_server, stop_server
from loadtests.scenarios import SCENARIOS
from shared.settings import REPO_ROOT

DOCS_PAGE = REPO_ROOT / "docs" / "bench" / "tail.md"
# docs/deployment.md's part: the tuning's effect on the p99, where it recommends the tuning.
DEPLOYMENT = REPO_ROOT / "docs" / "deployment.md"
DEPLOYMENT_MARKERS = ("<!-- bench:collector-tail -->", "<!-- /bench:collector-tail -->")
USERS = 32
WARMUP_S = 2
# Each experiment's collector, whatever the environment says (the bench gives a server none of its own).
OFF = {"GC_TUNING": "0"}  # the interpreter's collector: what the services serve by default
TUNED = {"GC_TUNING": "1"}  # the tuning (shared/collector.py): frozen start-up heap, young every 10,000


@dataclass(frozen=True)
class Experiment:
    name: str
    variant: str  # a catalogue key
    what: str  # the candidate cause it tests, for the table
    env: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("flask-off", "flask-gunicorn-sync", "Flask as served: the interpreter's collector", OFF),
    Experiment(
        "flask", "flask-gunicorn-sync", "Flask tuned: start-up heap frozen, young every 10,000", TUNED
    ),
    Experiment(
        "fastapi-def-off", "fastapi-uvicorn", "FastAPI `def` as served: the interpreter's collector", OFF
    ),
    Experiment(
        "fastapi-def-frozen",
        "fastapi-uvicorn",
        "FastAPI `def`, start-up heap frozen only",
        {**OFF, "GC_FREEZE": "1"},
    ),
    Experiment(
        "fastapi-def-threshold",
        "fastapi-uvicorn",
        "FastAPI `def`, young generation every 10,000 allocations only (not 700)",
        {**OFF, "GC_THRESHOLD": "10000"},
    ),
    Experiment(
        "fastapi-def",
        "fastapi-uvicorn",
        "FastAPI `def` tuned: start-up heap frozen, young every 10,000",
        TUNED,
    ),
    Experiment(
        "fastapi-def-no-gc",
        "fastapi-uvicorn",
        "FastAPI `def`, the cyclic collector off",
        {**OFF, "GC_DISABLE": "1"},
    ),
    Experiment(
        "fastapi-def-switch",
        "fastapi-uvicorn",
        "FastAPI `def`, the GIL switched every 0.5 ms (not 5), the interpreter's collector",
        {**OFF, "SWITCH_INTERVAL_MS": "0.5"},
    ),
    Experiment(
        "fastapi-async-off",
        "fastapi-async-def",
        "FastAPI `async def` (no thread-pool hop) as served: the interpreter's collector",
        OFF,
    ),
    Experiment("fastapi-async", "fastapi-async-def", "FastAPI `async def` tuned", TUNED),
    Experiment(
        "fastapi-def-2-workers",
        "fastapi-uvicorn",
        "FastAPI `def` tuned, two workers sharing the one CPU (uneven load between workers)",
        TUNED,
        workers=2,
    ),
)

EXPERIMENT_ORDER = {e.name: index for index, e in enumerate(EXPERIMENTS)}  # the table's row order


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench.tail", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scenario", default="batch", choices=("predict", "batch"))
    parser.add_argument("--rates", default="60,120", help="requests/s offered, comma-separated")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per experiment and rate")
    parser.add_argument("--experiments", default="all", help="comma-separated names, or all")
    parser.add_argument("--results-dir", default=str(REPO_ROOT / "results"))
    parser.add_argument("--docs", action="store_true", help=f"also write {DOCS_PAGE.relative_to(REPO_ROOT)}")
    parser.add_argument(
        "--from", dest="source", default="", help="a tail.json: write its page again, no load"
    )
    return parser.parse_args(argv)


def chosen(names: str) -> list[Experiment]:
    if names.strip() in {"", "all"}:
        return list(EXPERIMENTS)
    known = {e.name: e for e in EXPERIMENTS}
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if unknown := [name for name in wanted if name not in known]:
        raise SystemExit(f"unknown experiment(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in wanted]


def row(experiment: Experiment, rate: float, m: Measurement | None, error: str = "") -> dict[str, Any]:
    """One experiment at one rate: the corrected percentiles, what the server did, and the collector."""
    base = {
        "experiment": experiment.name,
        "what": experiment.what,
        "variant": experiment.variant,
        "workers": experiment.workers,
        "env": dict(experiment.env),
        "offered_rps": rate,
    }
    if m is None or m.error:
        return {**base, "error": error or (m.error if m else "not measured")}
    corrected = m.corrected_latency_ms or {}
    return {
        **base,
        "achieved_rps": m.rps,
        "keeps_up": keeps_up(m),
        "answers": m.samples,
        "p50_ms": corrected.get("50"),
        "p99_ms": corrected.get("99"),
        "p999_ms": corrected.get("99.9"),
        "max_ms": m.max_ms,
        "server_cpu_us_per_request": m.server_cpu_us_per_request,
        "gc_pauses": m.gc_pauses,
        "gc_full_collections": m.gc_full_collections,
        "gc_pause_max_ms": m.gc_pause_max_ms,
        "gc_pause_total_ms": m.gc_pause_total_ms,
        "steal_pct": m.steal_pct,
        "run_dir": m.run_dir,
    }


def measure(
    experiment: Experiment, rates: Sequence[float], args: argparse.Namespace, out: Path, cpus: Any
) -> list[dict[str, Any]]:
    """One start of the experiment's server, each rate in turn on it (lowest first)."""
    variant = next(v for v in CATALOGUE if v.key == experiment.variant)
    placement = Placement(cpus.server, cpus.generator)
    try:
        server = start_server(
            variant,
            experiment.workers,
            cpus.server,
            out / "logs",
            users=USERS,
            extra_env=experiment.env,
            log_name=experiment.name,
        )
    except ServerStartError as exc:
        return [row(experiment, rate, None, str(exc).splitlines()[0]) for rate in rates]
    rows = []
    try:
        for rate in rates:
            plan = LoadPlan(
                SCENARIOS[args.scenario], FIXED, 1, USERS, float(USERS), WARMUP_S, args.seconds, rate
            )
            m = run_load(plan, server, placement, out, f"{experiment.name}-{rate:g}rps")
            rows.append(row(experiment, rate, m))
            print(line(rows[-1]), flush=True)
    finally:
        stop_server(server)
    return rows


def line(r: Mapping[str, Any]) -> str:
    if r.get("error"):
        return f"  {r['experiment']} at {r['offered_rps']:g}/s: {r['error']}"
    behind = "" if r["keeps_up"] else " (does not keep up)"
    return (
        f"  {r['experiment']} at {r['offered_rps']:g}/s{behind}: p50 {num(r['p50_ms'])} ms, p99 "
        f"{num(r['p99_ms'])} ms, max {num(r['max_ms'])} ms; {r['gc_pauses']} collections "
        f"({r['gc_full_collections']} full), longest {num(r['gc_pause_max_ms'])} ms"
    )


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| offered, requests/s | experiment | reached | p50, ms | p99, ms | max as measured, ms | "
        "collections (full) | longest pause, ms | server CPU per request, µs |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(rows, key=lambda r: (r["offered_rps"], EXPERIMENT_ORDER.get(r["experiment"], 99))):
        if r.get("error"):
            lines.append(f"| {num(r['offered_rps'])} | {r['what']} | {r['error']} | | | | | | |")
            continue
        reached = num(r["achieved_rps"]) + ("" if r["keeps_up"] else " **behind**")
        lines.append(
            f"| {num(r['offered_rps'])} | {r['what']} | {reached} | {num(r['p50_ms'])} | "
            f"{num(r['p99_ms'])} | {num(r['max_ms'])} | {r['gc_pauses']} ({r['gc_full_collections']}) | "
            f"{num(r['gc_pause_max_ms'])} | {num(r['server_cpu_us_per_request'])} |"
        )
    return "\n".join(lines)


WHY = (
    "Why one framework's tail and not the other's. The collector's young generation is collected after "
    "about 700 more container objects were made than freed; whatever is still alive then is promoted, and"
    " after enough promotions a full collection scans every object the worker holds: after start-up, the "
    "app, the model and their libraries, about 150,000 objects in either service. A gunicorn sync worker "
    "serves one request at a time and reference counting frees its objects as it ends, so young "
    "collections are rare and find little alive. An event loop holds every connection's request at once "
    "(32 users here), so each young collection finds requests in flight, promotes them, and full "
    "collections follow: each one a pause of the whole worker, every request in flight waiting behind it."
    " The tuning (GC_TUNING=1, both services alike; by default each serves with the interpreter's "
    "collector, as its framework's docs do) does two things once the model is loaded (shared/collector.py): "
    "it freezes the start-up heap (`gc.freeze()`), which leaves a full collection only the requests' own "
    "objects to scan, and collects the young generation every 10,000 net allocations instead of 700, so "
    "that requests in flight are rarely caught alive and promoted, and full collections rarely come."
)


def findings(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """At each rate: FastAPI `def` with the interpreter's collector and tuned, Flask beside them."""
    lines = []
    for rate in sorted({r["offered_rps"] for r in rows}):
        found = {r["experiment"]: r for r in rows if r["offered_rps"] == rate and not r.get("error")}
        off, tuned, flask = (found.get(name) for name in ("fastapi-def-off", "fastapi-def", "flask-off"))
        if off is None or tuned is None:
            continue
        text = (
            f"At {num(rate)} requests/s, FastAPI `def` as served (the interpreter's collector) made "
            f"{off['gc_full_collections']} full collection(s), the longest pause "
            f"{num(off['gc_pause_max_ms'])} ms, and its p99 was {num(off['p99_ms'])} ms; tuned, its "
            f"longest pause was {num(tuned['gc_pause_max_ms'])} ms and its p99 {num(tuned['p99_ms'])} ms"
        )
        if flask is not None:
            behind = "" if flask["keeps_up"] else ", not keeping up with the rate"
            text += (
                f". Flask as served made {flask['gc_full_collections']} full collection(s), its p99 "
                f"{num(flask['p99_ms'])} ms{behind}"
            )
        lines.append(text + ".")
    return lines


def page(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    return "\n".join(
        [
            "# The tail, one cause at a time",
            "",
            f"Written by `{summary['command']}` on {env['cpu_model']} ({env['cores']} cores), "
            f"{summary['started_at']}, commit {env['git']}. {summary['scenario']} at each offered rate for "
            f"{summary['seconds']} s after a {WARMUP_S} s warm-up, {USERS} Locust users sharing the rate "
            "(open loop, p99 corrected for coordinated omission); one worker on the servers' CPU unless the "
            "row says otherwise, Locust on the other. The collections are the server's own, over the same "
            "window (shared/collector.py).",
            "",
            table(summary["rows"]),
            "",
            *[f"{line}\n" for line in findings(summary["rows"])],
            WHY,
            "",
        ]
    )


def write_docs(
    summary: Mapping[str, Any], page_path: Path = DOCS_PAGE, deployment: Path = DEPLOYMENT
) -> None:
    """docs/bench/tail.md, and the p99 findings between docs/deployment.md's collector-tail markers."""
    page_path.parent.mkdir(parents=True, exist_ok=True)
    page_path.write_text(page(summary))
    found = findings(summary["rows"])
    if not found or not deployment.exists():
        return
    text = "\n".join(
        [
            f"From `{summary['command']}` ({summary['environment']['cpu_model']}, "
            f"{summary['started_at'][:10]}, commit {summary['environment']['git']}), {summary['scenario']} "
            "at a steady rate, one worker, p99 corrected for coordinated omission "
            "([bench/tail.md](bench/tail.md)):",
            "",
            *[f"- {line}" for line in found],
        ]
    )
    if updated := replace_between(deployment.read_text(), DEPLOYMENT_MARKERS, text):
        deployment.write_text(updated)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.source:  # the page again from a run's figures (the table's shape changed, say)
        source = Path(args.source)
        summary = json.loads(source.read_text())
        (source.parent / "tail.md").write_text(page(summary))
        if args.docs:
            write_docs(summary)
        print(source.parent / "tail.md")
        return 0
    rates = sorted(float(r) for r in args.rates.split(",") if r.strip())
    experiments = chosen(args.experiments)
    processes.install_cleanup()
    cpus = processes.current_cpu_plan()
    processes.pin_self(cpus.generator)
    started = time.time()
    out = Path(args.results_dir) / f"tail-{datetime.fromtimestamp(started, UTC):%Y%m%dT%H%M%SZ}"
    (out / "logs").mkdir(parents=True, exist_ok=True)
    minutes = len(experiments) * (len(rates) * (args.seconds + WARMUP_S + 2) + 3) / 60
    print(
        f"{len(experiments)} experiment(s) x {len(rates)} rate(s), about {minutes:.0f} min: {out}", flush=True
    )
    rows: list[dict[str, Any]] = []
    try:
        for experiment in experiments:
            rows += measure(experiment, rates, args, out, cpus)
    finally:
        processes.stop_all()
    command = "python -m loadtests.bench.tail " + " ".join(argv if argv is not None else sys.argv[1:])
    summary = {
        "command": command.strip(),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "environment": machine_record(),
        "scenario": args.scenario,
        "seconds": args.seconds,
        "rows": rows,
    }
    (out / "tail.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "tail.md").write_text(page(summary))
    if args.docs:
        write_docs(summary)
    print(f"\n{table(rows)}\n\n{out / 'tail.md'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
