"""Per-variant figures, the latency curve (corrected percentiles against the offered rate), the capacity at
a latency objective, and the cross-check: the same ratio measured with wrk instead of Locust, and why the two
differ if they do. Pure functions of the raw records.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from loadtests.bench.plan.slices import FIXED, LOCUST, WRK
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import GENERATOR_LIMIT, bounded, disturbances, keeps_up, median, problems
from loadtests.recorder import rests_on_tail

AGREEMENT = 0.10  # Locust's and wrk's ratios should agree within this
# A capacity slice's server busy at least this much of its CPUs was saturated: the generator kept it busy.
BUSY_LIMIT = 97.0


def runs_frame(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """One row per slice, with what the analysis needs of it."""
    rows = [
        {
            "key": m.key,
            "framework": m.framework,
            "variant": m.variant,
            "scenario": m.scenario,
            "phase": m.phase,
            "generator": m.generator,
            "kind": m.kind,
            "round": m.round,
            "rps": m.rps,
            "cpu_us": m.server_cpu_us_per_request,
            "server_cpu_percent": m.server_cpu_percent,
            "proxy_cpu_us": m.proxy_cpu_us_per_request,
            "proxy_cpu_percent": m.proxy_cpu_percent,
            "generator_cpu_max": m.generator_cpu_max,
            "p50_ms": m.latency_ms.get("50"),
            "p99_ms": m.latency_ms.get("99"),
            "mean_ms": m.mean_ms,
            "steal_pct": m.steal_pct,
            "rss_mib": m.rss_mib,
            "uss_mib": m.uss_mib,
            "rss_end_mib": m.rss_end_mib,
            "uss_end_mib": m.uss_end_mib,
            "startup_s": m.startup_s,
            "requests": m.requests,
            "failures": m.failures,
            "upstream_cpu_max": m.upstream_cpu_max,
            "gc_pauses_per_s": m.gc_pauses / m.window_s if m.gc_pauses is not None and m.window_s else None,
            "gc_pause_max_ms": m.gc_pause_max_ms,
            "clean": not problems(m) and not disturbances(m),
            "bounded": bounded(m),
        }
        for m in measurements
    ]
    return pd.DataFrame(rows)


def variant_figures(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """Per variant and scenario, its Locust capacity slices summarised: medians and spread over the rounds
    (every slice that did not fail), memory and start-up."""
    frame = runs_frame(measurements)
    if frame.empty:
        return []
    capacity = frame[(frame["phase"] == "capacity") & (frame["generator"] == LOCUST)]
    entries = []
    for (scenario, key), group in capacity.groupby(["scenario", "key"], sort=False):
        usable = group[group["requests"] > 0]
        first = group.iloc[0]
        own = [m for m in measurements if m.scenario == scenario and m.key == key and m.phase == "capacity"]
        entries.append(
            {
                "framework": first["framework"],
                "variant": first["variant"],
                "scenario": scenario,
                "slices": len(group),
                "rps": none_if_nan(usable["rps"].median()),
                "rps_min": none_if_nan(usable["rps"].min()),
                "rps_max": none_if_nan(usable["rps"].max()),
                "cpu_us_per_request": none_if_nan(usable["cpu_us"].median()),
                "server_cpu_percent": none_if_nan(usable["server_cpu_percent"].median()),
                # Behind nginx: nginx's own share of cpu_us_per_request (the deployment's), and its CPU busy.
                "proxy_cpu_us_per_request": none_if_nan(usable["proxy_cpu_us"].median()),
                "proxy_cpu_percent": none_if_nan(usable["proxy_cpu_percent"].median()),
                "generator_cpu_max": none_if_nan(usable["generator_cpu_max"].max()),
                "p50_ms": none_if_nan(usable["p50_ms"].median()),
                "p99_ms": none_if_nan(usable["p99_ms"].median()),
                "mean_ms": none_if_nan(usable["mean_ms"].median()),
                "steal_pct": none_if_nan(group["steal_pct"].median()),
                "rss_mib": none_if_nan(group["rss_mib"].median()),
                "uss_mib": none_if_nan(group["uss_mib"].median()),
                "rss_end_mib": none_if_nan(group["rss_end_mib"].max()),
                "uss_end_mib": none_if_nan(group["uss_end_mib"].max()),
                "startup_s": none_if_nan(group["startup_s"].median()),
                "requests": int(group["requests"].sum()),
                "failures": int(group["failures"].sum()),
                "upstream_cpu_max": none_if_nan(group["upstream_cpu_max"].max()),
                # The collector in the server (shared/collector.py), beside the p99 it may explain.
                "gc_pauses_per_s": none_if_nan(usable["gc_pauses_per_s"].median()),
                "gc_pause_max_ms": none_if_nan(usable["gc_pause_max_ms"].median()),
                "clean": bool(group["clean"].all()),
                "bounded": bool(group["bounded"].any()),
                "invalid_reasons": [reason for m in own for reason in problems(m) + disturbances(m)],
            }
        )
    return entries


def none_if_nan(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def curve_points(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """The latency curve: one point per variant and offered rate, corrected percentiles."""
    points = []
    for m in measurements:
        if m.phase != "curve" or m.kind != FIXED or m.target_rate is None:
            continue
        corrected = m.corrected_latency_ms or {}
        points.append(
            {
                "key": m.key,
                "framework": m.framework,
                "variant": m.variant,
                "scenario": m.scenario,
                "offered_rps": m.target_rate,
                "achieved_rps": m.rps,
                "p50_ms": corrected.get("50"),
                "p99_ms": corrected.get("99"),
                "p99_uncorrected_ms": m.latency_ms.get("99"),
                "samples": m.samples,
                "p99_rests_on_tail": rests_on_tail(99, m.samples),
                "corrected": True,
                "keeps_up": keeps_up(m),
                "clean": not problems(m),
                "problems": problems(m),
                "cpu_us_per_request": m.server_cpu_us_per_request,
                "steal_pct": m.steal_pct,
                "gc_pauses": m.gc_pauses,
                "gc_pause_max_ms": m.gc_pause_max_ms,
            }
        )
    return sorted(points, key=lambda p: (p["scenario"], p["framework"], p["variant"], p["offered_rps"]))


def capacity_at_slo(points: Sequence[Mapping[str, Any]], slo_ms: float) -> dict[str, Any]:
    """The offered rate at which a variant's corrected p99 reaches the objective, keyed "<variant>/<scenario>"
    ("flask-gunicorn-sync/predict": requests/s; None when not even its lowest rate met it).

    Read off the curve between the highest rate that met it and the next one, which did not: p99 grows
    about exponentially near the knee, so the crossing is interpolated on log(p99). A grid's step (70% to
    90% of capacity, say) would otherwise be the figure's own resolution, and a p99 a millisecond either side
    of the objective would move it a whole step. When every rate met it, the highest is a lower bound
    (`bounded` lists those keys). `answers` holds how many answers the deciding p99 rests on (the lowest
    rate's when none met it): with fewer than about 1,000 the p99 is one of the slowest few.
    """
    result: dict[str, Any] = {"slo_ms": slo_ms, "answers": {}, "bounded": []}
    keys = dict.fromkeys(f"{p['key']}/{p['scenario']}" for p in points)
    for key in keys:
        own = sorted((p for p in points if f"{p['key']}/{p['scenario']}" == key), key=lambda p: p["offered_rps"])
        met = [index for index, p in enumerate(own) if meets(p, slo_ms)]
        if not met:
            result[key], result["answers"][key] = None, own[0]["samples"]
            continue
        best = own[met[-1]]
        result["answers"][key] = best["samples"]
        above = own[met[-1] + 1] if met[-1] + 1 < len(own) else None
        if above is None:
            result[key] = best["offered_rps"]
            result["bounded"].append(key)
        else:
            result[key] = crossing(best, above, slo_ms)
    return result


def meets(point: Mapping[str, Any], slo_ms: float) -> bool:
    return bool(
        point["keeps_up"] and point["clean"] and point["p99_ms"] is not None and point["p99_ms"] < slo_ms
    )


def crossing(below: Mapping[str, Any], above: Mapping[str, Any], slo_ms: float) -> float:
    """Where log(p99) reaches log(slo_ms) on the line between two points of a curve, the first under the
    objective; a point above that did not keep up or has no p99 counts as far past it (the lower rate)."""
    low, high = below["p99_ms"], above["p99_ms"]
    if not above["keeps_up"] or high is None or high <= low:
        return float(below["offered_rps"])
    share = (math.log(slo_ms) - math.log(low)) / (math.log(high) - math.log(low))
    return float(below["offered_rps"] + min(1.0, max(0.0, share)) * (above["offered_rps"] - below["offered_rps"]))


def crosschecks(
    ratios: Sequence[Mapping[str, Any]], measurements: Sequence[Measurement], server_cpus: int = 1
) -> list[dict[str, Any]]:
    """Per scenario cross-checked: the headline ratio under Locust and under wrk, why they differ, each
    server's CPU per request under Locust over under wrk (`cpu_under_locust`), and under which generator(s)
    both servers were saturated (`saturated`: each one's median capacity slice at least BUSY_LIMIT% of its
    `server_cpus` CPUs busy)."""
    entries = []
    for wrk in ratios:
        if wrk["generator"] != WRK or wrk["metric"] != "rps" or wrk["comparison"] != "default":
            continue
        locust = next(
            (
                r
                for r in ratios
                if r["generator"] == LOCUST
                and r["metric"] == "rps"
                and r["comparison"] == "default"
                and r["scenario"] == wrk["scenario"]
            ),
            None,
        )
        if locust is None:
            continue
        locust_ratio, wrk_ratio = locust["ratio"], wrk["ratio"]
        # None: one of the two has no clean pair, so there is nothing to compare.
        apart = (
            None
            if locust_ratio is None or wrk_ratio is None
            else abs(locust_ratio / wrk_ratio - 1) > AGREEMENT
        )
        entries.append(
            {
                "scenario": wrk["scenario"],
                "locust_ratio": locust_ratio,
                "wrk_ratio": wrk_ratio,
                "locust_interval": [locust["low"], locust["high"]],
                "wrk_interval": [wrk["low"], wrk["high"]],
                "differ": apart,
                "by_framework": generator_figures(
                    measurements, wrk["scenario"], (wrk["denominator"], wrk["numerator"])
                ),
            }
        )
    for entry in entries:
        entry["cpu_under_locust"] = {key: cpu_under_locust(own) for key, own in entry["by_framework"].items()}
        entry["reason"] = crosscheck_reason(entry)
        entry["saturated"] = saturated_under(entry["by_framework"], server_cpus)
    return entries


def lead_generator(checks: Sequence[Mapping[str, Any]], scenario: str) -> str:
    """The generator whose figures lead on a scenario: Locust, unless the cross-check found Locust left a
    server idle where wrk kept both busy (then Locust measured itself, and wrk's figure is the servers')."""
    check = next((c for c in checks if c["scenario"] == scenario), None)
    if check and check.get("differ") and check.get("saturated") == [WRK]:
        return WRK
    return LOCUST


def saturated_under(by_framework: Mapping[str, Mapping[str, Mapping[str, Any]]], server_cpus: int) -> list[str]:
    """The generators under which every server's median capacity slice kept its CPUs BUSY_LIMIT% busy."""
    generators = [LOCUST, WRK]
    return [
        g
        for g in generators
        if all(
            (own.get(g, {}).get("server_cpu_percent") or 0) >= BUSY_LIMIT * max(1, server_cpus)
            for own in by_framework.values()
        )
    ]


def generator_figures(
    measurements: Sequence[Measurement], scenario: str, keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per variant, under each generator: median requests/s, server CPU busy, its CPU per request, and the
    generator's own busiest second."""
    figures: dict[str, dict[str, Any]] = {}
    for key in keys:
        own = [m for m in measurements if m.scenario == scenario and m.key == key and m.phase == "capacity"]
        figures[key] = {
            generator: {
                "rps": median(m.rps for m in own if m.generator == generator and not m.error),
                "server_cpu_percent": median(
                    m.server_cpu_percent for m in own if m.generator == generator and not m.error
                ),
                "cpu_us_per_request": median(
                    m.server_cpu_us_per_request for m in own if m.generator == generator and not m.error
                ),
                "generator_cpu_max": median(
                    m.generator_cpu_max for m in own if m.generator == generator and not m.error
                ),
            }
            for generator in (LOCUST, WRK)
        }
    return figures


def cpu_under_locust(figures: Mapping[str, Mapping[str, Any]]) -> float | None:
    """A server's CPU per request under Locust over the same under wrk (None without both)."""
    locust, wrk = figures[LOCUST]["cpu_us_per_request"], figures[WRK]["cpu_us_per_request"]
    return locust / wrk if locust and wrk else None


def crosscheck_reason(entry: Mapping[str, Any]) -> str:
    """Where a Locust/wrk disagreement comes from, from the measured figures: which service's requests/s
    moved between the generators, and whether its CPU per request or the CPU it got explains it."""
    if entry["differ"] is None:
        return "no clean pair under one of the two generators: nothing to compare"
    if not entry["differ"]:
        return "they agree within 10%"
    parts = []
    for key, figures in entry["by_framework"].items():
        locust, wrk = figures[LOCUST], figures[WRK]
        if not locust["rps"] or not wrk["rps"]:
            continue
        rps = locust["rps"] / wrk["rps"]
        cpu = entry["cpu_under_locust"].get(key)
        busy = f"{locust['server_cpu_percent'] or 0:.0f}% / {wrk['server_cpu_percent'] or 0:.0f}%"
        text = f"{key}: Locust/wrk requests/s {rps:.2f}, server CPU busy {busy}"
        if cpu is not None:
            text += f", CPU per request {cpu:.2f}x under Locust"
        if locust["generator_cpu_max"] is not None and locust["generator_cpu_max"] >= GENERATOR_LIMIT:
            text += f" (Locust at {locust['generator_cpu_max']:.0f}%: it limited this side)"
        elif cpu is not None and abs(cpu - 1) > AGREEMENT / 2:
            text += " (the same work costs this server more beside one generator than the other)"
        elif (locust["server_cpu_percent"] or 0) < GENERATOR_LIMIT:
            text += " (its CPU was not saturated under Locust: waiting on connections)"
        parts.append(text)
    return "; ".join(parts) or "not enough clean slices to say"
