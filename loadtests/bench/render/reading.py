"""Reading summary.json, for the report, the README and the charts: labels, lookups, and numbers as people
read them (a ratio with its interval, a percentile with the samples behind it). Pure functions.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.variants import FRAMEWORK_LABELS, variant_label
from loadtests.recorder import rests_on_tail

Entry = Mapping[str, Any]
BOUND = "⚠"


def origin(summary: Entry) -> str:
    """Which run the figures come from: "`make bench` on 2026-12-06, commit 424dae6"."""
    env = summary["environment"]
    command = env.get("invocation") or env["command"]
    return f"`{command}` on {str(env['started_at'])[:10]}, commit {env['git']}"


def label(entry: Entry) -> str:
    return (
        f"{FRAMEWORK_LABELS.get(entry['framework'], entry['framework'])} ({variant_label(entry['variant'])})"
    )


def key_label(key: str) -> str:
    """ "flask-gunicorn-sync" -> "Flask (gunicorn-sync)"."""
    framework, _, variant = key.partition("-")
    return label({"framework": framework, "variant": variant})


def short_label(entry: Entry) -> str:
    return str(FRAMEWORK_LABELS.get(entry["framework"], entry["framework"]))


def is_io(entry: Entry) -> bool:
    """A variant of a scenario with an upstream (io): its own table, compared with the Little's-law bound."""
    return entry.get("littles_law_bound_rps") is not None


def scenarios(summary: Mapping[str, Any], io: bool = False) -> list[str]:
    """The scenarios measured, in order: those with CPU-bound requests, or (`io`) those waiting on I/O."""
    return list(dict.fromkeys(v["scenario"] for v in summary["variants"] if is_io(v) == io))


def variants_of(summary: Mapping[str, Any], scenario: str) -> list[Entry]:
    return [v for v in summary["variants"] if v["scenario"] == scenario]


def ratio_entry(
    summary: Mapping[str, Any], scenario: str, comparison: str, metric: str, generator: str = "locust"
) -> Entry | None:
    for entry in summary["ratios"]:
        if (entry["scenario"], entry["comparison"], entry["metric"], entry["generator"]) == (
            scenario,
            comparison,
            metric,
            generator,
        ):
            found: Entry = entry
            return found
    return None


def comparisons(summary: Mapping[str, Any], scenario: str, generator: str = "locust") -> list[str]:
    return list(
        dict.fromkeys(
            e["comparison"]
            for e in summary["ratios"]
            if e["scenario"] == scenario and e["generator"] == generator
        )
    )


# Numbers, as people read them: three significant digits, thousands separated.
def num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "%":
        return num(value) + "%"
    if value == 0:
        return f"0 {unit}".strip()
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def ratio_text(entry: Entry | None, with_pairs: bool = True) -> str:
    """ "1.58x [1.49-1.66], 6 pairs" (a bound: "≥ 3.10x ..."); ⚠ where the interval is not within the
    precision rule's ±5% (or rests on too few pairs); "-" when there is no pair to speak of."""
    if entry is None or entry["ratio"] is None:
        return "-"
    prefix = f"{entry['bound']} " if entry.get("bound") else ""
    text = f"{prefix}{times(entry['ratio'])}"
    if entry["low"] is not None:
        text += f" [{entry['low']:.2f}-{entry['high']:.2f}]"
    if with_pairs:
        text += f", {entry['pairs']} pair{'s' if entry['pairs'] != 1 else ''}"
        if entry["dropped"]:
            text += f" ({entry['dropped']} dropped)"
    if not entry["precise"]:
        text += f" {BOUND}"
    return text


def within_text(entry: Entry | None) -> str:
    """How far a ratio's interval reaches from its figure: "±3.2%"; "" without an interval."""
    if entry is None or entry.get("precision") is None:
        return ""
    return f"±{entry['precision']:.1%}"


def percentile_text(value_ms: float | None, p: float, samples: int, unit: str = "") -> str:
    """A percentile with the samples behind it; one that rests on the slowest few says so."""
    if value_ms is None:
        return "-"
    if rests_on_tail(p, samples):
        return f"≈ max {num(value_ms)}{unit} (n={samples:,})"
    return f"{num(value_ms)}{unit} (n={samples:,})"


def joined(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
