"""summary.json from the recorded measurements: pure functions, so they are tested on recorded data.

One entry in "runs" per (framework, variant, scenario): the capacity figures (closed loop) as the median over
repeats with their spread, the equal-load figures (a fixed rate), the CPU per request split into the model's
share and the framework's, and whether each measurement can be trusted.
"""

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loadtests.bench.microbench import model_cpu_us
from loadtests.bench.records import CAPACITY, FIXED, Measurement
from loadtests.recorder import PERCENTILES, percentile_key

GENERATOR_LIMIT = 90.0  # % of one CPU: above this, Locust may be what limits the run
RATE_TOLERANCE = 0.95  # a fixed-rate run that reaches less than this share of its rate is not at that rate


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
        found.append(
            f"{where}: generator-bound, Locust reached {m.generator_cpu_max:.0f}% of its CPU "
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


def run_entry(
    measurements: Sequence[Measurement],
    rate: Mapping[str, Any] | None,
    microbench: Mapping[str, Mapping[str, float]],
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
    return {
        "environment": dict(environment),
        "verification": dict(verification),
        "model": {name: dict(figures) for name, figures in microbench.items()},
        "runs": [run_entry(group, rates.get(key[0]), microbench) for key, group in groups.items()],
    }
