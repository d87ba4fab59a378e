"""The worker sweep in the report (make bench PROFILE=servers): a table per model, and a sentence per server
with its docs' rule beside its best count. Pure functions of summary.json's `sweep`."""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.render.reading import key_label, num, percentile_text, ratio_text


def model_name(model: str) -> str:
    return model or "the default model"


def sweep_table(entries: Sequence[Mapping[str, Any]], model: str) -> str:
    lines = [
        "| server | workers | requests/s at capacity | CPU per request, µs | over its docs' rule: requests/s "
        "| CPU per request | p99 at half its capacity, ms |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for e in entries:
        if e["model"] != model:
            continue
        rule = " (the docs' rule)" if e["rule_point"] else ""
        best = " **best**" if e["best"] else ""
        half = (
            f"{percentile_text(e['half_p99_ms'], 99, e['half_answers'] or 0)} at {num(e['half_rate'])}/s"
            if e["half_rate"]
            else "-"
        )
        rps = ratio_text(e["rps_vs_rule"]) if e["rps_vs_rule"] else "1x"
        cpu = ratio_text(e["cpu_vs_rule"], False) if e["cpu_vs_rule"] else "1x"
        lines.append(
            f"| {key_label(e['key'])}{rule} | {e['workers']} | {num(e['rps'])}{best} | "
            f"{num(e['cpu_us_per_request'])} | {rps} | {cpu} | {half} |"
        )
    return "\n".join(lines)


def sweep_sentence(summary: Mapping[str, Any]) -> str | None:
    """'**Worker counts** (the servers' 1 CPU): with the default model, Flask (gunicorn-sync) was best at 1
    worker, 1.02x [...] the requests/s of its docs' 3; ...'"""
    entries = summary.get("sweep") or []
    if not entries:
        return None
    parts = []
    for model in dict.fromkeys(e["model"] for e in entries):
        said = []
        for server in dict.fromkeys(e["server"] for e in entries if e["model"] == model):
            own = [e for e in entries if (e["model"], e["server"]) == (model, server)]
            rule = next((e for e in own if e["rule_point"]), None)
            best = next((e for e in own if e["best"]), None)
            if rule is None or best is None:
                continue
            if best is rule:
                said.append(f"{key_label(server)} at its docs' {rule['workers']}")
            else:
                said.append(
                    f"{key_label(server)} at {best['workers']} worker{'s' if best['workers'] != 1 else ''}, "
                    f"{ratio_text(best['rps_vs_rule'], False)} the requests/s of its docs' {rule['workers']}"
                )
        if said:
            parts.append(f"with {model_name(model)}, " + "; ".join(said))
    cpus = len((summary["environment"].get("cpu_plan") or {}).get("server_cpus") or ()) or 1
    return (
        f"**Worker counts** (on the servers' {cpus} CPU{'s' if cpus != 1 else ''}; each server's best "
        "count beside its docs' rule, paired round by round): " + "; ".join(parts) + "."
    )


def sweep_section(summary: Mapping[str, Any]) -> list[str]:
    entries = summary.get("sweep") or []
    if not entries:
        return []
    out = [
        sweep_sentence(summary) or "",
        "",
        "Each server at the worker counts around its docs' rule (gunicorn's sync worker: one and two per "
        "CPU, and 2 x CPUs + 1, its docs' starting point; uvicorn, both FastAPI forms: one and two per CPU), "
        "all on the servers' CPUs: capacity in rounds, the order reversed every other round, each count "
        "paired with its server's rule round by round; then each at half its own capacity, the p99 corrected "
        "for coordinated omission with the answers behind it.",
        "",
    ]
    for model in dict.fromkeys(e["model"] for e in entries):
        out += [f"**{model_name(model).capitalize()}**", "", sweep_table(entries, model), ""]
    return out
