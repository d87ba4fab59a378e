"""The report's PNG charts (matplotlib, files only): the latency curve, the pair ratios, io, the waterfall."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from loadtests.bench.render.crossover import CHART as CROSSOVER_CHART
from loadtests.bench.render.crossover import crossover_chart, has_crossover
from loadtests.bench.render.reading import is_io, label
from loadtests.bench.render.split_report import waterfall_chart

COLOURS = {"flask": "#4c72b0", "fastapi": "#dd8452"}
# FastAPI's other form beside its default on one chart: a colour of its own.
VARIANT_COLOURS = {"fastapi-async-def": "#55a868"}


def colour(framework: str, variant: str = "") -> str:
    return VARIANT_COLOURS.get(f"{framework}-{variant}") or COLOURS.get(framework, "#8172b3")


def curve_chart(summary: Mapping[str, Any], path: Path) -> Path:
    """p50 (dashed) and p99 (solid), corrected, against the offered rate: one panel per scenario, both
    services on it, a log latency axis; a hollow marker where a service no longer kept up (its curve's
    end)."""
    names = list(dict.fromkeys(p["scenario"] for p in summary["curve"]))
    slo = summary["capacity_at_slo"]["slo_ms"]
    figure, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names) + 0.4, 3.9), squeeze=False)
    for ax, scenario in zip(axes[0], names, strict=True):
        points = [p for p in summary["curve"] if p["scenario"] == scenario]
        for framework, variant in dict.fromkeys((p["framework"], p["variant"]) for p in points):
            own = sorted(
                (p for p in points if (p["framework"], p["variant"]) == (framework, variant)),
                key=lambda p: p["offered_rps"],
            )
            x = [p["offered_rps"] for p in own]
            name = label({"framework": framework, "variant": variant})
            for field, style, what in (("p99_ms", "-", "p99"), ("p50_ms", "--", "p50")):
                y = [p[field] or float("nan") for p in own]
                ax.plot(
                    x,
                    y,
                    style,
                    color=colour(framework, variant),
                    marker="o",
                    markersize=4,
                    label=f"{name} {what}",
                )
            behind = [p for p in own if not p["keeps_up"]]
            ax.scatter(
                [p["offered_rps"] for p in behind],
                [p["p99_ms"] or float("nan") for p in behind],
                s=90,
                facecolors="none",
                edgecolors="red",
                zorder=3,
            )
        ax.axhline(slo, color="grey", linewidth=1, linestyle=":")
        ax.annotate(
            f"SLO {slo:g} ms", (ax.get_xlim()[1], slo), va="bottom", ha="right", fontsize=7, color="grey"
        )
        ax.set_yscale("log")
        ax.set_xlabel("offered load, requests/s")
        ax.set_ylabel("latency, ms (corrected)")
        ax.set_title(scenario)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=6, frameon=False)
    figure.suptitle("Latency against load (red ring: no longer keeps up)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def charted(entry: Mapping[str, Any]) -> bool:
    """Whether a ratio entry has anything to draw: a figure, or a dropped pair's."""
    return entry["ratio"] is not None or bool(entry.get("dropped_values"))


def ratios_chart(summary: Mapping[str, Any], path: Path) -> Path:
    """Every pair's ratio as a dot (hollow: a pair left out, drawn so that a run with no clean pair still
    shows what it measured), the figure as a square with its interval, for each comparison and metric."""
    entries = [e for e in summary["ratios"] if charted(e)]
    rows = list(dict.fromkeys((e["scenario"], e["comparison"], e["generator"]) for e in entries))
    figure, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(rows) + 1.6), squeeze=False)
    for ax, metric, title in (
        (axes[0][0], "rps", "requests/s ratio"),
        (axes[0][1], "cpu_us_per_request", "CPU per request ratio"),
    ):
        for y, (scenario, comparison, generator) in enumerate(rows):
            entry = next(
                (
                    e
                    for e in entries
                    if (e["scenario"], e["comparison"], e["generator"], e["metric"])
                    == (scenario, comparison, generator, metric)
                ),
                None,
            )
            if entry is None:
                continue
            left_out = entry.get("dropped_values", [])  # absent from summaries written before it existed
            ax.scatter(
                left_out,
                [y] * len(left_out),
                s=14,
                facecolors="none",
                edgecolors="grey",
                zorder=2,
            )
            if entry["ratio"] is None:
                continue
            low, high = entry["low"] or entry["ratio"], entry["high"] or entry["ratio"]
            ax.errorbar(
                entry["ratio"],
                y,
                xerr=[[entry["ratio"] - low], [high - entry["ratio"]]],
                fmt="s",
                color="black" if entry["precise"] else "grey",
                capsize=4,
            )
            ax.scatter(
                entry["values"], [y] * len(entry["values"]), s=12, color="#dd8452", alpha=0.7, zorder=3
            )
        ax.axvline(1.0, color="grey", linewidth=1, linestyle=":")
        ax.set_yticks(
            range(len(rows)),
            [f"{s}: {comparison} ({g})" for s, comparison, g in rows],
            fontsize=7,
        )
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    figure.suptitle(
        "Pair ratios: each dot a pair (hollow: left out), the square the kept ones' geometric mean with its "
        "95% interval (grey: wider than ±5%)",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def io_chart(summary: Mapping[str, Any], path: Path) -> Path:
    """io: each server's requests/s against the Little's-law bound, its share of it written on the bar."""
    runs = [entry for entry in summary["variants"] if is_io(entry)]
    figure, ax = plt.subplots(figsize=(1.3 * len(runs) + 2.4, 3.8))
    x = range(len(runs))
    bars = ax.bar(x, [run["rps"] or 0 for run in runs], color=[colour(run["framework"]) for run in runs])
    for bar, run in zip(bars, runs, strict=True):
        if not run["clean"]:
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
    if summary["curve"]:
        charts.append(curve_chart(summary, directory / "curve.png").name)
    if any(charted(e) for e in summary["ratios"]):
        charts.append(ratios_chart(summary, directory / "ratios.png").name)
    if summary.get("split") and (waterfall := waterfall_chart(summary, directory / "waterfall.png")):
        charts.append(waterfall.name)
    if any(is_io(entry) for entry in summary["variants"]):
        charts.append(io_chart(summary, directory / "io.png").name)
    if has_crossover(summary):
        charts.append(crossover_chart(summary, directory / CROSSOVER_CHART).name)
    return charts
