"""report.md, the page a person reads first: the verdict in five lines and the curve, then the pair ratios
with their intervals, the curve's table, the cross-check, what the host did, a table per scenario, the
method and the environment. Pure functions of summary.json.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from loadtests.bench.plan import sections
from loadtests.bench.render.appendix import (
    crosscheck_section,
    environment_section,
    machine_section,
    model_line,
    slices_table,
    verification_section,
)
from loadtests.bench.render.crossover import CHART as CROSSOVER_CHART
from loadtests.bench.render.crossover import crossover_section, has_crossover, n_sentence
from loadtests.bench.render.method import CONNECTION_MODEL, method_markdown
from loadtests.bench.render.nginx_report import nginx_section
from loadtests.bench.render.reading import (
    BOUND,
    Entry,
    joined,
    key_label,
    label,
    num,
    percentile_text,
    ratio_entry,
    ratio_text,
    scenarios,
    variants_of,
    within_text,
)
from loadtests.bench.render.report_io import io_section
from loadtests.bench.render.split_report import split_section
from loadtests.bench.render.sweep_report import sweep_section
from loadtests.bench.render.verdict import slo_sentence, verdict
from loadtests.bench.results.state import partial_note
from loadtests.scenarios import SCENARIOS

CHARTS = {
    "curve.png": "Latency against offered load: corrected p50 and p99, each variant at shares of its own "
    "capacity; a curve ends where its service no longer keeps up",
    "ratios.png": "Each comparison's ratio per pair of slices (hollow: left out), and the figure (the kept "
    "pairs' geometric mean) with its 95% interval",
    "waterfall.png": "From Flask's CPU per request to FastAPI's, step by step",
    "io.png": "io: requests/s of each server against the Little's-law bound (users / upstream latency)",
}
SATURATED = 90.0  # % of the server's CPU(s): below this at capacity, the CPU was not what limited it


def ratios_table(summary: Mapping[str, Any]) -> str:
    lines = [
        "| scenario | comparison | generator | requests/s | CPU per request | within | what it answers |",
        "|---|---|---|--:|--:|--:|---|",
    ]
    for entry in summary["ratios"]:
        if entry["metric"] != "rps":
            continue
        cpu = ratio_entry(
            summary, entry["scenario"], entry["comparison"], "cpu_us_per_request", entry["generator"]
        )
        lines.append(
            f"| {entry['scenario']} | {key_label(entry['numerator'])} / {key_label(entry['denominator'])} | "
            f"{entry['generator']} | {ratio_text(entry)} | {ratio_text(cpu, False)} | "
            f"{within_text(entry)} | {entry['question']} |"
        )
    return "\n".join(lines)


def curve_table(summary: Mapping[str, Any], scenario: str) -> str:
    """A row per variant and offered rate (each variant's rates are shares of its own capacity): what it
    reached, its corrected p50 and p99 with the answers behind the p99, and the collector's pauses in the
    server over the same window, so that a p99 and its likely cause sit side by side."""
    points = [p for p in summary["curve"] if p["scenario"] == scenario]
    lines = [
        "| variant | offered, requests/s | reached | p50, ms | p99, ms (answers) | collections; longest "
        "pause, ms | |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for point in points:
        lines.append(
            f"| {label(point)} | {num(point['offered_rps'])} | {num(point['achieved_rps'])} | "
            f"{num(point['p50_ms'])} | {percentile_text(point['p99_ms'], 99, point['samples'])} | "
            f"{gc_cell(point)} | {curve_flag(point)} |"
        )
    return "\n".join(lines)


def gc_cell(entry: Entry) -> str:
    if entry.get("gc_pauses") is None:
        return "-"
    return f"{entry['gc_pauses']:,}; {num(entry['gc_pause_max_ms'])}"


def curve_flag(point: Entry) -> str:
    if not point["keeps_up"]:
        return "**does not keep up** (its higher rates not run)"
    if not point["clean"]:
        return BOUND
    return ""


def field_cell(field: str, unit: str = "") -> Callable[[Entry], str]:
    return lambda entry: num(entry.get(field), unit)


def spread_cell(entry: Entry) -> str:
    text = num(entry["rps"])
    if entry["rps"] is not None and entry["slices"] > 1:
        text += f" [{num(entry['rps_min'])}-{num(entry['rps_max'])}]"
    if entry["bounded"]:
        text = f"≥ {text}"
    return text + ("" if entry["clean"] else f" {BOUND}")


def scenario_table(summary: Mapping[str, Any], scenario: str) -> str:
    """Rows are figures, columns the variants: their capacity slices (Locust) summarised."""
    entries = variants_of(summary, scenario)
    lines = ["| | " + " | ".join(label(e) for e in entries) + " |", "|---|" + "--:|" * len(entries)]

    def row(title: str, cell: Callable[[Entry], str]) -> None:
        lines.append(f"| {title} | " + " | ".join(cell(e) for e in entries) + " |")

    row("capacity, requests/s, median [min-max]", spread_cell)
    row(
        "server CPU per request, µs (median; behind nginx: nginx's included)",
        field_cell("cpu_us_per_request"),
    )
    row("server CPU busy, % of one CPU", field_cell("server_cpu_percent", "%"))
    if any(e.get("proxy_cpu_us_per_request") is not None for e in entries):
        row("nginx's CPU per request, µs (median)", field_cell("proxy_cpu_us_per_request"))
        row("nginx's CPU busy, % of one CPU", field_cell("proxy_cpu_percent", "%"))
    row("p50 at capacity, ms (closed loop)", field_cell("p50_ms"))
    row("p99 at capacity, ms (closed loop)", field_cell("p99_ms"))
    row("collector's pauses per second in the server (median)", field_cell("gc_pauses_per_s"))
    row("collector's longest pause, ms (median of the slices')", field_cell("gc_pause_max_ms"))
    row("generator's busiest second", field_cell("generator_cpu_max", "%"))
    row("host steal on the server's CPU", field_cell("steal_pct", "%"))
    row(
        "memory per worker after warm-up, RSS / USS, MiB",
        lambda e: f"{num(e['rss_mib'])} / {num(e['uss_mib'])}",
    )
    row(
        "memory per worker at the end, RSS / USS, MiB",
        lambda e: f"{num(e['rss_end_mib'])} / {num(e['uss_end_mib'])}",
    )
    row("start-up to the first healthy answer, s", field_cell("startup_s"))
    row("slices; answers; failed", lambda e: f"{e['slices']}; {e['requests']:,}; {e['failures']:,}")
    reasons = [f"- {label(e)}: {reason}" for e in entries for reason in e["invalid_reasons"]]
    if reasons:
        lines += ["", f"{BOUND} Not clean:", "", *reasons]
    server_cpus = max(1, len(summary["environment"]["cpu_plan"]["server_cpus"]))
    unsaturated = [
        f"{label(e)} ({num(busy(e), '%')})"
        for e in entries
        if e["clean"] and busy(e) < SATURATED * server_cpus
    ]
    if unsaturated:
        lines += [
            "",
            f"Server CPU below {SATURATED * server_cpus:.0f}% at capacity: {joined(unsaturated)}: its CPU "
            "was not what limited it (the generator, or waiting on connections, was).",
        ]
    return "\n".join(lines)


def busy(entry: Entry) -> float:
    """The servers' CPUs busy with the variant: its server, and nginx in front of it if it has one."""
    return float((entry["server_cpu_percent"] or 0) + (entry.get("proxy_cpu_percent") or 0))


# The notation, once, where a reader of the tables starts: in plain words, with one example.
NOTATION = (
    "**How to read the figures.** `1.62x [1.55-1.69], 6 pairs` says that FastAPI answered 1.62 times as many "
    "requests per second as Flask: a pair is one slice of each server, run seconds apart, so that what the "
    "machine does falls on both; 1.62x is the geometric mean of the 6 pairs' ratios, and [1.55-1.69] its 95% "
    "interval, where this run's true ratio lies with 95% confidence. `within ±4.3%` says how far that "
    "interval reaches from the figure. ⚠ marks a figure known less well than ±5% (or from fewer than 4 "
    "pairs): the run added pairs until its budget was spent (the precision rule, docs/bench/method.md). "
    "`≥` or `≤`: a bound, the load generator was the limit. An interval describes its run's pairs: another "
    "run, on another day, also sees the host's drift between runs. A percentile such as `12.4 (n=2,400)` "
    "rests on 2,400 answers; `≈ max`: it is among the slowest few. The host stole: CPU time the machine's "
    "host (a virtual machine's hypervisor) took from it; other processes: what else ran on those CPUs."
)


def render_report(summary: Mapping[str, Any], charts: Sequence[str] = tuple(CHARTS)) -> str:
    env = summary["environment"]
    out = [
        "# Flask vs FastAPI: benchmark report",
        "",
        f"{env['started_at']} · `{env.get('invocation') or env['command']}` "
        f"({env.get('profile', '?')} profile) · {env['cpu_model']}, {env['cores']} cores · {env['python']} · "
        f"commit {env['git']}",
        "",
    ]
    if env.get("interrupted"):
        out += [partial_note(env), ""]
    out += [NOTATION, ""]
    out += [f"## {sections.VERDICT}", "", *[f"{line}\n" for line in verdict(summary)]]
    if "curve.png" in charts:
        out += [f"![{CHARTS['curve.png']}](curve.png)", ""]
    if has_crossover(summary):
        out += crossover_section(summary, CROSSOVER_CHART if CROSSOVER_CHART in charts else None)
    if summary["ratios"]:
        out += [
            f"## {sections.PAIR_RATIOS}",
            "",
            "Each figure is the geometric mean of the ratios of slices run close together (one pair per "
            "round) with its 95% interval [low-high]; `within`: how far that interval reaches from the "
            "figure, ⚠ where it is more than the precision rule's ±5% or rests on fewer than 4 pairs. "
            "Requests/s at capacity (closed loop) and the server's CPU time per request over the same "
            "slices (behind nginx: the server's and nginx's).",
            "",
            ratios_table(summary),
            "",
            f"**The connection model is part of the headline.** {CONNECTION_MODEL}",
            "",
        ]
    if deployment := nginx_section(summary):
        out += [f"## {sections.BEHIND_NGINX}", "", *deployment, ""]
    if sweep := sweep_section(summary):
        out += [f"## {sections.WORKER_COUNTS}", "", *sweep]
    for scenario in dict.fromkeys(p["scenario"] for p in summary["curve"]):
        out += [
            f"## {sections.LATENCY}: {scenario}",
            "",
            "Each variant at shares of its own capacity, lowest first; p50 and p99 corrected for "
            "coordinated omission, with the real answers behind the p99, and the garbage collector's "
            "pauses in the server over the same window (shared/collector.py).",
            "",
            curve_table(summary, scenario),
            "",
        ]
    if summary["curve"]:
        out += [slo_sentence(summary) or "", ""]
    out += [f"## {sections.CROSSCHECK}", "", *crosscheck_section(summary), ""]
    out += [f"## {sections.MACHINE}", "", *machine_section(summary), ""]
    for scenario in scenarios(summary):
        description = SCENARIOS[scenario].description if scenario in SCENARIOS else ""
        out += [f"## {scenario}", "", description, "", scenario_table(summary, scenario), ""]
    for scenario in scenarios(summary, io=True):
        description = SCENARIOS[scenario].description if scenario in SCENARIOS else ""
        out += [f"## {scenario}: waiting on an upstream", "", description, "", *io_section(summary), ""]
    out += [
        f"## {sections.TIME_GOES}",
        "",
        f"The model alone: {model_line(summary)}.",
        "",
        *split_section(summary),
        "",
    ]
    others = [chart for chart in charts if chart not in {"curve.png", CROSSOVER_CHART}]
    if others:
        out += ["## Charts", ""]
        out += [f"![{CHARTS.get(chart, chart)}]({chart})\n" for chart in others]
    out += [f"## {sections.VERIFICATION}", "", verification_section(summary), ""]
    out += ["## Method", "", method_markdown(summary), ""]
    out += ["## Environment", "", environment_section(summary), ""]
    out += ["## Every slice", "", slices_table(summary), ""]
    return "\n".join(out)


def headline_text(summary: Mapping[str, Any]) -> str:
    """What the runner prints at the end: the verdict and the ratios."""
    crossover = [n_sentence(summary), ""] if has_crossover(summary) else []
    return "\n".join([*crossover, *verdict(summary), "", ratios_table(summary) if summary["ratios"] else ""])
