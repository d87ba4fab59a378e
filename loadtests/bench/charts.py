"""The report's PNG charts, one small panel per scenario (their scales differ by orders of magnitude)."""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from loadtests.bench.reading import find, is_io, label, scenarios, short_label, variants

Run = Mapping[str, Any]
COLOURS = {"flask": "#4c72b0", "fastapi": "#dd8452"}
MODEL_COLOUR = "#8c8c8c"


def colour(run: Run) -> str:
    return COLOURS.get(run["framework"], "#55a868")


def panels(
    summary: Mapping[str, Any], title: str, draw: Callable[[Axes, list[Run]], None], path: Path
) -> Path:
    names = scenarios(summary)
    figure, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names) + 0.6, 3.4), squeeze=False)
    for ax, scenario in zip(axes[0], names, strict=True):
        runs = [run for v in variants(summary) if (run := find(summary, scenario, v))]
        draw(ax, runs)
        ax.set_title(scenario)
        ax.spines[["top", "right"]].set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def throughput(ax: Axes, runs: list[Run]) -> None:
    x = range(len(runs))
    values = [run["rps"] or 0 for run in runs]
    low = [max(0.0, v - (run["rps_min"] or v)) for v, run in zip(values, runs, strict=True)]
    high = [max(0.0, (run["rps_max"] or v) - v) for v, run in zip(values, runs, strict=True)]
    bars = ax.bar(x, values, color=[colour(run) for run in runs], yerr=[low, high], capsize=4)
    for bar, run in zip(bars, runs, strict=True):
        if not run["valid"]:
            bar.set_hatch("//")
            bar.set_alpha(0.5)
        ax.annotate(
            ("≥ " if not run["valid"] else "") + f"{run['rps'] or 0:,.0f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(list(x), [short_label(run) for run in runs])
    ax.set_ylabel("requests/s")


def latency(ax: Axes, runs: list[Run]) -> None:
    percentiles = ("p50", "p95", "p99")
    width = 0.8 / max(1, len(runs))
    for index, run in enumerate(runs):
        values = [run[f"fixed_{p}_ms"] or 0 for p in percentiles]
        offsets = [i + (index - (len(runs) - 1) / 2) * width for i in range(len(percentiles))]
        bars = ax.bar(offsets, values, width, color=colour(run), label=short_label(run))
        if not run["fixed_valid"]:
            for bar in bars:
                bar.set_hatch("//")
    ax.set_xticks(range(len(percentiles)), list(percentiles))
    ax.set_ylabel(f"ms at {runs[0]['rate']:g} requests/s" if runs and runs[0]["rate"] else "ms")
    ax.legend(fontsize=7, frameon=False)


def cpu_split(ax: Axes, runs: list[Run]) -> None:
    x = list(range(len(runs)))
    model = [run["model_cpu_us_per_request"] or 0 for run in runs]
    framework = [max(0.0, run["framework_cpu_us_per_request"] or 0) for run in runs]
    ax.bar(x, model, color=MODEL_COLOUR, label="model")
    bars = ax.bar(x, framework, bottom=model, color=[colour(run) for run in runs], label="framework")
    for bar, run, base in zip(bars, runs, model, strict=True):
        total = run["server_cpu_us_per_request"]
        if total is not None:
            ax.annotate(
                f"{total:,.0f}",
                (bar.get_x() + bar.get_width() / 2, base + bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(x, [short_label(run) for run in runs])
    ax.set_ylabel("server CPU µs per request")
    ax.legend(fontsize=7, frameon=False, handles=[ax.patches[0]], labels=["model"])


CHART_DRAWERS: Sequence[tuple[str, str, Callable[[Axes, list[Run]], None]]] = (
    (
        "throughput.png",
        "Capacity, requests/s (closed loop)\nhatched: generator-bound, a lower bound",
        throughput,
    ),
    ("latency.png", "Latency percentiles at equal load\n(the same fixed rate for both)", latency),
    ("cpu.png", "Server CPU per request at equal load\nmodel (grey) and framework", cpu_split),
)


def io_chart(summary: Mapping[str, Any], path: Path) -> Path:
    """io: each server's requests/s against the Little's-law bound, its share of it written on the bar."""
    runs = [run for run in summary["runs"] if is_io(run)]
    figure, ax = plt.subplots(figsize=(1.3 * len(runs) + 2.4, 3.8))
    x = range(len(runs))
    bars = ax.bar(x, [run["rps"] or 0 for run in runs], color=[colour(run) for run in runs])
    for bar, run in zip(bars, runs, strict=True):
        if not run["valid"]:
            bar.set_hatch("//")
        ax.annotate(
            f"{run['rps'] or 0:,.0f}\n{run['share_of_bound'] or 0:.0%}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    bound = runs[0]["littles_law_bound_rps"]
    ax.axhline(bound, color="black", linestyle="--", linewidth=1)
    ax.annotate(f"bound {bound:,.0f}", (len(runs) - 0.5, bound), ha="right", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [label(run).replace(" (", "\n(") for run in runs], fontsize=7)
    ax.set_ylabel("requests/s")
    ax.set_ylim(0, bound * 1.2)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(
        f"io: {runs[0]['users']} users, upstream {runs[0]['upstream_latency_ms']:g} ms\n"
        "dashed: the Little's-law bound, users / latency"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_charts(summary: Mapping[str, Any], directory: Path) -> list[str]:
    charts = []
    if scenarios(summary):
        charts += [panels(summary, title, draw, directory / name).name for name, title, draw in CHART_DRAWERS]
    if scenarios(summary, io=True):
        charts.append(io_chart(summary, directory / "io.png").name)
    return charts
