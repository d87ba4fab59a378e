"""The verdict: the few lines a reader takes away. Flask's default against each of FastAPI's forms, under the
generator that kept both servers busy; the capacity at the latency objective, with the collector's pauses
behind it; as deployed and under one server when the run measured those; how far to trust it. Pure functions
of summary.json.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.config import FLASK_OPENAPI, VERDICT
from loadtests.bench.render.nginx_report import nginx_sentence
from loadtests.bench.render.reading import (
    joined,
    key_label,
    num,
    origin,
    ratio_entry,
    ratio_text,
    scenarios,
    times,
)
from loadtests.bench.render.report_io import io_verdict
from loadtests.bench.render.split_report import waterfall_sentence
from loadtests.bench.results.figures import AGREEMENT, BUSY_LIMIT
from loadtests.bench.results.figures import lead_generator as generator_leading

# The comparisons the verdict leads with, in order: Flask's default against each of FastAPI's forms.
FORMS = ("default", "async-def-form")
WRK_INSTALL = "apt-get install wrk"


def headline_scenarios(summary: Mapping[str, Any]) -> list[str]:
    return [s for s in scenarios(summary) if ratio_entry(summary, s, "default", "rps")]


def verdict(summary: Mapping[str, Any]) -> list[str]:
    """A line per FastAPI form against Flask, the generators' agreement, the capacity at the objective, the
    pair as deployed (behind nginx) or under one server when measured, and how far to trust it."""
    lines = []
    failed = [key for key, v in summary["verification"].items() if not v["passed"]]
    names = headline_scenarios(summary)
    for comparison in FORMS:
        if line := form_sentence(summary, comparison, names):
            lines.append(line)
    if stack := stack_sentence(summary):
        lines.append(stack)
    if collector := collector_sentence(summary):
        lines.append(collector)
    if precision := precision_sentence(summary):
        lines.append(precision)
    if generators := generator_sentence(summary):
        lines.append(generators)
    if slo := slo_sentence(summary):
        lines.append(slo)
    if deployed := nginx_sentence(summary):
        lines.append(deployed)
    if failed:
        lines.append(
            f"**Not benchmarked:** {', '.join(failed)} failed the live contract checks (see Verification)."
        )
    if same := same_server_sentence(summary):
        lines.append(same)
    elif io := io_verdict(summary):
        lines.append(io)
    return [*lines, trust_sentence(summary)]


def lead_generator(summary: Mapping[str, Any], scenario: str) -> str:
    """The generator whose figure leads on the scenario (results/figures.py)."""
    return generator_leading(summary["crosscheck"], scenario)


def form_sentence(summary: Mapping[str, Any], comparison: str, names: Sequence[str]) -> str | None:
    """'**FastAPI (uvicorn) against Flask (gunicorn-sync)**: predict 1.60x [1.55-1.66] the requests/s at 0.62x
    [...] the CPU per request; batch ... (6 and 9 pairs, 95% intervals).'"""
    parts, pairs, first = [], set(), None
    for scenario in names:
        generator = lead_generator(summary, scenario)
        rps = ratio_entry(summary, scenario, comparison, "rps", generator)
        if rps is None:
            continue
        cpu = ratio_entry(summary, scenario, comparison, "cpu_us_per_request", generator)
        under = " under wrk" if generator == "wrk" else ""
        parts.append(
            f"{scenario}{under} {ratio_text(rps, with_pairs=False)} the requests/s at "
            f"{ratio_text(cpu, with_pairs=False)} the CPU per request"
        )
        pairs.add(str(rps.get("pairs")))
        first = first or rps
    if first is None:
        return None
    how = (
        f"{first['confidence']:.0%} intervals" if first.get("low") is not None else "too few for an interval"
    )
    return (
        f"**{key_label(first['numerator'])} against {key_label(first['denominator'])}**: "
        + "; ".join(parts)
        + f" ({joined(sorted(pairs, key=int))} pairs, {how})."
    )


def stack_sentence(summary: Mapping[str, Any]) -> str | None:
    """Flask at its best today beside the other two: FastAPI over it (the framework), it over Flask with
    flask-restx and marshmallow (the stack), and the stack's share of FastAPI's lead (the logarithms of the
    paired ratios add up: FastAPI/Flask = FastAPI/it x it/Flask)."""
    framework, stack, shares = [], [], []
    for scenario in headline_scenarios(summary):
        over_it = ratio_entry(summary, scenario, "fastapi-over-flask-openapi", "rps")
        it_over = ratio_entry(summary, scenario, "flask-openapi-over-flask", "rps")
        lead = ratio_entry(summary, scenario, "default", "rps")
        if not (over_it and it_over and over_it["ratio"] and it_over["ratio"]):
            continue
        framework.append(f"{scenario} {ratio_text(over_it, with_pairs=False)}")
        stack.append(f"{scenario} {ratio_text(it_over, with_pairs=False)}")
        if lead and lead["ratio"] and lead["ratio"] > 1:
            share = math.log(it_over["ratio"]) / math.log(lead["ratio"])
            shares.append(f"{share:.0%} on {scenario}")
    if not framework:
        return None
    text = (
        f"**Flask at its best today** ({key_label(FLASK_OPENAPI)}: flask-openapi3, pydantic and OpenAPI "
        f"3.1): FastAPI (uvicorn) over it {', '.join(framework)} the requests/s (the framework, the same "
        f"validation library); it over Flask (flask-restx, marshmallow) {', '.join(stack)} (the stack, the "
        "same server)."
    )
    if shares:
        text += (
            f" Of FastAPI's lead over Flask, the stack is {joined(shares)} (on a log scale: the two ratios "
            "multiply to FastAPI's over Flask); the framework and its server, the rest."
        )
    return text


# The collector's comparisons, by what they show: its effect on each variant, FastAPI/Flask with it on both.
GC_EFFECT = {"gc-flask": "Flask", "gc-fastapi": "FastAPI `def`", "gc-async-def": "FastAPI `async def`"}
GC_BOTH = {"default-gc-tuned": "default", "async-def-form-gc-tuned": "async-def-form"}


def collector_sentence(summary: Mapping[str, Any]) -> str | None:
    """'**The collector tuned** (GC_TUNING=1, ...): on batch FastAPI `def` 1.58x the requests/s, ...; FastAPI
    over Flask then 2.60x (`def`) and 3.10x (`async def`), against 1.64x and 2.80x as served.'"""
    parts = []
    for scenario in scenarios(summary):
        effects = [
            f"{who} {ratio_text(entry, with_pairs=False)}"
            for name, who in GC_EFFECT.items()
            if (entry := ratio_entry(summary, scenario, name, "rps")) and entry["ratio"] is not None
        ]
        if not effects:
            continue
        both = [
            (ratio_entry(summary, scenario, tuned, "rps"), ratio_entry(summary, scenario, served, "rps"))
            for tuned, served in GC_BOTH.items()
        ]
        text = f"on {scenario} " + ", ".join(effects) + " the requests/s"
        if measured := [(t, s) for t, s in both if t and s and t["ratio"] and s["ratio"]]:
            text += (
                "; FastAPI over Flask then "
                + " and ".join(f"{ratio_text(t, False)} ({form_of(t)})" for t, _ in measured)
                + ", against "
                + " and ".join(ratio_text(s, False) for _, s in measured)
                + " as served"
            )
        parts.append(text)
    if not parts:
        return None
    return (
        "**The collector tuned** (`GC_TUNING=1` on both services: the start-up heap frozen, young "
        "collections every 10,000 allocations; shared/collector.py), over the interpreter's collector each "
        "framework is served with: " + "; ".join(parts) + "."
    )


def collector_table(summary: Mapping[str, Any]) -> str:
    """docs/deployment.md's figures for the tuning: per scenario and variant, requests/s and CPU per request
    with the interpreter's collector and tuned (medians of the capacity slices), and the paired ratio."""
    lines = [
        "| scenario | variant | requests/s: interpreter's → tuned | tuned / interpreter's, paired | CPU per "
        "request, µs: interpreter's → tuned |",
        "|---|---|--:|--:|--:|",
    ]
    figures = {(v["scenario"], f"{v['framework']}-{v['variant']}"): v for v in summary["variants"]}
    for scenario in scenarios(summary):
        for name in GC_EFFECT:
            entry = ratio_entry(summary, scenario, name, "rps")
            if entry is None:
                continue
            served = figures.get((scenario, entry["denominator"]), {})
            tuned = figures.get((scenario, entry["numerator"]), {})
            lines.append(
                f"| {scenario} | {key_label(entry['denominator'])} | {num(served.get('rps'))} → "
                f"{num(tuned.get('rps'))} | {ratio_text(entry)} | {num(served.get('cpu_us_per_request'))} → "
                f"{num(tuned.get('cpu_us_per_request'))} |"
            )
    return "\n".join(lines)


def form_of(entry: Mapping[str, Any]) -> str:
    return "`async def`" if "async-def" in entry["numerator"] else "`def`"


def precision_sentence(summary: Mapping[str, Any]) -> str | None:
    """Whether the figures the verdict leads with are precise (within ±5%, the precision rule), or which
    reached the run's budget first, with how far their intervals reach."""
    rule = summary["environment"].get("precision") or {}
    lead = rule.get("lead") or list(FORMS)
    limit = rule.get("precision", 0.05)
    entries = [
        e
        for scenario in headline_scenarios(summary)
        for name in lead
        if (e := ratio_entry(summary, scenario, name, "rps", lead_generator(summary, scenario)))
    ]
    if not entries:
        return None
    pairs = sorted({e["pairs"] for e in entries})
    loose = [e for e in entries if not e["precise"]]
    if not loose:
        span = f"{pairs[0]}" if len(pairs) == 1 else f"{pairs[0]} to {pairs[-1]}"
        return (
            f"**Precise**: each figure above is known to within ±{limit:.0%} (its 95% interval), from "
            f"{span} pairs (the precision rule, docs/bench/method.md)."
        )
    named = "; ".join(
        f"{e['scenario']} {key_label(e['numerator'])} / {key_label(e['denominator'])} {interval_words(e)}"
        for e in loose
    )
    why = (
        f"when the run's budget ({rule['budget_s']} s, BUDGET_S) was spent"
        if rule.get("budget_s")
        else "and the run had no budget for more pairs (BUDGET_S=0)"
    )
    rest = (
        f"The other figures above are within ±{limit:.0%}."
        if len(loose) < len(entries)
        else f"None of the figures above is within ±{limit:.0%}."
    )
    return f"**Not within ±{limit:.0%}** {why}: {named}. {rest} (The precision rule: docs/bench/method.md.)"


def interval_words(entry: Mapping[str, Any]) -> str:
    """'2.80x [2.52-3.08] from 12 pairs (±10.0%)', or what is missing for an interval."""
    prefix = f"{entry['bound']} " if entry.get("bound") else ""
    if entry["ratio"] is None:
        return f"with no clean pair ({entry['dropped']} dropped)"
    pairs = f"{entry['pairs']} pair{'s' if entry['pairs'] != 1 else ''}"
    dropped = f", {entry['dropped']} dropped" if entry["dropped"] else ""
    if entry["low"] is None:
        return f"{prefix}{entry['ratio']:.2f}x from {pairs}{dropped}: no interval"
    return (
        f"{prefix}{entry['ratio']:.2f}x [{entry['low']:.2f}-{entry['high']:.2f}] from {pairs}{dropped} "
        f"(±{entry['precision']:.1%})"
    )


def generator_sentence(summary: Mapping[str, Any]) -> str | None:
    """Whether a second generator agrees, and which one the verdict reads when they do not."""
    checks = summary["crosscheck"]
    if not checks:
        env = summary["environment"]
        if env.get("wrk", True) or not env.get("wrk_planned", False):
            return None
        return (
            "**Not cross-checked**: wrk is not installed, so no second generator checked Locust's figures "
            f"(`{WRK_INSTALL}`, then run it again)."
        )
    parts = []
    for check in checks:
        locust, wrk = times(check["locust_ratio"]), times(check["wrk_ratio"])
        busy = lowest_busy(check)
        if check["differ"] is None:
            parts.append(f"on {check['scenario']} nothing to compare (no clean pair under one of them)")
        elif not check["differ"]:
            parts.append(
                f"on {check['scenario']} Locust {locust} and wrk {wrk} agree within 10%, every server at "
                f"least {num(busy.get('locust'), '%')} busy under Locust and {num(busy.get('wrk'), '%')} "
                "under wrk"
            )
        elif check.get("saturated") == ["wrk"]:
            parts.append(
                f"on {check['scenario']} Locust gives {locust} and wrk {wrk}; only wrk kept every server "
                f"{BUSY_LIMIT:g}% busy (under Locust {num(busy.get('locust'), '%')}), so the figure above is "
                "wrk's: a generator that leaves a server idle measures itself" + costlier(check)
            )
        else:
            parts.append(
                f"on {check['scenario']} **Locust gives {locust} and wrk {wrk}**, more than 10% apart, with "
                f"the servers at least {num(busy.get('locust'), '%')} busy under Locust and "
                f"{num(busy.get('wrk'), '%')} under wrk" + costlier(check) + " (see Cross-check)"
            )
    return "**Two generators**: " + "; ".join(parts) + "."


def costlier(check: Mapping[str, Any]) -> str:
    """'; under Locust each request also cost FastAPI (uvicorn) 1.32x the CPU' where a server's CPU per
    request moved more than the agreement allows between the generators (Locust's own CPU, on the CPU
    beside the server's, slows it on this kind of host: docs/bench/method.md)."""
    moved = [
        f"{key_label(key)} {times(cpu)}"
        for key, cpu in (check.get("cpu_under_locust") or {}).items()
        if cpu is not None and cpu > 1 + AGREEMENT
    ]
    return f"; under Locust each request also cost {joined(moved)} the CPU" if moved else ""


def lowest_busy(check: Mapping[str, Any]) -> dict[str, float]:
    """Per generator, the least busy server's CPU (median over its capacity slices), % of its CPUs."""
    found: dict[str, float] = {}
    for figures in (check.get("by_framework") or {}).values():
        for generator, own in figures.items():
            busy = own.get("server_cpu_percent")
            if busy is not None:
                found[generator] = min(found.get(generator, busy), busy)
    return found


def slo_sentence(summary: Mapping[str, Any]) -> str | None:
    """Capacity at the objective per scenario for the verdict's variants: the offered rate at which each
    one's corrected p99 reaches SLO_MS (results/figures.py, capacity_at_slo), and the collector's longest
    pause at any of its rates."""
    slo = summary["capacity_at_slo"]
    found = []
    for scenario in dict.fromkeys(p["scenario"] for p in summary["curve"]):
        own = []
        for key in slo_keys(summary, scenario):
            shown = capacity_text(slo, f"{key}/{scenario}")
            own.append(f"{key_label(key)} {shown}{gc_note(summary, key, scenario)}")
        found.append(f"{scenario}: " + ", ".join(own))
    if not found:
        return None
    return (
        f"**Capacity at p99 < {slo['slo_ms']:g} ms** (requests/s offered, p99 corrected for coordinated "
        "omission, read between the rates measured; ≥: met at every one; in brackets the collector's longest "
        "pause in the server at any of its rates): " + "; ".join(found) + "."
    )


def slo_keys(summary: Mapping[str, Any], scenario: str) -> list[str]:
    """The variants whose capacity at the objective was measured on the scenario, the verdict's first."""
    measured = list(dict.fromkeys(p["key"] for p in summary["curve"] if p["scenario"] == scenario))
    return sorted(measured, key=lambda key: VERDICT.index(key) if key in VERDICT else len(VERDICT))


def gc_note(summary: Mapping[str, Any], key: str, scenario: str) -> str:
    """' (GC ≤ 3.1 ms)': the collector's longest pause in the server at any of the variant's rates on the
    curve, when pauses were recorded; ' (no collection)' when there was none."""
    pauses = [
        p["gc_pause_max_ms"]
        for p in summary["curve"]
        if p["key"] == key and p["scenario"] == scenario and p.get("gc_pause_max_ms") is not None
    ]
    if not pauses:
        return ""
    return f" (GC ≤ {num(max(pauses), 'ms')})" if max(pauses) > 0 else " (no collection)"


def same_server_sentence(summary: Mapping[str, Any]) -> str | None:
    parts = []
    for scenario in scenarios(summary):
        entry = ratio_entry(summary, scenario, "same-server", "rps")
        if entry and entry["ratio"] is not None:
            cpu = ratio_entry(summary, scenario, "same-server", "cpu_us_per_request")
            parts.append(
                f"{scenario} {ratio_text(entry, False)} the requests/s at {ratio_text(cpu, False)} the CPU"
            )
    if not parts:
        return None
    sentence = "**Both under Granian** (the framework alone): " + "; ".join(parts) + "."
    if waterfall := waterfall_sentence(summary):
        sentence += " " + waterfall
    return sentence


def trust_sentence(summary: Mapping[str, Any]) -> str:
    noise = summary["noise"]
    dropped = sum(e["dropped"] for e in summary["ratios"] if e["metric"] == "rps")
    kept = sum(e["pairs"] for e in summary["ratios"] if e["metric"] == "rps")
    return (
        f"**The machine**: the host stole {num(noise['steal_pct_median'], '%')} of the server's CPU (median "
        f"slice; worst {num(noise['steal_pct_max'], '%')}), other processes took "
        f"{num(noise['others_pct_median'], '%')} (worst {num(noise['others_pct_max'], '%')}); {dropped} of "
        f"{dropped + kept} pairs dropped."
    )


def forms_paragraph(summary: Mapping[str, Any]) -> str:
    """docs/reading-the-diff.md's figures for its rule: both FastAPI forms beside Flask's default, and the
    `async def` form over the `def` one, from one run (with each one's capacity at the objective when the
    run measured the curve: make bench PROFILE=latency)."""
    env = summary["environment"]
    slo = summary["capacity_at_slo"]
    curve = bool(summary["curve"])
    lines = [
        f"From {origin(summary)} ({env['cpu_model']}, {env['cores']} cores); requests/s at capacity, the "
        "geometric mean of the pairs' ratios [95% interval]"
        + (
            f", and the capacity at p99 < {slo['slo_ms']:g} ms (requests/s offered, read between the rates "
            "measured; none: not even at its lowest; ≥: met at every one)"
            if curve
            else ""
        )
        + ":",
        "",
        "| scenario | `def` / Flask | `async def` / Flask | `async def` / `def` |"
        + (" at the objective: Flask, `def`, `async def` |" if curve else ""),
        "|---|--:|--:|--:|" + ("--:|" if curve else ""),
    ]
    for scenario in headline_scenarios(summary):
        ratios = [
            ratio_text(ratio_entry(summary, scenario, comparison, "rps"), with_pairs=False)
            for comparison in (*FORMS, "async-def")
        ]
        row = f"| {scenario} | " + " | ".join(ratios) + " |"
        if curve:
            row += " " + " / ".join(capacity_text(slo, f"{key}/{scenario}") for key in VERDICT) + " |"
        lines.append(row)
    return "\n".join(lines)


def capacity_text(slo: Mapping[str, Any], key: str) -> str:
    rate = slo.get(key)
    if rate is None:
        return "none"
    return f"≥ {num(rate)}" if key in slo.get("bounded", []) else num(rate)
