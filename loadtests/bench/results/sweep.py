"""The worker sweep's figures (make bench PROFILE=servers, plan/sweep.py): per model and server, each worker
count's capacity, CPU per request and p99 at half its own capacity, paired with the count its server's docs
give (the rule's point), and each server's best. Pure functions of the recorded slices.
"""

from collections.abc import Sequence
from typing import Any

from loadtests.bench.plan.slices import LOCUST
from loadtests.bench.plan.sweep import SWEEP_P99_PHASE, SWEEP_PHASE
from loadtests.bench.plan.variants import CATALOGUE, RULE_SUFFIXES, ServerVariant
from loadtests.bench.results.pairs import Comparison, pair_ratios
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import disturbances, failed, median


def rule_point(key: str) -> str:
    """The key of the same server run by its docs' rule: the sweep's point without its rule's suffix."""
    for suffix in sorted(RULE_SUFFIXES.values(), key=len, reverse=True):
        if key.endswith(suffix):
            return key.removesuffix(suffix)
    return key


def sweep_entries(measurements: Sequence[Measurement], server_cpus: int = 1) -> list[dict[str, Any]]:
    """A row per model and sweep variant, in the order measured: its workers, capacity (median of its clean
    rounds), CPU per request, p99 at half capacity (corrected, with the answers behind it), and its
    requests/s and CPU per request paired with its server's rule point; `best`: the most requests/s of its
    server on that model."""
    known: dict[str, ServerVariant] = {v.key: v for v in CATALOGUE}
    swept = [m for m in measurements if m.phase in {SWEEP_PHASE, SWEEP_P99_PHASE}]
    entries: list[dict[str, Any]] = []
    for model in dict.fromkeys(m.model for m in swept):
        own = [m for m in swept if m.model == model]
        for key in dict.fromkeys(m.key for m in own if m.phase == SWEEP_PHASE):
            rounds = [
                m
                for m in own
                if m.key == key and m.phase == SWEEP_PHASE and m.generator == LOCUST
                and not failed(m) and not disturbances(m)
            ]
            half = next((m for m in own if m.key == key and m.phase == SWEEP_P99_PHASE), None)
            rule = rule_point(key)
            against = Comparison("workers", key, rule, "")
            paired = (
                {r["metric"]: r for r in pair_ratios(own, own[0].scenario, against, LOCUST, SWEEP_PHASE)}
                if rule != key
                else {}
            )
            variant = known.get(key)
            corrected = (half.corrected_latency_ms or {}) if half else {}
            entries.append(
                {
                    "model": model,
                    "scenario": own[0].scenario,
                    "key": key,
                    "server": rule,
                    "workers": variant.workers(server_cpus) if variant else None,
                    "workers_rule": variant.workers_rule if variant else None,
                    "rule_point": rule == key,
                    "rounds": len(rounds),
                    "rps": median(m.rps for m in rounds),
                    "cpu_us_per_request": median(m.server_cpu_us_per_request for m in rounds),
                    "half_rate": half.target_rate if half else None,
                    "half_reached": half.rps if half else None,
                    "half_p99_ms": corrected.get("99"),
                    "half_answers": half.samples if half else None,
                    "rps_vs_rule": slim(paired.get("rps")),
                    "cpu_vs_rule": slim(paired.get("cpu_us_per_request")),
                }
            )
    for entry in entries:
        same = [e for e in entries if (e["model"], e["server"]) == (entry["model"], entry["server"]) and e["rps"]]
        entry["best"] = bool(same) and entry["key"] == max(same, key=lambda e: over_rule(e, same))["key"]
    return entries


def over_rule(entry: dict[str, Any], same: Sequence[dict[str, Any]]) -> float:
    """A count's requests/s over its server's rule point: the paired ratio where there is one (the rule's own
    is 1), else the medians' ratio. The best is the highest: two medians can rank two counts one way while
    their rounds, paired, rank them the other (the host drifts between a count's slices and the next's)."""
    paired = entry["rps_vs_rule"]
    if entry["rule_point"]:
        return 1.0
    if paired and paired.get("ratio") is not None:
        return float(paired["ratio"])
    rule = next((e for e in same if e["rule_point"]), None)
    return float(entry["rps"] / rule["rps"]) if rule else float(entry["rps"])


def slim(ratio: dict[str, Any] | None) -> dict[str, Any] | None:
    if ratio is None:
        return None
    return {k: ratio[k] for k in ("ratio", "low", "high", "precision", "precise", "pairs", "dropped")}
