"""summary.json from the recorded measurements: pure functions, so they are tested on recorded data.

One entry in "runs" per (framework, variant, scenario): the capacity figures (closed loop) as the median over
repeats with their spread, the equal-load figures (a fixed rate), the CPU per request split into the model's
share and the framework's, and whether each measurement can be trusted. An entry of a scenario with an
upstream (io) also has the upstream's latency, the Little's-law bound on throughput and its share of it.
"""

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loadtests.bench.microbench import model_cpu_us
from loadtests.bench.records import CAPACITY, FIXED, Measurement
from loadtests.recorder import PERCENTILES, percentile_key

GENERATOR_LIMIT = 90.0  # % of one CPU: above this, Locust (or the upstream) may be what limits the run
RATE_TOLERANCE = 0.95  # a fixed-rate run that reaches less than this share of its rate is not at that rate
BOUND_TARGET = 0.80  # io: a server that keeps every user's request in flight reaches this share of the bound


def median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def percentile_field(p: float) -> str:
    """50 -> "p50_ms", 99.9 -> "p999_ms"."""
    return f"p{percentile_key(p).replace('.', '')}_ms"


def problems(m: Measurement) -> list[str]:
    """Why a measurement cannot be trusted; empty when it can."""
    where = f"{m.kind} repeat {m.repeat}"
    if m.error:
        return [f"{where}: run failed: {m.error.splitlines()[0]}"]
    found = []
    if m.generator_cpu_max >= GENERATOR_LIMIT:
        busiest = "its busiest process" if m.generator_processes > 1 else "Locust"
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
    if m.kind == FIXED and m.target_rate and m.rps < RATE_TOLERANCE * m.target_rate:
        found.append(f"{where}: reached {m.rps:.0f} of the {m.target_rate:g} requests/s asked for")
    return found


def repeat_record(m: Measurement) -> dict[str, Any]:
    return {
        "repeat": m.repeat,
        "rps": m.rps,
        **{percentile_field(p): m.latency_ms.get(percentile_key(p)) for p in PERCENTILES},
        "requests": m.requests,
        "failures": m.failures,
        "generator_cpu_max": m.generator_cpu_max,
        "generator_processes": m.generator_processes,
        "generator_cpu_total_max": m.generator_cpu_total_max,
        "generator_side_cpu_max": m.generator_side_cpu_max,
        "upstream_cpu_max": m.upstream_cpu_max,
        "server_cpu_percent": m.server_cpu_percent,
        "server_cpu_us_per_request": m.server_cpu_us_per_request,
        "run_dir": m.run_dir,
        "valid": not problems(m),
    }


def phase_figures(measurements: Sequence[Measurement], prefix: str) -> dict[str, Any]:
    """Medians over repeats and the spread, for one kind of measurement; `prefix` names the fields."""
    usable = [m for m in measurements if not m.error]
    rps = [m.rps for m in usable]
    cpu = [c for m in usable if (c := m.server_cpu_us_per_request) is not None]
    reasons = [reason for m in measurements for reason in problems(m)]
    return {
        f"{prefix}rps": median(rps),
        f"{prefix}rps_min": min(rps, default=None),
        f"{prefix}rps_max": max(rps, default=None),
        **{
            f"{prefix}{percentile_field(p)}": median(m.latency_ms.get(percentile_key(p)) for m in usable)
            for p in PERCENTILES
        },
        f"{prefix}requests": sum(m.requests for m in usable),
        f"{prefix}failures": sum(m.failures for m in usable),
        f"{prefix}generator_cpu_max": max((m.generator_cpu_max for m in usable), default=None),
        f"{prefix}server_cpu_percent": median(m.server_cpu_percent for m in usable),
        f"{prefix}server_cpu_us_per_request": median(cpu),
        f"{prefix}server_cpu_us_per_request_min": min(cpu, default=None),
        f"{prefix}server_cpu_us_per_request_max": max(cpu, default=None),
        f"{prefix}valid": bool(measurements) and not reasons,
        f"{prefix}invalid_reasons": reasons if measurements else ["not measured"],
    }


def upstream_figures(
    measurements: Sequence[Measurement], rps: float | None, variant: Mapping[str, Any] | None
) -> dict[str, Any]:
    """io: the upstream's delay, the Little's-law bound and the share of it reached.

    In a closed loop every user has one request out, so throughput = users / response time; no response is
    faster than the upstream's delay, so users / delay bounds it. A server that holds fewer requests at once
    (a sync worker: one) is bounded by that many / delay instead.
    """
    first = measurements[0]
    latency_ms = first.upstream_latency_ms
    if latency_ms is None:
        return {}
    bound = first.users / (latency_ms / 1000)
    in_flight = variant.get("in_flight") if variant else None
    own_bound = min(first.users, in_flight) / (latency_ms / 1000) if in_flight else bound
    usable = [m for m in measurements if not m.error]
    return {
        "upstream_latency_ms": latency_ms,
        "littles_law_bound_rps": bound,
        "share_of_bound": rps / bound if rps is not None else None,
        "in_flight": in_flight,
        "variant_bound_rps": own_bound,
        "share_of_variant_bound": rps / own_bound if rps is not None else None,
        "variant_note": variant.get("note") if variant else None,
        "mean_ms": median(m.mean_ms for m in usable),
        "upstream_cpu_percent": median(m.upstream_cpu_percent for m in usable),
        "upstream_cpu_max": max((m.upstream_cpu_max or 0.0 for m in usable), default=None),
    }


def run_entry(
    measurements: Sequence[Measurement],
    rate: Mapping[str, Any] | None,
    microbench: Mapping[str, Mapping[str, float]],
    variant: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    first = measurements[0]
    capacity = sorted((m for m in measurements if m.kind == CAPACITY), key=lambda m: m.repeat)
    fixed = sorted((m for m in measurements if m.kind == FIXED), key=lambda m: m.repeat)
    fixed_figures = phase_figures(fixed, "fixed_")
    # The equal-load CPU per request is the efficiency figure: it gets the plain name.
    cpu_per_request = fixed_figures.pop("fixed_server_cpu_us_per_request")
    for bound in ("min", "max"):
        fixed_figures[f"server_cpu_us_per_request_{bound}"] = fixed_figures.pop(
            f"fixed_server_cpu_us_per_request_{bound}"
        )
    mix: dict[str, int] = {}
    for m in fixed or capacity:
        for name, count in m.by_name.items():
            mix[name] = mix.get(name, 0) + count
    model = model_cpu_us(mix, microbench) if mix else None
    capacity_figures = phase_figures(capacity, "")
    return {
        "framework": first.framework,
        "variant": first.variant,
        "scenario": first.scenario,
        "users": first.users,
        "repeats": len(capacity),
        **{k: v for k, v in capacity_figures.items() if not k.startswith("server_cpu_us")},
        "capacity_server_cpu_us_per_request": capacity_figures["server_cpu_us_per_request"],
        "rate": rate["rate"] if rate else None,
        "rate_source": rate["source"] if rate else None,
        **fixed_figures,
        "server_cpu_us_per_request": cpu_per_request,
        "model_cpu_us_per_request": model,
        "framework_cpu_us_per_request": (
            cpu_per_request - model if cpu_per_request is not None and model is not None else None
        ),
        "request_mix": mix,
        "equal_load": bool(fixed),
        "generator_processes": max(m.generator_processes for m in measurements),
        **upstream_figures(capacity or measurements, capacity_figures["rps"], variant),
        "capacity_runs": [repeat_record(m) for m in capacity],
        "fixed_runs": [repeat_record(m) for m in fixed],
    }


def build_summary(
    environment: Mapping[str, Any],
    verification: Mapping[str, Any],
    microbench: Mapping[str, Mapping[str, float]],
    rates: Mapping[str, Mapping[str, Any]],
    measurements: Sequence[Measurement],
) -> dict[str, Any]:
    """Runs in the order measured: by scenario, then by variant."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.scenario, m.framework, m.variant), []).append(m)
    variants = environment.get("variants") or {}
    return {
        "environment": dict(environment),
        "verification": dict(verification),
        "model": {name: dict(figures) for name, figures in microbench.items()},
        "runs": [
            run_entry(group, rates.get(key[0]), microbench, variants.get(f"{key[1]}-{key[2]}"))
            for key, group in groups.items()
        ],
    }
