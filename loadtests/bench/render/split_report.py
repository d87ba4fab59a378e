"""Where the difference comes from: each framework's CPU per request layer by layer, the waterfall from
Flask's to FastAPI's with the same-server pair as its control, the contract's price, memory and start-up.
Pure functions of summary.json (its `split`, `waterfall`, `glue` and `variants`).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from loadtests.bench.render.reading import BOUND, key_label, label, num, short_label, times

ROWS = (
    ("model_us", "the model (shared, the same code)"),
    ("validation_us", "validation (marshmallow and the glue / pydantic)"),
    ("serialization_us", "serialization (restx's marshal and JSON / pydantic's dump)"),
    ("framework_us", "the rest of the app: routing, parsing, request and response, thread pool"),
    ("app_us", "the app, in-process"),
    ("server_us", "the server and its connection model (under load, less the app)"),
    ("server_cpu_us", "measured under load: the server's CPU per request"),
)


# The split's columns, left to right: Flask, Flask at its best today (when measured), FastAPI.
ORDER = ("flask", "flask_openapi", "fastapi")


def split_table(summary: Mapping[str, Any], scenario: str) -> str:
    entries = {e["framework"]: e for e in summary["split"] if e["scenario"] == scenario}
    shown = [entries[name] for name in ORDER if name in entries]
    flask, fastapi = entries.get("flask", {}), entries.get("fastapi", {})
    heads = [label(e) if e.get("variant") else short_label(e) for e in shown]
    lines = [
        f"| µs of CPU per request | {' | '.join(heads)} | FastAPI less Flask |",
        "|---|" + "--:|" * (len(shown) + 1),
    ]
    for field, title in ROWS:
        a, b = flask.get(field), fastapi.get(field)
        delta = b - a if a is not None and b is not None else None
        sign = "+" if delta is not None and delta > 0 else ""
        cells = " | ".join(num(e.get(field)) for e in shown)
        lines.append(f"| {title} | {cells} | {sign}{num(delta)} |")
    return "\n".join(lines)


def waterfall_paragraph(summary: Mapping[str, Any]) -> str | None:
    """The one-paragraph answer to "where does the difference come from", from the measured waterfalls."""
    sentences = []
    for fall in summary.get("waterfall", []):
        top = fall["steps"][0]
        total = fall["fastapi_us"] - fall["flask_us"]
        others = ", ".join(
            f"{step['name'].split(':')[0]} {signed(step['delta_us'])}"
            for step in fall["steps"][1:]
            if step["delta_us"]
        )
        sentence = (
            f"On **{fall['scenario']}**, Flask under {fall['flask_variant']} spends "
            f"{num(fall['flask_us'])} µs of CPU per request and FastAPI under {fall['fastapi_variant']} "
            f"{num(fall['fastapi_us'])} µs "
            f"({signed(total)}); the biggest step is **{top['name'].split(':')[0]}, "
            f"{signed(top['delta_us'])}** ({others})."
        )
        if via := fall.get("via"):
            stack, framework = via["stack_steps"][0], via["framework_steps"][0]
            middle = key_label(f"{via['framework']}-{via['variant']}")
            sentence += (
                f" Flask at its best today ({middle}) stands at "
                f"{num(via['cpu_us'])} µs between them: from Flask to it (the stack, the same server) the "
                f"biggest step is {stack['name'].split(':')[0]}, {signed(stack['delta_us'])}; from it to "
                f"FastAPI (the framework and its server, the same validation), "
                f"{framework['name'].split(':')[0]}, {signed(framework['delta_us'])}."
            )
        control = fall.get("control") or {}
        if control.get("cpu_ratio") is not None:
            sentence += (
                f" Under one server (Granian) the two frameworks differ by {times(control['cpu_ratio'])} "
                f"in CPU per request ({signed(control.get('delta_us'))}; the apps in-process: "
                f"{signed(fall['app_delta_us'])})."
            )
        sentences.append(sentence)
    if not sentences:
        return None
    machine = summary.get("in_process_machine") or {}
    if machine.get("disturbed"):
        sentences.append(
            f"{BOUND} Other processes took {num(machine['others_pct'], '%')} of the servers' CPU while "
            f"the apps were timed in-process (the host stole {num(machine['steal_pct'], '%')}): the "
            "in-process layers, and so these steps, are not to be trusted."
        )
    if machine.get("spread_pct") is not None:
        sentences.append(
            "Each in-process layer is its fastest round (the machine's speed moved: an app's slowest round "
            f"was up to {num(machine['spread_pct'], '%')} slower)."
        )
    if any((e.get("server_us") or 0) < 0 for e in summary["split"]):
        sentences.append(
            f"{BOUND} A server's share came out negative: the app cost more in-process than its server "
            "did under load, so the in-process figure is too high (a disturbed machine, or a hand-off "
            "the load amortises)."
        )
    return "**Where the difference comes from.** " + " ".join(sentences)


def waterfall_sentence(summary: Mapping[str, Any]) -> str | None:
    """The verdict's short form: per scenario, the biggest step."""
    parts = []
    for fall in summary.get("waterfall", []):
        top = fall["steps"][0]
        parts.append(f"{fall['scenario']}: {top['name'].split(':')[0]} {signed(top['delta_us'])} µs")
    return (
        (
            "The biggest step from Flask's CPU per request to FastAPI's, for the two defaults (each under "
            "its "
            "own server): " + "; ".join(parts) + "."
        )
        if parts
        else None
    )


def signed(value: float | None) -> str:
    if value is None:
        return "-"
    return f"+{num(value)}" if value > 0 else f"-{num(-value)}" if value < 0 else "0"


def glue_table(summary: Mapping[str, Any]) -> list[str]:
    glue = summary.get("glue") or {}
    if not glue:
        return []
    lines = [
        "**The contract's price**: each service's in-process CPU per request over a minimal app of its own "
        "stack written as its docs show (loadtests/bench/inprocess/reference_apps.py), the median of "
        "alternated pairs:",
        "",
        "| service | endpoint | service, µs | reference, µs | service / reference | range |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for framework, by_endpoint in glue.items():
        for endpoint, figure in by_endpoint.items():
            lines.append(
                f"| {short_label({'framework': framework})} | {endpoint} | {num(figure['service_cpu_us'])} "
                f"| {num(figure['reference_cpu_us'])} | {times(figure['ratio'])} "
                f"| {times(figure['ratio_min'])}-{times(figure['ratio_max'])} |"
            )
    return lines


def memory_table(summary: Mapping[str, Any]) -> list[str]:
    """Per variant, over every scenario it served: memory per worker and the time to its first answer."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for entry in summary["variants"]:
        by_key.setdefault(f"{entry['framework']}-{entry['variant']}", []).append(entry)
    if not by_key:
        return []
    starts = summary["environment"].get("server_starts") or []
    lines = [
        "**Memory and start-up**, per worker (the servers' worker processes; their master's memory is in "
        "summary.json's runs as `tree_rss_mib`):",
        "",
        "| variant | RSS after warm-up, MiB | USS after warm-up, MiB | RSS at the end, MiB "
        "| USS at the end, MiB | start to first healthy answer, s | starts |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for key, entries in by_key.items():
        own = sorted(s["startup_s"] for s in starts if s["variant"] == key and s["startup_s"] is not None)
        startup = own[len(own) // 2] if own else None
        lines.append(
            f"| {key_label(key)} | {num(median_of(entries, 'rss_mib'))} "
            f"| {num(median_of(entries, 'uss_mib'))} | {num(max_of(entries, 'rss_end_mib'))} "
            f"| {num(max_of(entries, 'uss_end_mib'))} | {num(startup)} | {len(own)} |"
        )
    return lines


def median_of(entries: list[Mapping[str, Any]], field: str) -> float | None:
    values = sorted(e[field] for e in entries if e.get(field) is not None)
    return values[len(values) // 2] if values else None


def max_of(entries: list[Mapping[str, Any]], field: str) -> float | None:
    return max((e[field] for e in entries if e.get(field) is not None), default=None)


def split_section(summary: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    if summary.get("split"):
        lines += [
            "Each app called in-process, without a socket or a server (loadtests/bench/inprocess/split.py), "
            "layer by layer, on the servers' CPU; the server's share is what the load measured less the app.",
            "",
        ]
        for scenario in dict.fromkeys(e["scenario"] for e in summary["split"]):
            lines += [f"**{scenario}**", "", split_table(summary, scenario), ""]
        if paragraph := waterfall_paragraph(summary):
            lines += [paragraph, ""]
    else:
        lines += ["No in-process split in this run (the quick profile has none).", ""]
    lines += glue_table(summary)
    if lines and lines[-1] != "":
        lines.append("")
    return lines + memory_table(summary)


def waterfall_chart(summary: Mapping[str, Any], path: Path) -> Path | None:
    """One panel per scenario: Flask's CPU per request, a floating bar per step, FastAPI's."""
    falls = summary.get("waterfall") or []
    if not falls:
        return None
    wide = 7.0 if any(fall.get("via") for fall in falls) else 5.2  # the middle stop adds a leg of steps
    figure, axes = plt.subplots(1, len(falls), figsize=(wide * len(falls) + 0.4, 4.2), squeeze=False)
    for ax, fall in zip(axes[0], falls, strict=True):
        via = fall.get("via")
        legs = (
            [
                ("Flask", fall["flask_us"], via["stack_steps"]),
                ("Flask-OpenAPI3", via["cpu_us"], via["framework_steps"]),
            ]
            if via
            else [("Flask", fall["flask_us"], fall["steps"])]
        )
        names: list[str] = []
        for name, level, steps in legs:  # a stop's bar, then a floating bar per step to the next stop
            ax.bar(len(names), level, color="#4c72b0" if not names else "#8172b3")
            names.append(name)
            for step in (s for s in steps if s["delta_us"]):
                delta = step["delta_us"]
                ax.bar(len(names), delta, bottom=level, color="#55a868" if delta < 0 else "#c44e52")
                ax.annotate(
                    signed(delta),
                    (len(names), max(level, level + delta)),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
                names.append(step["name"].split(":")[0].replace(" and ", "\n& "))
                level += delta
        ax.bar(len(names), fall["fastapi_us"], color="#dd8452")
        names.append("FastAPI")
        ax.set_xticks(range(len(names)), names, fontsize=6, rotation=30, ha="right")
        ax.set_ylabel("server CPU µs per request")
        ax.set_title(fall["scenario"])
        ax.spines[["top", "right"]].set_visible(False)
    figure.suptitle(
        "From Flask's CPU per request to FastAPI's, through Flask at its best today where measured (green: "
        "less)",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
