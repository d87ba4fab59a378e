"""From the slices' records to the figures people quote: pure functions, rerunnable on an old results folder.

- Whether a slice can be trusted (`problems`), and whether the machine disturbed it (`disturbances`: CPU
  stolen by the host, CPU taken by other processes on the server's or the generator's CPUs, or an uneven
  throughput second to second, past documented limits).
- Pair ratios: each round of a comparison gives one ratio per metric (FastAPI over Flask, say), from two
  slices run next to each other; the figure is their median with an order-statistic interval. A pair with a
  disturbed or failed slice is left out, and the report says how many and why.
- The latency curve (corrected percentiles against the offered rate) and the capacity at a latency objective.
- The cross-check: the same ratio measured with wrk instead of Locust, and why they differ if they do.
"""

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loadtests.bench.results.records import Measurement
from loadtests.bench.plan.slices import CAPACITY, FIXED, LOCUST, WRK
from loadtests.recorder import rests_on_tail

GENERATOR_LIMIT = 90.0  # % of one CPU: above this, Locust (or the upstream) may be what limits the slice
RATE_TOLERANCE = 0.95  # a slice that reaches less than this share of its offered rate does not keep up
STEAL_LIMIT = 10.0  # % of the server's CPU time stolen by the host in a slice: past it, its pairs are dropped
OTHERS_LIMIT = 10.0  # % of the server's (or the generator's) CPU time taken by other processes: likewise
UNEVEN_LIMIT = 0.25  # coefficient of variation of a capacity slice's answers per second: past it, dropped
# The servers' CPUs' speed (machine/speed.py) is recorded around every slice, never a reason to drop
# one: in three default runs on 2026-12-06 (72 capacity slices) a slice's probe did not predict its cost
# (correlation 0.20 with the slice's CPU per request relative to its variant's median; slices with a slow
# probe cost 1.007x, with a fast one 0.995x), and dropping on it left 0 to 3 predict pairs of 4 where the
# medians of all pairs agreed within 5% from run to run. Each report gives that correlation for its own run.
# A ratio whose interval's high end passes its low end by more than this is too wide to quote as a finding.
WIDE_LIMIT = 0.25
MIN_PAIRS = 3  # fewer pairs kept than this: no ratio is quoted as a finding
CONFIDENCE = 0.95
AGREEMENT = 0.10  # Locust's and wrk's ratios should agree within this


def median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def keeps_up(m: Measurement) -> bool:
    """Whether a slice at an offered rate reached it: at least RATE_TOLERANCE of it, allowing for the window's
    edges, where each user may have one answer more or less than its share (users / window)."""
    if m.error or not m.target_rate:
        return False
    edges = m.users / m.window_s if m.window_s else 0.0
    return m.rps >= RATE_TOLERANCE * m.target_rate - edges


def uneven(per_second: Sequence[int]) -> float | None:
    """The coefficient of variation of answers per second (None with fewer than two whole seconds)."""
    if len(per_second) < 2 or not any(per_second):
        return None
    return statistics.pstdev(per_second) / statistics.mean(per_second)


def problems(m: Measurement) -> list[str]:
    """Why a slice's figures cannot be trusted as they stand; empty when they can."""
    where = f"{m.phase} {m.kind} round {m.round}" + (" (wrk)" if m.generator == WRK else "")
    if m.error:
        return [f"{where}: run failed: {m.error.splitlines()[0]}"]
    found = []
    if m.generator_cpu_max >= GENERATOR_LIMIT:
        busiest = "its busiest process" if m.generator_processes > 1 else m.generator.capitalize()
        found.append(
            f"{where}: generator-bound, {busiest} reached {m.generator_cpu_max:.0f}% of its CPU "
            f"(limit {GENERATOR_LIMIT:.0f}%): the server's figure is a lower bound"
        )
    elif (
        m.generator_cpu_count
        and m.generator_side_cpu_max is not None
        and m.generator_side_cpu_max >= GENERATOR_LIMIT * m.generator_cpu_count
    ):
        found.append(
            f"{where}: generator-bound, the generator's {m.generator_cpu_count} CPU(s) were busy: Locust "
            f"({m.generator_processes} process(es)) and the upstream together reached "
            f"{m.generator_side_cpu_max:.0f}%: the server's figure is a lower bound"
        )
    if m.upstream_cpu_max is not None and m.upstream_cpu_max >= GENERATOR_LIMIT:
        found.append(
            f"{where}: upstream-bound, the upstream reached {m.upstream_cpu_max:.0f}% of its CPU "
            f"(limit {GENERATOR_LIMIT:.0f}%): the server's figure is a lower bound"
        )
    if m.failures:
        example = f": {m.failure_messages[0]}" if m.failure_messages else ""
        found.append(f"{where}: {m.failures} of {m.requests} requests failed{example}")
    if not m.requests:
        found.append(f"{where}: no request completed in the window")
    if m.kind == FIXED and m.target_rate and not keeps_up(m):
        found.append(f"{where}: reached {m.rps:.0f} of the {m.target_rate:g} requests/s offered")
    return found


def bounded(m: Measurement) -> bool:
    """True when the generator (or the upstream), not the server, may have limited the slice."""
    return any("-bound" in problem for problem in problems(m))


def failed(m: Measurement) -> bool:
    """Problems other than a busy generator: errors, failed requests, a rate not reached."""
    return any("-bound" not in problem for problem in problems(m))


def disturbances(m: Measurement) -> list[str]:
    """What the machine did to a slice that makes it unfit for a pair: CPU stolen by the host or taken by
    other processes, an uneven throughput."""
    where = f"{m.phase} round {m.round}" + (" (wrk)" if m.generator == WRK else "")
    found = []
    if m.steal_pct is not None and m.steal_pct > STEAL_LIMIT:
        found.append(
            f"{where}: the host stole {m.steal_pct:.0f}% of the server's CPU (limit {STEAL_LIMIT:g}%)"
        )
    for share, whose in ((m.others_pct, "server's"), (m.generator_others_pct, "generator's")):
        if share is not None and share > OTHERS_LIMIT:
            found.append(
                f"{where}: other processes took {share:.0f}% of the {whose} CPU (limit {OTHERS_LIMIT:g}%)"
            )
    cv = uneven(m.per_second)
    if m.kind == CAPACITY and cv is not None and cv > UNEVEN_LIMIT:
        found.append(
            f"{where}: answers per second varied by {cv:.0%} (coefficient of variation, limit "
            f"{UNEVEN_LIMIT:.0%}): {', '.join(map(str, m.per_second))}"
        )
    return found


def speed_moved(m: Measurement) -> float | None:
    """How much slower the probe ran at one end of the slice than at the other (0.2: 20%)."""
    if len(m.speed_probe_us) != 2 or min(m.speed_probe_us) <= 0:
        return None
    return max(m.speed_probe_us) / min(m.speed_probe_us) - 1


def probe_mean(m: Measurement) -> float | None:
    return statistics.fmean(m.speed_probe_us) if m.speed_probe_us else None


def speed_cost_correlation(measurements: Sequence[Measurement]) -> float | None:
    """How well the speed probe foretold a slice's cost in this run: the correlation between its mean
    around each Locust capacity slice and the slice's CPU per request over its variant's median in the
    scenario (1: a slow probe always meant a costly slice; near 0: it told nothing). None with too few."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for m in measurements:
        probe, cost = probe_mean(m), m.server_cpu_us_per_request
        if m.phase == "capacity" and m.generator == LOCUST and probe and cost:
            groups.setdefault((m.scenario, m.key), []).append((probe, cost))
    probes, costs = [], []
    for own in groups.values():
        typical = statistics.median(cost for _, cost in own)
        for probe, cost in own:
            probes.append(probe)
            costs.append(cost / typical)
    if len(probes) < 4 or len(set(probes)) < 2 or len(set(costs)) < 2:
        return None
    return statistics.correlation(probes, costs)


@dataclass(frozen=True)
class Comparison:
    name: str
    numerator: str  # a variant key: the ratio is numerator / denominator
    denominator: str
    question: str  # what the ratio answers, for the report


# The comparisons the report knows how to read; each is made when both of its variants were measured.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("default", "fastapi-uvicorn", "flask-gunicorn-sync", "the two defaults, as deployed"),
    Comparison("same-server", "fastapi-granian", "flask-granian", "the framework alone, under one server"),
    Comparison(
        "flask-keep-alive",
        "flask-gunicorn-gthread",
        "flask-gunicorn-sync",
        "Flask's connection model: kept alive (gthread) over one connection per request (sync)",
    ),
    Comparison(
        "flask-server", "flask-granian", "flask-gunicorn-sync", "Flask's server: Granian over gunicorn"
    ),
    Comparison(
        "fastapi-server", "fastapi-granian", "fastapi-uvicorn", "FastAPI's server: Granian over uvicorn"
    ),
    Comparison(
        "async-def",
        "fastapi-async-def",
        "fastapi-uvicorn",
        "FastAPI's `async def` prediction views over `def` ones (the thread-pool hop)",
    ),
)


def comparisons_for(keys: Sequence[str]) -> list[Comparison]:
    """The known comparisons among the measured variants; the first Flask and FastAPI ones measured are
    the headline ("default") when they are not the defaults (a compose deployment, VARIANTS=)."""
    present = set(keys)
    found = [c for c in COMPARISONS if {c.numerator, c.denominator} <= present]
    flask = next((key for key in keys if key.startswith("flask-")), None)
    fastapi = next((key for key in keys if key.startswith("fastapi-")), None)
    if flask and fastapi and not any(c.name == "default" for c in found):
        headline = Comparison("default", fastapi, flask, "the first FastAPI and Flask variants measured")
        found = [headline, *[c for c in found if (c.numerator, c.denominator) != (fastapi, flask)]]
    return found


def binomial_below(k: int, n: int) -> float:
    """P(X < k) for X ~ Binomial(n, 1/2)."""
    return float(sum(math.comb(n, i) for i in range(k)) / 2**n)


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, float | None]:
    """The median and a distribution-free interval for it: the k-th smallest and k-th largest values, k as
    large as keeps the coverage at `confidence`. With fewer than six values no k reaches 95%: the interval
    is then the minimum and maximum, with the coverage it really has (87.5% for four)."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return {"median": None, "low": None, "high": None, "coverage": None}
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * binomial_below(k + 1, n) >= confidence:
        k += 1
    coverage = 1 - 2 * binomial_below(k, n) if n > 1 else 0.0
    return {
        "median": statistics.median(ordered),
        "low": ordered[k - 1],
        "high": ordered[n - k],
        "coverage": coverage,
    }


METRICS = {"rps": "rps", "cpu_us_per_request": "server_cpu_us_per_request"}


def too_wide(interval: Mapping[str, Any]) -> bool:
    low, high = interval.get("low"), interval.get("high")
    return bool(low and high and high / low - 1 > WIDE_LIMIT)


def pair_ratios(
    measurements: Sequence[Measurement], scenario: str, comparison: Comparison, generator: str
) -> list[dict[str, Any]]:
    """One entry per metric: the median of the rounds' ratios, its interval, and the pairs left out."""
    capacity = [
        m
        for m in measurements
        if m.scenario == scenario
        and m.phase == "capacity"
        and m.kind == CAPACITY
        and m.generator == generator
    ]
    by_round: dict[int, dict[str, Measurement]] = {}
    for m in capacity:
        by_round.setdefault(m.round, {})[m.key] = m
    entries = []
    for metric, field in METRICS.items():
        kept: list[float] = []
        kept_out: list[float] = []  # the ratios of dropped pairs that had figures: shown, never used
        dropped: list[str] = []
        left_out = 0
        bounds: set[str] = set()
        for index, pair in sorted(by_round.items()):
            top, bottom = pair.get(comparison.numerator), pair.get(comparison.denominator)
            if top is None or bottom is None:
                missing = comparison.numerator if top is None else comparison.denominator
                dropped.append(f"round {index}: {missing} was not measured (it did not start, or failed)")
                left_out += 1
                continue
            reasons = [f"round {index}: {comparison.numerator}: {r}" for r in failed_reasons(top)]
            reasons += [f"round {index}: {comparison.denominator}: {r}" for r in failed_reasons(bottom)]
            reasons += [f"{comparison.numerator}: {r}" for r in disturbances(top)]
            reasons += [f"{comparison.denominator}: {r}" for r in disturbances(bottom)]
            a, b = getattr(top, field), getattr(bottom, field)
            if metric == "rps" and bounded(top) and bounded(bottom):
                reasons.append(f"round {index}: both slices generator-bound: no ratio")
            if reasons or not a or not b:
                dropped += reasons or [f"round {index}: no figure"]
                left_out += 1  # one pair, however many reasons
                if a and b:
                    kept_out.append(a / b)
                continue
            if metric == "rps":
                bounds |= {"≥"} if bounded(top) else set()
                bounds |= {"≤"} if bounded(bottom) else set()
            kept.append(a / b)
        interval = median_interval(kept)
        entries.append(
            {
                "scenario": scenario,
                "metric": metric,
                **interval,
                "pairs": len(kept),
                "dropped": left_out,
                "dropped_reasons": dropped,
                "values": kept,
                "dropped_values": kept_out,
                "bound": "" if len(bounds) != 1 else bounds.pop(),
                "wide": too_wide(interval),
                "confident": len(kept) >= MIN_PAIRS and len(bounds) <= 1 and not too_wide(interval),
                "comparison": comparison.name,
                "numerator": comparison.numerator,
                "denominator": comparison.denominator,
                "question": comparison.question,
                "generator": generator,
            }
        )
    return entries


def failed_reasons(m: Measurement) -> list[str]:
    return [problem for problem in problems(m) if "-bound" not in problem]


def all_ratios(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    entries = []
    for scenario in dict.fromkeys(m.scenario for m in measurements):
        own = [m for m in measurements if m.scenario == scenario and m.phase == "capacity"]
        for generator in (LOCUST, WRK):
            keys = list(dict.fromkeys(m.key for m in own if m.generator == generator))
            for comparison in comparisons_for(keys):
                entries += pair_ratios(own, scenario, comparison, generator)
    return entries


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
            }
        )
    return sorted(points, key=lambda p: (p["scenario"], p["framework"], p["variant"], p["offered_rps"]))


def capacity_at_slo(points: Sequence[Mapping[str, Any]], slo_ms: float) -> dict[str, Any]:
    """The highest offered rate at which a service kept up with a corrected p99 under the objective, per
    framework and scenario ("flask/predict": rps; None when no rate met it)."""
    result: dict[str, Any] = {"slo_ms": slo_ms}
    for point in points:
        key = f"{point['framework']}/{point['scenario']}"
        result.setdefault(key, None)
        met = (
            point["keeps_up"] and point["clean"] and point["p99_ms"] is not None and point["p99_ms"] < slo_ms
        )
        if met and (result[key] is None or point["offered_rps"] > result[key]):
            result[key] = point["offered_rps"]
    return result


def crosschecks(
    ratios: Sequence[Mapping[str, Any]], measurements: Sequence[Measurement]
) -> list[dict[str, Any]]:
    """Per scenario cross-checked: the headline ratio under Locust and under wrk, and why they differ."""
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
        locust_ratio, wrk_ratio = locust["median"], wrk["median"]
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
        entry["reason"] = crosscheck_reason(entry)
    return entries


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
        cpu = (
            locust["cpu_us_per_request"] / wrk["cpu_us_per_request"]
            if locust["cpu_us_per_request"] and wrk["cpu_us_per_request"]
            else None
        )
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


SPLIT_LAYERS = ("model_us", "validation_us", "serialization_us", "framework_us", "server_us")
STEP_NAMES = {
    "server_us": "server and connection model",
    "framework_us": "framework: routing, parsing, request and response objects, thread pool",
    "validation_us": "validation",
    "serialization_us": "serialization",
    "model_us": "model",
}


def served_cpu_us(measurements: Sequence[Measurement], scenario: str, key: str) -> float | None:
    """The server's CPU per request under load: the median over the variant's clean Locust capacity slices."""
    return median(
        m.server_cpu_us_per_request
        for m in measurements
        if m.scenario == scenario
        and m.key == key
        and m.phase == "capacity"
        and m.generator == LOCUST
        and not failed(m)
        and not disturbances(m)
    )


def completed_split(
    split: Sequence[Mapping[str, Any]], measurements: Sequence[Measurement], keys: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The in-process split with what the load measured: the server's CPU per request (of the variant in
    `keys`, per framework) and the server's share, the measured CPU less the app's in-process cost; the
    framework's share is the app less the model, validation and serialization."""
    entries = []
    for entry in split:
        served = served_cpu_us(measurements, entry["scenario"], keys.get(entry["framework"], ""))
        parts = [entry.get(name) or 0.0 for name in ("model_us", "validation_us", "serialization_us")]
        app = entry.get("app_us")
        entries.append(
            {
                **entry,
                "variant": keys.get(entry["framework"], "").partition("-")[2] or None,
                "framework_us": app - sum(parts) if app is not None else None,
                "server_cpu_us": served,
                "server_us": served - app if served is not None and app is not None else None,
            }
        )
    return entries


def waterfall(split: Sequence[Mapping[str, Any]], scenario: str) -> dict[str, Any] | None:
    """From Flask's CPU per request under load to FastAPI's, a step per layer (FastAPI's less Flask's)."""
    flask = next((e for e in split if e["scenario"] == scenario and e["framework"] == "flask"), None)
    fastapi = next((e for e in split if e["scenario"] == scenario and e["framework"] == "fastapi"), None)
    if flask is None or fastapi is None or flask["server_us"] is None or fastapi["server_us"] is None:
        return None
    steps = [
        {
            "layer": layer,
            "name": STEP_NAMES[layer],
            "delta_us": (fastapi[layer] or 0.0) - (flask[layer] or 0.0),
        }
        for layer in SPLIT_LAYERS
    ]
    return {
        "scenario": scenario,
        "flask_us": flask["server_cpu_us"],
        "fastapi_us": fastapi["server_cpu_us"],
        "flask_variant": flask["variant"],
        "fastapi_variant": fastapi["variant"],
        "steps": sorted(steps, key=lambda step: -abs(step["delta_us"])),
        "app_delta_us": fastapi["app_us"] - flask["app_us"],
    }
