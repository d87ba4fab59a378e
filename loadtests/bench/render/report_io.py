"""The io part of report.md and of the README: each server variant's throughput against the Little's-law
bound, its CPU per request, what limits the ones below the bound, the two classic mistakes, and the check
that the upstream was never the bottleneck. Pure functions of summary.json.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.render.reading import BOUND, Entry, is_io, joined, label, num
from loadtests.bench.results.trust import GENERATOR_LIMIT

Run = Entry
BOUND_TARGET = 0.80  # a server that keeps every user's request in flight reaches this share of the bound

# Each mistake (examples/), and the variant that does the same job right on the same framework and worker.
MISTAKES: dict[tuple[str, str], tuple[tuple[str, str], str]] = {
    ("fastapi", "async-blocking"): (
        ("fastapi", "uvicorn"),
        "`async def` calling a blocking client on FastAPI: the event loop waits with every call, so the "
        "worker serves one request at a time (and /health waits behind it)",
    ),
    ("flask", "async-view"): (
        ("flask", "gunicorn-sync"),
        "an `async def` view on Flask under gunicorn's sync worker: it runs, but Flask finishes each "
        "coroutine in a new event loop before the worker takes the next request",
    ),
}


def io_runs(summary: Mapping[str, Any]) -> list[Run]:
    return [entry for entry in summary["variants"] if is_io(entry)]


def find(summary: Mapping[str, Any], scenario: str, variant: tuple[str, str]) -> Run | None:
    return next(
        (
            e
            for e in summary["variants"]
            if e["scenario"] == scenario and (e["framework"], e["variant"]) == variant
        ),
        None,
    )


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def in_flight_cell(run: Run) -> str:
    in_flight = run.get("in_flight")
    return (
        f"{in_flight} ({run['users']} users)"
        if in_flight and in_flight < run["users"]
        else f"all {run['users']}"
    )


def io_table(summary: Mapping[str, Any]) -> str:
    lines = [
        "| server | requests/s | bound: users / latency | share of bound | requests in flight at most "
        "| mean response, ms | p50, ms | p99, ms | server CPU | CPU per request, µs "
        "| upstream CPU, busiest s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in io_runs(summary):
        rps = (
            num(run["rps"]) if run["clean"] else f"{'≥ ' if run['bounded'] else ''}{num(run['rps'])} {BOUND}"
        )
        cells = [
            label(run),
            rps,
            num(run["littles_law_bound_rps"]),
            share(run["share_of_bound"]),
            in_flight_cell(run),
            num(run.get("mean_ms")),
            num(run["p50_ms"]),
            num(run["p99_ms"]),
            num(run["server_cpu_percent"], "%"),
            num(run["cpu_us_per_request"]),
            num(run.get("upstream_cpu_max"), "%"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def io_setup(summary: Mapping[str, Any]) -> str:
    runs = io_runs(summary)
    if not runs:
        return ""
    first = runs[0]
    return (
        f"Closed loop, {first['users']} users, upstream latency {num(first['upstream_latency_ms'])} ms, "
        "worker processes as in the method, on the same CPU(s). "
        f"Little's law: with every user waiting for one answer, requests/s = users / mean response time, "
        f"and no answer comes sooner than the upstream's latency, so users / latency = "
        f"{num(first['littles_law_bound_rps'])} requests/s bounds every server. Figures are medians over the "
        "rounds; CPU per request is at capacity (io has no latency curve: the slowest variant would set its "
        "rates)."
    )


def below_bound(run: Run, server_cpus: int) -> str:
    """Why a variant reached less than BOUND_TARGET of the bound, from what it holds in flight and its CPU."""
    latency = run["upstream_latency_ms"]
    in_flight = run.get("in_flight")
    what = f"{label(run)}: {share(run['share_of_bound'])} of the bound"
    if in_flight and in_flight < run["users"]:
        return (
            f"{what}. It holds {in_flight} request(s) at once ({run.get('variant_note') or 'its workers'}), "
            f"so its own bound is {in_flight} / {num(latency)} ms = {num(run['variant_bound_rps'])} "
            f"requests/s, of which it reached {share(run['share_of_variant_bound'])}."
        )
    if run["server_cpu_percent"] is not None and run["server_cpu_percent"] >= GENERATOR_LIMIT * server_cpus:
        per_request = run["cpu_us_per_request"]
        most = server_cpus * 1e6 / per_request if per_request else None
        return (
            f"{what}. It holds every user's request, but its CPU was the limit "
            f"({num(run['server_cpu_percent'], '%')} busy): at {num(per_request)} µs of CPU per request "
            f"(the rest beyond the model is the framework, the server and the upstream client), "
            f"{server_cpus} CPU(s) serve at most {num(most)} requests/s."
        )
    if not run["clean"]:
        return f"{what}, but the measurement is not clean: {'; '.join(run['invalid_reasons'])}."
    return (
        f"{what}. It holds every user's request and its CPU was not saturated "
        f"({num(run['server_cpu_percent'], '%')}): each answer took {num(run.get('mean_ms'))} ms on average "
        f"against the upstream's {num(latency)} ms, time spent queueing in the server (GIL, scheduling)."
    )


def mistakes(summary: Mapping[str, Any]) -> list[str]:
    sentences = []
    for (framework, variant), ((right_framework, right_variant), what) in MISTAKES.items():
        wrong = next(
            (r for r in io_runs(summary) if (r["framework"], r["variant"]) == (framework, variant)), None
        )
        if wrong is None:
            continue
        right = find(summary, wrong["scenario"], (right_framework, right_variant))
        against = f" against {num(right['rps'])} for {label(right)}" if right else ""
        sentences.append(
            f"{what}: **{num(wrong['rps'])} requests/s**{against}, "
            f"{share(wrong['share_of_bound'])} of the bound; its own bound, one request at a time per "
            f"worker, is {num(wrong['variant_bound_rps'])}."
        )
    return sentences


def upstream_check(summary: Mapping[str, Any]) -> str:
    upstream = summary["environment"].get("upstream") or {}
    names = {run["scenario"] for run in io_runs(summary)}
    records = [record for record in summary["runs"] if record["scenario"] in names]
    busiest = max((r.get("upstream_cpu_max") or 0.0 for r in records), default=None)
    side = max((r.get("generator_side_cpu_max") or 0.0 for r in records), default=None)
    cpus = upstream.get("cpus") or []
    where = f"CPU {','.join(str(c) for c in cpus)}, beside Locust" if cpus else "unpinned"
    verdict = (
        "it was never the bottleneck"
        if busiest is not None and busiest < GENERATOR_LIMIT
        else "**it may have limited some runs** (marked ⚠)"
    )
    return (
        f"The upstream is one asynchronous uvicorn process ({where}, so the servers' CPU is theirs "
        f"alone), its CPU sampled like Locust's throughout each run: its busiest second reached "
        f"{num(busiest, '%')} of one CPU at most (a run is marked not clean at {GENERATOR_LIMIT:.0f}%), "
        f"and Locust and the upstream "
        f"together {num(side, '%')} of "
        + (f"the generator's {len(cpus)} CPU(s)" if cpus else "the machine's CPUs (not pinned)")
        + f": {verdict}."
    )


def io_notes(summary: Mapping[str, Any]) -> list[str]:
    runs = io_runs(summary)
    server_cpus = max(1, len(summary["environment"]["cpu_plan"]["server_cpus"]))
    notes = [
        f"- {below_bound(run, server_cpus)}"
        for run in runs
        if run["share_of_bound"] is not None and run["share_of_bound"] < BOUND_TARGET
    ]
    notes += [f"- **Classic mistake**: {sentence}" for sentence in mistakes(summary)]
    notes.append(f"- {upstream_check(summary)}")
    reasons = [f"- {label(run)}: {reason}" for run in runs for reason in run["invalid_reasons"]]
    if reasons:
        notes += ["", f"{BOUND} Not clean:", "", *reasons]
    return notes


def io_verdict(summary: Mapping[str, Any]) -> str | None:
    runs = io_runs(summary)
    if not runs:
        return None
    reached = [f"{label(run)} {share(run['share_of_bound'])}" for run in runs]
    first = runs[0]
    return (
        f"**Waiting on I/O** (io: {first['users']} users, upstream latency "
        f"{num(first['upstream_latency_ms'])} ms, bound {num(first['littles_law_bound_rps'])} requests/s), "
        "share of the Little's-law bound "
        f"reached: {joined(reached)}."
    )


def io_section(summary: Mapping[str, Any]) -> list[str]:
    """The report's io section, as lines."""
    if not io_runs(summary):
        return []
    return [io_setup(summary), "", io_table(summary), "", *io_notes(summary)]


def io_readme_lines(summary: Mapping[str, Any]) -> Sequence[str]:
    """The README's io results: the table and the notes that explain it."""
    if not io_runs(summary):
        return []
    return ["**Waiting on I/O** (`io`). " + io_setup(summary), "", io_table(summary), "", *io_notes(summary)]
