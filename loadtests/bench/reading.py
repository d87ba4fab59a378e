"""Reading summary.json, for the report, the README sections and the charts: which runs there are, their
labels, and numbers as people read them. Pure functions.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.servers import FRAMEWORK_LABELS

Run = Mapping[str, Any]
BOUND = "⚠"


def label(run: Run) -> str:
    return f"{FRAMEWORK_LABELS.get(run['framework'], run['framework'])} ({run['variant']})"


def short_label(run: Run) -> str:
    return str(FRAMEWORK_LABELS.get(run["framework"], run["framework"]))


def is_io(run: Run) -> bool:
    """A run of a scenario with an upstream (io): its own table, compared with the Little's-law bound."""
    return run.get("upstream_latency_ms") is not None


def variants(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(framework, variant) in the order measured."""
    return list(dict.fromkeys((run["framework"], run["variant"]) for run in summary["runs"]))


def scenarios(summary: Mapping[str, Any], io: bool = False) -> list[str]:
    """The scenarios measured, in order: those compared at capacity and equal load, or (`io`) the others."""
    return list(dict.fromkeys(run["scenario"] for run in summary["runs"] if is_io(run) == io))


def find(summary: Mapping[str, Any], scenario: str, variant: tuple[str, str]) -> Run | None:
    for run in summary["runs"]:
        if run["scenario"] == scenario and (run["framework"], run["variant"]) == variant:
            return dict(run)
    return None


# Numbers, as people read them: three significant digits, thousands separated.
def num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value == 0:
        return f"0 {unit}".strip()
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def ratio(
    contender: float | None, baseline: float | None, contender_bound: str = "", baseline_bound: str = ""
) -> str:
    """contender / baseline; a lower bound on one side makes the ratio a bound ("≥ 3.1x"), on both: none."""
    if not contender or not baseline:
        return "-"
    if contender_bound and baseline_bound:
        return "n/a"
    prefix = {"≥": "≥ ", "≤": "≤ "}.get(contender_bound or {"≥": "≤", "≤": "≥"}.get(baseline_bound, ""), "")
    return f"{prefix}{contender / baseline:.2f}x"


def joined(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def capacity_bound(run: Run | None) -> str:
    """ "≥" when the capacity figure is a lower bound (the generator or the upstream limited it), else ""."""
    if run is None or run["valid"]:
        return ""
    limited = ("generator-bound", "upstream-bound")
    return "≥" if any(word in reason for reason in run["invalid_reasons"] for word in limited) else "?"
