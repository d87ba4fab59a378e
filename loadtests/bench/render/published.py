"""docs/bench/runs.json: what each published run (one per profile, the last `readme` of it) measured for the
comparisons several profiles share, so that a page quoting one run can say how far the others lay ("one
figure per comparison"). Written by `python -m loadtests.bench readme`; read by the README's answers."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.render.reading import joined, ratio_entry
from loadtests.bench.render.verdict import lead_generator

# The comparisons more than one profile measures: the defaults on one penguin and on a batch.
SHARED = (("default", "predict"), ("default", "batch"))
REGISTRY = Path("docs") / "bench" / "runs.json"


def record(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A run's entry: where it came from, and each shared comparison's requests/s ratio, the figure its
    verdict leads with (wrk's where wrk kept the servers busier, else Locust's), and its generator."""
    env = summary["environment"]
    figures = {}
    for comparison, scenario in SHARED:
        generator = lead_generator(summary, scenario) if summary.get("crosscheck") else "locust"
        entry = ratio_entry(summary, scenario, comparison, "rps", generator)
        if entry and entry.get("ratio") is not None:
            figures[f"{comparison}/{scenario}"] = {
                "ratio": entry["ratio"],
                "precision": entry.get("precision"),
                "pairs": entry["pairs"],
                "generator": generator,
            }
    return {
        "command": env.get("invocation") or env["command"],
        "started_at": env["started_at"],
        "git": env.get("git"),
        "figures": figures,
    }


EARLIER = 4  # the runs of a profile published before the one quoted, kept beside it (newest first)


def update(repo: Path, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The registry with this run's entry in its profile's place, the one it replaces kept among the
    profile's `earlier` runs (a run published twice is kept once); written back, and returned."""
    path = repo / REGISTRY
    registry: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    profile = summary["environment"].get("profile", "default")
    entry = record(summary)
    previous = registry.get(profile)
    runs = (
        [{k: v for k, v in previous.items() if k != "earlier"}, *previous.get("earlier", [])]
        if previous
        else []
    )
    entry["earlier"] = [run for run in runs if run["started_at"] != entry["started_at"]][:EARLIER]
    registry[profile] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(registry, indent=1, sort_keys=True) + "\n")
    return registry


def others(registry: Mapping[str, Any], profile: str, comparison: str, scenario: str) -> list[str]:
    """'1.37 times (`make bench PROFILE=servers`, 2026-12-06)' for each other published run of it."""
    found = []
    for other, entry in sorted(registry.items()):
        figure = (entry.get("figures") or {}).get(f"{comparison}/{scenario}")
        if other == profile or not figure:
            continue
        under = f"under {figure['generator']}, " if figure.get("generator") else ""
        found.append(
            f"{figure['ratio']:.2f} times ({under}`{entry['command']}`, {str(entry['started_at'])[:10]})"
        )
    return found


def others_sentence(registry: Mapping[str, Any]) -> str:
    """The README's line under its answers: the same pair as the other published runs measured it, and what
    an interval does not hold; "" when only one run is published."""
    quoted = registry.get("default")
    parts = []
    for comparison, scenario in SHARED:
        figure = ((quoted or {}).get("figures") or {}).get(f"{comparison}/{scenario}")
        found = others(registry, "default", comparison, scenario)
        if figure and found:
            words = "one penguin" if scenario == "predict" else "a batch of 100"
            under = f" (under {figure['generator']})" if figure.get("generator") else ""
            parts.append(f"on {words}, {figure['ratio']:.2f} times above{under}, " + " and ".join(found))
    sentences = []
    if parts:
        sentences.append("The same two defaults in the other published runs: " + "; ".join(parts) + ".")
    if earlier := earlier_sentence(quoted or {}):
        sentences.append(earlier)
    if not sentences:
        return ""
    return " ".join(sentences) + (
        " An interval describes its own run's pairs; how far runs lie apart is the host's drift between "
        'them (docs/bench/results.md, "How to read the figures").'
    )


def earlier_sentence(quoted: Mapping[str, Any]) -> str:
    """'The 2 default runs published before it gave 1.24 and 1.46 times on one penguin, ... (`make bench`,
    commits 851627b and 98e9418)': the spread across runs, which no one run's interval holds; "" without
    earlier runs."""
    earlier = quoted.get("earlier") or []
    parts = []
    for comparison, scenario in SHARED:
        figures = [run["figures"].get(f"{comparison}/{scenario}") for run in reversed(earlier)]
        found = [f"{figure['ratio']:.2f}" for figure in figures if figure]
        if found:
            words = "one penguin" if scenario == "predict" else "a batch of 100"
            parts.append(f"{joined(found)} times on {words}")
    if not parts:
        return ""
    commits = joined(list(dict.fromkeys(str(run.get("git")) for run in reversed(earlier))))
    count = "run" if len(earlier) == 1 else f"{len(earlier)} runs"
    return (
        f"The default {count} published before it, oldest first, gave {'; '.join(parts)} "
        f"(`{earlier[0]['command']}`, commit{'s' if ' and ' in commits else ''} {commits})."
    )
