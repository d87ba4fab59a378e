"""The crossover's chart, table and sentence (make bench PROFILE=crossover), from summary.json's `crossover`
and `crossover_n_us` (results/crossover.py): the report's section, and the text the readme command writes
into README.md and docs/argument.md between their `bench:crossover` markers."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from loadtests.bench.plan.sections import CROSSOVER
from loadtests.bench.render.reading import BOUND, joined, key_label, num, origin
from loadtests.bench.results.crossover import HEALTH_P99, WITHIN, model_axis
from shared.model import model_label

CHART = "crossover.png"
CHART_TITLE = (
    "FastAPI/Flask requests/s against the model's CPU per request (log axis): the median of the pair ratios "
    "with its interval, one line per comparison and scenario"
)
STYLES = {"predict": "-", "batch": "--"}
COMPARISON_COLOURS = {"default": "#dd8452", "async-def-form": "#c44e52", "same-server": "#4c72b0"}
COMPARISON_LABELS = {
    "default": "the defaults: FastAPI (uvicorn) / Flask (gunicorn-sync)",
    "async-def-form": "FastAPI's `async def` form / Flask (gunicorn-sync)",
    "same-server": "both under Granian: FastAPI / Flask",
}
Summary = Mapping[str, Any]


def has_crossover(summary: Summary) -> bool:
    return bool(summary.get("crossover"))


def crossover_chart(summary: Summary, path: Path) -> Path:
    """The requests/s ratio against the model's cost, log x; the band [0.95, 1.05] shaded, 1.0 dotted."""
    axis = model_axis(summary["crossover"])
    figure, ax = plt.subplots(figsize=(7.2, 4.2))
    ax.axhspan(1 - WITHIN, 1 + WITHIN, color="#dddddd", alpha=0.6, linewidth=0)
    ax.axhline(1.0, color="grey", linewidth=1, linestyle=":")
    for comparison, scenario in dict.fromkeys((e["comparison"], e["scenario"]) for e in axis):
        points = sorted(
            (e for e in axis if (e["comparison"], e["scenario"]) == (comparison, scenario) and e["ratio"]),
            key=lambda e: e["model_cpu_us"],
        )
        if not points:
            continue
        x = [e["model_cpu_us"] / 1000 for e in points]
        y = [e["ratio"] for e in points]
        ax.errorbar(
            x,
            y,
            yerr=[
                [e["ratio"] - (e["low"] or e["ratio"]) for e in points],
                [(e["high"] or e["ratio"]) - e["ratio"] for e in points],
            ],
            fmt="o" + STYLES.get(scenario, ":"),
            color=COMPARISON_COLOURS.get(comparison, "#55a868"),
            capsize=3,
            markersize=4,
            label=f"{COMPARISON_LABELS.get(comparison, comparison)}, {scenario}",
        )
    if (n := summary.get("crossover_n_us")) is not None:
        ax.axvline(n / 1000, color="black", linewidth=1, linestyle="--")
        ax.annotate(f"N = {n / 1000:.3g} ms", (n / 1000, ax.get_ylim()[1]), va="top", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("the model's CPU per request, ms (timed in-process in the run)")
    ax.set_ylabel("requests/s, FastAPI / Flask")
    ax.set_title(
        f"Does the framework still matter as the model gets dearer? (grey band: within ±{WITHIN:.0%})",
        fontsize=9,
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=6, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def n_sentence(summary: Summary) -> str:
    """The sentence the run supports, with N as measured, or that no model measured reaches it."""
    n = summary.get("crossover_n_us")
    if n is None:
        return (
            f"**No such N among the models measured**: at no model cost does every comparison's requests/s "
            f"ratio interval, on predict and batch, lie within ±{WITHIN:.0%} for that model and every dearer "
            "one."
        )
    return (
        f"**Above {n / 1000:.3g} ms of model time per request the framework changes throughput by less "
        f"than {WITHIN:.0%}**: from that model cost up, every comparison's requests/s ratio interval, on "
        "predict and batch, lies within that band."
    )


def interval(entry: Mapping[str, Any] | None, unit: str = "x") -> str:
    """A ratio (its geometric mean [95% interval], pairs; ⚠ wider than ±5%) or a p99 (the rounds' median
    [interval], rounds)."""
    if entry is None:
        return "-"
    if unit == "x":
        if entry.get("ratio") is None:
            return "-"
        text = f"{entry['ratio']:.2f}x"
        if entry["low"] is not None:
            text += f" [{entry['low']:.2f}-{entry['high']:.2f}]"
        return text + f", {entry['pairs']}" + ("" if entry.get("precise") else f" {BOUND}")
    if entry.get("median") is None:
        return "-"
    return f"{num(entry['median'])} [{num(entry['low'])}-{num(entry['high'])}] ms, {entry['pairs']}"


def items(count: int) -> str:
    return f"{count:,} item{'s' if count != 1 else ''}"


def find(entries: Sequence[Mapping[str, Any]], **wanted: Any) -> Mapping[str, Any] | None:
    return next((e for e in entries if all(e.get(k) == v for k, v in wanted.items())), None)


def crossover_table(summary: Summary) -> str:
    """Per model, scenario (and batch size) and comparison: requests/s and CPU per request ratios."""
    entries = summary["crossover"]
    rows = [
        "| model | model CPU per request | scenario | comparison | requests/s, pairs "
        "| CPU per request, pairs |",
        "|---|--:|---|---|--:|--:|",
    ]
    for e in entries:
        if e["metric"] != "rps_ratio":
            continue
        cpu = find(
            entries,
            model=e["model"],
            scenario=e["scenario"],
            batch_size=e["batch_size"],
            comparison=e["comparison"],
            metric="cpu_per_request_ratio",
        )
        scenario = e["scenario"] + (f" ({items(e['batch_size'])})" if e["batch_size"] else "")
        rows.append(
            f"| {model_label(e['model'])} | {num(e['model_cpu_us'], 'µs')} | {scenario} | "
            f"{e['comparison']} | {interval(e)} | {interval(cpu)} |"
        )
    return "\n".join(rows)


def health_table(summary: Summary, metric: str = HEALTH_P99) -> str:
    """Under the mixed load, each variant's /health p99 (or predict's: `metric`), per model: where an
    `async def` view's work blocks the event loop, the probes wait behind it."""
    entries = [e for e in summary["crossover"] if e["metric"] == metric]
    variants = list(dict.fromkeys(e["comparison"] for e in entries))
    if not entries:
        return ""
    rows = [
        "| model | model CPU per request | " + " | ".join(key_label(v) for v in variants) + " |",
        "|---|--:|" + "--:|" * len(variants),
    ]
    for model in dict.fromkeys(e["model"] for e in entries):
        own = [e for e in entries if e["model"] == model]
        cells = [interval(find(own, comparison=v), unit="ms") for v in variants]
        rows.append(
            f"| {model_label(model)} | {num(own[0]['model_cpu_us'], 'µs')} | " + " | ".join(cells) + " |"
        )
    return "\n".join(rows)


def imprecise_sentence(summary: Summary) -> str | None:
    """The crossover's requests/s ratios on predict and batch still wider than ±5% when its budget was
    spent, by model; None when every one is within."""
    loose = [e for e in model_axis(summary["crossover"]) if not e.get("precise")]
    if not loose:
        return None
    named = "; ".join(
        f"{model_label(e['model'])} {e['scenario']} "
        f"{COMPARISON_LABELS.get(e['comparison'], e['comparison'])} "
        f"{interval(e)}" + (f" (±{e['precision']:.1%})" if e.get("precision") is not None else "")
        for e in loose
    )
    return f"**Not within ±{WITHIN:.0%}** when the run's budget was spent: {named}."


def crossover_section(summary: Summary, chart: str | None, heading: str = f"## {CROSSOVER}") -> list[str]:
    """The report's section; with `chart`, the chart's path as the page that shows it links it."""
    models = list(dict.fromkeys(e["model"] for e in summary["crossover"]))
    out = [
        heading,
        "",
        f"From {origin(summary)}: the same comparisons for {len(models)} models "
        f"({joined([model_label(m) for m in models])}), their CPU per request timed in-process in the run; "
        "each ratio the geometric mean of the pairs' ratios with its 95% interval and the pairs kept (⚠: "
        'wider than ±5%); the method: docs/bench/method.md, "The crossover".',
        "",
        n_sentence(summary),
        "",
    ]
    if loose := imprecise_sentence(summary):
        out += [loose, ""]
    if chart:
        out += [f"![{CHART_TITLE}]({chart})", ""]
    out += [crossover_table(summary), ""]
    if table := health_table(summary):
        out += [
            "Under the mixed load, /health's p99 (the median of the rounds' p99s with its interval, and the "
            "rounds), per variant: an `async def` view that computes holds the event loop, and the probes "
            "wait behind it.",
            "",
            table,
            "",
        ]
    return out
