"""report.md, the page a person reads first: verdict, headline table, a table per scenario, the time split,
the method and the environment. Pure functions of summary.json.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loadtests.bench.reading import (
    BOUND,
    Run,
    capacity_bound,
    find,
    is_io,
    joined,
    label,
    num,
    ratio,
    scenarios,
    variants,
)
from loadtests.bench.report_io import io_section, io_verdict
from loadtests.bench.summary import GENERATOR_LIMIT, RATE_TOLERANCE
from loadtests.scenarios import SCENARIOS

SATURATED = 90.0  # % of the server's CPU(s): below this at capacity, the CPU was not what limited it
CHARTS = {
    "throughput.png": "Capacity (closed loop), requests/s: the median, whiskers the spread over repeats",
    "latency.png": "Latency percentiles at equal load",
    "cpu.png": "Server CPU per request at equal load, split into the model's share and the framework's",
    "io.png": "io: requests/s of each server against the Little's-law bound (users / upstream latency)",
}


def pair(summary: Mapping[str, Any]) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The comparison the headline makes: the first Flask variant against the first FastAPI one (of the
    scenarios compared at equal load, when there are any: io compares more variants)."""
    found = variants({"runs": [run for run in summary["runs"] if not is_io(run)]}) or variants(summary)
    flask = next((v for v in found if v[0] == "flask"), None)
    fastapi = next((v for v in found if v[0] == "fastapi"), None)
    return (flask, fastapi) if flask and fastapi else None


def capacity_cell(run: Run | None) -> str:
    if run is None or run["rps"] is None:
        return "not measured"
    bound = capacity_bound(run)
    return f"{bound} {num(run['rps'])} {BOUND}".strip() if bound else num(run["rps"])


def fixed_cell(run: Run | None, field: str, unit: str = "") -> str:
    if run is None:
        return "not measured"
    text = num(run.get(field), unit)
    return text if run["fixed_valid"] else f"{text} {BOUND}"


def headline_table(summary: Mapping[str, Any]) -> str:
    compared = pair(summary)
    if compared is None:
        return "No comparison: Flask or FastAPI has no measurement (not benchmarked, or interrupted)."
    flask, fastapi = compared
    rows = [
        "| scenario | Flask rps | FastAPI rps | FastAPI/Flask | equal load | Flask p99 | FastAPI p99 "
        "| Flask CPU/req | FastAPI CPU/req | FastAPI/Flask CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in scenarios(summary):
        a, b = find(summary, scenario, flask), find(summary, scenario, fastapi)
        rate = (a or b or {}).get("rate")
        cap_ratio = ratio(b["rps"], a["rps"], capacity_bound(b), capacity_bound(a)) if a and b else "-"
        cpu_ratio = (
            ratio(b["server_cpu_us_per_request"], a["server_cpu_us_per_request"])
            if a and b and a["fixed_valid"] and b["fixed_valid"]
            else "-"
        )
        cells = [
            scenario,
            capacity_cell(a),
            capacity_cell(b),
            cap_ratio,
            num(rate, "rps"),
            fixed_cell(a, "fixed_p99_ms", "ms"),
            fixed_cell(b, "fixed_p99_ms", "ms"),
            fixed_cell(a, "server_cpu_us_per_request", "µs"),
            fixed_cell(b, "server_cpu_us_per_request", "µs"),
            cpu_ratio,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def headline_notes(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    workers = env.get("workers")
    notes = [
        f"Capacity: closed loop, {env['settings']['users']} users, median over {env['settings']['repeats']} "
        f"repeat(s). Equal load: both at the same fixed rate; p99 and server CPU time per request there. "
        f"{workers} worker process(es) per server.",
    ]
    if any(not run["valid"] or not run["fixed_valid"] for run in summary["runs"] if not is_io(run)):
        notes.append(
            f"{BOUND} not a clean measurement: the generator reached {GENERATOR_LIMIT:.0f}% CPU, requests "
            f"failed, or the rate was not reached (reasons under each scenario). `≥`: a lower bound."
        )
    return "\n".join(f"- {note}" for note in notes)


def verdict(summary: Mapping[str, Any]) -> list[str]:
    compared = pair(summary)
    failed = [key for key, v in summary["verification"].items() if not v["passed"]]
    sentences = []
    if failed:
        sentences.append(
            f"**Not benchmarked:** {', '.join(failed)} failed the live contract checks (see Verification)."
        )
    if compared is None:
        return sentences
    flask, fastapi = compared
    capacity, bounded, cpu, latency, split = [], [], [], [], []
    for scenario in scenarios(summary):
        a, b = find(summary, scenario, flask), find(summary, scenario, fastapi)
        if not a or not b:
            continue
        if a["valid"] and b["valid"]:
            capacity.append(f"{scenario} {ratio(b['rps'], a['rps'])}")
        elif a["rps"] and b["rps"]:
            bounded.append(f"{scenario} {ratio(b['rps'], a['rps'], capacity_bound(b), capacity_bound(a))}")
        if a["fixed_valid"] and b["fixed_valid"]:
            cpu_a, cpu_b = a["server_cpu_us_per_request"], b["server_cpu_us_per_request"]
            cpu.append(f"{scenario} {num(cpu_b)} vs {num(cpu_a)} µs ({ratio(cpu_b, cpu_a)})")
            latency.append(f"{scenario} {num(b['fixed_p99_ms'])} vs {num(a['fixed_p99_ms'])} ms")
            if a["model_cpu_us_per_request"]:
                split.append(
                    f"{scenario}: model {num(a['model_cpu_us_per_request'])} µs, framework "
                    f"{num(a['framework_cpu_us_per_request'])} µs (Flask) vs "
                    f"{num(b['framework_cpu_us_per_request'])} µs (FastAPI)"
                )
    env = summary["environment"]
    who = (
        f"FastAPI ({fastapi[1]}) against Flask ({flask[1]}), "
        f"{env.get('workers')} worker(s) each on the same CPU(s)"
    )
    if capacity:
        sentences.append(f"**Capacity**, {who}: FastAPI/Flask requests per second {joined(capacity)}.")
    if bounded:
        sentences.append(
            "Not a clean capacity figure (Locust itself was the limit, or requests failed): "
            f"{joined(bounded)}; a single Locust process on one core cannot outrun a fast server on a "
            "trivial endpoint."
        )
    if cpu:
        sentences.append(
            f"**Efficiency at equal load** (the fairer figure: same rate, neither server saturated), server "
            f"CPU per request FastAPI vs Flask: {joined(cpu)}."
        )
    if latency:
        sentences.append(f"**p99 at equal load**, FastAPI vs Flask: {joined(latency)}.")
    if split:
        sentences.append(f"**Where the time goes**, {'; '.join(split)}.")
    if io := io_verdict(summary):
        sentences.append(io)
    invalid = sum(
        1 for run in summary["runs"] for r in run["capacity_runs"] + run["fixed_runs"] if not r["valid"]
    )
    total = sum(len(run["capacity_runs"]) + len(run["fixed_runs"]) for run in summary["runs"])
    failures = sum(run["failures"] + run["fixed_failures"] for run in summary["runs"])
    sentences.append(
        f"{total - invalid} of {total} Locust runs are clean measurements; "
        + (
            "no request failed."
            if not failures
            else f"{failures} requests failed (a wrong answer is a failure)."
        )
    )
    return sentences


def field_cell(field: str, unit: str = "") -> Callable[[Run], str]:
    return lambda run: num(run[field], unit)


def spread_cell(field: str, low: str, high: str, clean: str | None = None) -> Callable[[Run], str]:
    """The median, then [min-max] over repeats when there were several, then a mark if not clean."""

    def cell(run: Run) -> str:
        text = num(run[field])
        if run[field] is not None and run["repeats"] > 1:
            text += f" [{num(run[low])}-{num(run[high])}]"
        return text + (f" {BOUND}" if clean and not run[clean] else "")

    return cell


def scenario_table(summary: Mapping[str, Any], scenario: str) -> str:
    """Rows are figures, columns the variants, and the FastAPI/Flask ratio where it means something."""
    runs = [run for v in variants(summary) if (run := find(summary, scenario, v))]
    compared = pair(summary)
    a = find(summary, scenario, compared[0]) if compared else None
    b = find(summary, scenario, compared[1]) if compared else None
    lines = [
        "| | " + " | ".join(label(run) for run in runs) + (" | FastAPI/Flask |" if a and b else " |"),
        "|---|" + "--:|" * (len(runs) + (1 if a and b else 0)),
    ]

    def row(title: str, cell: Callable[[Run], str], ratio_of: str | None = None) -> None:
        cells = [cell(run) for run in runs]
        if a and b:
            bounds = (capacity_bound(b), capacity_bound(a)) if ratio_of == "rps" else ("", "")
            cells.append(ratio(b[ratio_of], a[ratio_of], *bounds) if ratio_of else "")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")

    row("capacity, requests/s, median [min-max]", spread_cell("rps", "rps_min", "rps_max", "valid"), "rps")
    for p in ("p50", "p95", "p99"):
        row(f"{p} at capacity, ms", field_cell(f"{p}_ms"), f"{p}_ms")
    row("server CPU at capacity, % of one CPU", field_cell("server_cpu_percent", "%"))
    row(
        "server CPU per request at capacity, µs",
        field_cell("capacity_server_cpu_us_per_request"),
        "capacity_server_cpu_us_per_request",
    )
    row("Locust CPU at capacity, busiest second", field_cell("generator_cpu_max", "%"))
    row("equal load: rate asked, requests/s", field_cell("rate"))
    row(
        "equal load: rate reached, requests/s",
        spread_cell("fixed_rps", "fixed_rps_min", "fixed_rps_max", "fixed_valid"),
    )
    for p, name in (("p50", "p50"), ("p95", "p95"), ("p99", "p99"), ("p999", "p99.9")):
        row(f"{name} at equal load, ms", field_cell(f"fixed_{p}_ms"), f"fixed_{p}_ms")
    row(
        "server CPU per request at equal load, µs",
        spread_cell(
            "server_cpu_us_per_request", "server_cpu_us_per_request_min", "server_cpu_us_per_request_max"
        ),
        "server_cpu_us_per_request",
    )
    row("... of which the model, µs", field_cell("model_cpu_us_per_request"))
    row(
        "... of which the framework, µs",
        field_cell("framework_cpu_us_per_request"),
        "framework_cpu_us_per_request",
    )
    row("Locust CPU at equal load, busiest second", field_cell("fixed_generator_cpu_max", "%"))
    row("requests measured, capacity + equal load", lambda r: f"{r['requests']:,} + {r['fixed_requests']:,}")
    row("failed requests", lambda r: f"{r['failures'] + r['fixed_failures']:,}")
    reasons = [
        f"- {label(run)}: {reason}"
        for run in runs
        for reason in run["invalid_reasons"] + run["fixed_invalid_reasons"]
    ]
    if reasons:
        lines += ["", f"{BOUND} Not clean:", "", *reasons]
    server_cpus = max(1, len(summary["environment"]["cpu_plan"]["server_cpus"]))
    unsaturated = [
        f"{label(run)} ({num(run['server_cpu_percent'], '%')})"
        for run in runs
        if run["valid"] and (run["server_cpu_percent"] or 0) < SATURATED * server_cpus
    ]
    if unsaturated:
        lines += [
            "",
            f"Server CPU below {SATURATED * server_cpus:.0f}% at capacity: {joined(unsaturated)}. That "
            "server's CPU was not what limited it (the load generator, or waiting on connections, was).",
        ]
    return "\n".join(lines)


def time_split_table(summary: Mapping[str, Any]) -> str:
    lines = [
        "| scenario | server | CPU per request, µs | model, µs | framework, µs | framework share |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for run in summary["runs"]:
        if is_io(run):
            continue
        total, framework = run["server_cpu_us_per_request"], run["framework_cpu_us_per_request"]
        share = f"{framework / total:.0%}" if total and framework is not None else "-"
        lines.append(
            f"| {run['scenario']} | {label(run)} | {num(total)} | {num(run['model_cpu_us_per_request'])} | "
            f"{num(framework)} | {share} |"
        )
    return "\n".join(lines)


def model_line(summary: Mapping[str, Any]) -> str:
    parts = [
        f"`{name}` {num(m['cpu_us'])} µs CPU ({num(m['wall_us'])} µs wall, "
        f"median of {m['repeats']} x {m['loops']:,} calls)"
        for name, m in summary["model"].items()
    ]
    return "; ".join(parts)


def verification_section(summary: Mapping[str, Any]) -> str:
    lines = []
    for key, v in summary["verification"].items():
        if v.get("error"):
            lines.append(f"- **{key}: not benchmarked**, it did not start:\n\n```\n{v['error']}\n```")
            continue
        failed = [c for c in v["checks"] if not c["passed"]]
        status = "passed" if not failed else "**failed: not benchmarked**"
        lines.append(f"- {key}: {len(v['checks']) - len(failed)}/{len(v['checks'])} contract checks {status}")
        lines += [f"  - {c['name']}: {c['problem']}" for c in failed]
    first = next((v for v in summary["verification"].values() if v["checks"]), None)
    if first:
        names = "; ".join(c["name"] for c in first["checks"])
        lines.append(f"\nChecks, against the running server before any load: {names}.")
    return "\n".join(lines)


def method_section(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    s = env["settings"]
    rates = env.get("rates", {})
    rate_lines = [f"{name} {num(r['rate'])} requests/s ({r['source']})" for name, r in rates.items()]
    return "\n".join(
        [
            "- **Verify before measuring.** Each server is started under its production server and the "
            "contract is checked live; a service that fails is not benchmarked. Every Locust response is "
            "checked too (status, body shape, the species of each known penguin): a wrong answer counts as "
            "a failure.",
            f"- **Equal terms.** {env['workers']} worker process(es) per server; {env['cpu_plan']['note']}. "
            f"Same users ({s['users']}), spawn rate ({s['spawn_rate']:g}/s), warm-up ({s['warmup_s']} s, not "
            f"counted) and measured window ({s['duration_s']} s) for every run. Servers run with their "
            "defaults (access log off on both).",
            "- **Capacity**: closed loop, no wait between requests: the most the server answers per second; "
            "its latencies are mostly queueing time at saturation.",
            "- **Equal load**: every variant at the same fixed rate (Locust `constant_throughput` per user, "
            "users started at random phases so they do not send in bursts), below the slower one's capacity: "
            "latency percentiles, and the server's CPU time per request from its own accounting (psutil, "
            "user + system, master and workers, over the measured window). Rates: "
            + (joined(rate_lines) or "none")
            + ".",
            f"- **Trust the instrument.** Locust's CPU is sampled ({generator_line(env)}); a run where its "
            f"busiest second reaches {GENERATOR_LIMIT:.0f}% (of one process, or of all the generator's "
            "CPUs together) is marked not clean (a lower bound, shown `≥`), as is one with failed "
            f"requests or one that reached less than {RATE_TOLERANCE:.0%} of its rate. Percentiles are exact "
            "(nearest rank over every response time of the window, recorded unrounded by the Locust file), "
            "not Locust's own, which keep about two significant digits.",
            *io_method(summary),
            f"- **Repeats**: {s['repeats']}, variants interleaved (A B A B ...); figures are the median over "
            "repeats, with the spread in brackets.",
            "- **Where the time goes.** The model alone is timed in-process (CPU time, median of repeats): "
            + model_line(summary)
            + ". The model's share of a scenario's CPU per request follows from its request mix; the rest "
            "(routing, validation, serialization, the server) is the framework's share.",
            f"- **Reproduce**: `make bench` (this run: `{env.get('invocation') or env['command']}`, "
            f"which ran `{env['command']}`); every knob is a make variable (`make help`). Raw Locust CSVs "
            "and HTML reports are under `runs/`, server logs under `logs/`.",
        ]
    )


def generator_line(env: Mapping[str, Any]) -> str:
    processes = env.get("locust_processes") or 1
    if processes == 1:
        return "one process"
    return f"a master and {processes} workers (`--processes {processes}`), each process on its own"


def io_method(summary: Mapping[str, Any]) -> list[str]:
    upstream = summary["environment"].get("upstream")
    if not upstream:
        return []
    cpus = upstream.get("cpus") or []
    # Against running services (compose, loadtests/external.py) the upstream was started by someone else.
    where = (
        f"the bench starts the upstream observation service ({num(upstream['latency_ms'])} ms per answer, no "
        f"faults) on the generator's CPU(s) {','.join(map(str, cpus))}, beside Locust, and points every "
        "server at it (UPSTREAM_URL)"
        if cpus
        else f"the upstream observation service ({num(upstream['latency_ms'])} ms per answer, no faults) was "
        "already running, unpinned, and every server points at it (UPSTREAM_URL)"
    )
    return [
        f"- **io**: {where}. Capacity only, one closed loop per server "
        "variant: besides the defaults, Flask under gunicorn `gthread` (one thread per user) and "
        "`gevent`, and the two classic mistakes (examples/). Its throughput is compared with the "
        "Little's-law bound, users / upstream latency; its CPU per request is at capacity. The upstream's "
        "CPU is sampled like Locust's: a run where it reaches "
        f"{GENERATOR_LIMIT:.0f}% of its CPU is not clean.",
    ]


def environment_section(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    commands = "\n".join(f"# {key}\n{cmd}" for key, cmd in env["server_commands"].items() if cmd)
    configs = "\n".join(f"# {key}\n{cfg}" for key, cfg in env.get("server_configs", {}).items() if cfg)
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            f"| CPU | {env['cpu_model']}, {env['cores']} cores |",
            f"| memory | {env['memory_gib']} GiB |",
            f"| OS | {env['os']} |",
            f"| Python | {env['python']} |",
            f"| commit | {env['git']} |",
            f"| started | {env['started_at']}, took {env['elapsed_s']:.0f} s |",
            f"| packages | {packages} |",
            "",
            "Server commands (from the repository's root):",
            "",
            "```sh",
            commands,
            "```",
            "",
            "What each server reported as its configuration:",
            "",
            "```",
            configs,
            "```",
            "",
            "Locust command (one per run; the user class names the scenario):",
            "",
            "```sh",
            env["locust_command"],
            "```",
            *upstream_lines(env),
        ]
    )


def upstream_lines(env: Mapping[str, Any]) -> list[str]:
    upstream = env.get("upstream")
    if not upstream:
        return []
    return ["", "The upstream observation service (io):", "", "```sh", upstream["command"], "```"]


def runs_table(summary: Mapping[str, Any]) -> str:
    lines = ["| run | rps | p99, ms | Locust CPU | clean |", "|---|--:|--:|--:|---|"]
    for run in summary["runs"]:
        for record in run["capacity_runs"] + run["fixed_runs"]:
            lines.append(
                f"| [{record['run_dir']}]({record['run_dir']}/report.html) | {num(record['rps'])} | "
                f"{num(record['p99_ms'])} | {num(record['generator_cpu_max'], '%')} | "
                f"{'yes' if record['valid'] else 'no'} |"
            )
    return "\n".join(lines)


def render_report(summary: Mapping[str, Any], charts: Sequence[str] = tuple(CHARTS)) -> str:
    env = summary["environment"]
    out = [
        "# Flask vs FastAPI: benchmark report",
        "",
        f"{env['started_at']} · `{env.get('invocation') or env['command']}` · "
        f"{env['cpu_model']}, {env['cores']} cores · {env['python']} · commit {env['git']}",
        "",
    ]
    if env.get("interrupted"):
        out += ["**Interrupted**: this report covers only what was measured before Ctrl-C.", ""]
    out += ["## Verdict", "", *[f"{sentence}\n" for sentence in verdict(summary)]]
    if scenarios(summary) or not scenarios(summary, io=True):
        out += ["## Headline", "", headline_table(summary), "", headline_notes(summary), ""]
    for scenario in scenarios(summary):
        description = SCENARIOS[scenario].description if scenario in SCENARIOS else ""
        out += [f"## {scenario}", "", description, "", scenario_table(summary, scenario), ""]
    for scenario in scenarios(summary, io=True):
        description = SCENARIOS[scenario].description if scenario in SCENARIOS else ""
        out += [f"## {scenario}: waiting on an upstream", "", description, "", *io_section(summary), ""]
    if scenarios(summary):
        out += [
            "## Where the time goes",
            "",
            f"The model alone: {model_line(summary)}.",
            "",
            time_split_table(summary),
            "",
        ]
    if charts:
        out += ["## Charts", ""]
        out += [f"![{CHARTS.get(chart, chart)}]({chart})\n" for chart in charts]
    out += ["## Verification", "", verification_section(summary), ""]
    out += ["## Method", "", method_section(summary), ""]
    out += ["## Environment", "", environment_section(summary), ""]
    out += ["## Every run", "", runs_table(summary), ""]
    return "\n".join(out)
