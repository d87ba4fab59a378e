"""summary.json from the recorded slices: what the report, the README and the tests read.

- `runs`: every slice, with its figures and what the host did to it (`steal_pct`, `generator_steal_pct`,
  per-second counts), the real `samples` behind its percentiles, memory and the server's start-up time;
- `variants`: per variant and scenario, its capacity slices summarised (and io's Little's-law bound);
- `ratios`: per scenario, comparison, generator and metric, the median of the pair ratios, its interval,
  the pairs kept and dropped;
- `nginx`: per scenario and framework, the default server behind nginx against it direct (results/proxy.py);
- `curve`, `capacity_at_slo`, `crosscheck`: the latency curve, the capacity at the latency objective, and
  Locust's ratio against wrk's;
- `split` (when measured): each framework's CPU per request, layer by layer, in-process;
- `sweep` (make bench PROFILE=servers): per model and server, each worker count's figures beside its
  server's rule (results/sweep.py);
- `crossover`, `crossover_n_us` (make bench PROFILE=crossover only): each model's ratios and /health p99,
  and N (results/crossover.py); the other sections then read the cheapest (default) model's slices;
- `format_version`: the shape of all this; a reader of another version stops in one line (read_summary).
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadtests.bench.results import figures, pairs, proxy, trust, waterfall
from loadtests.bench.results.crossover import crossover_fields, headline_measurements
from loadtests.bench.results.records import Measurement, read_versioned
from loadtests.bench.results.sweep import sweep_entries

# Raw fields left out of summary.json's runs: measurements.json keeps them.
RAW_ONLY = ("histogram", "corrected_histogram", "command")


def run_record(m: Measurement) -> dict[str, Any]:
    record = {k: v for k, v in asdict(m).items() if k not in RAW_ONLY}
    return {
        **record,
        "samples": m.samples,
        "server_cpu_us_per_request": m.server_cpu_us_per_request,
        "proxy_cpu_us_per_request": m.proxy_cpu_us_per_request,
        "uneven": trust.uneven(m.per_second),
        "problems": trust.problems(m),
        "disturbances": trust.disturbances(m),
        "valid": not trust.problems(m),
    }


def io_figures(
    entry: Mapping[str, Any], users: int, latency_ms: float, variant: Mapping[str, Any]
) -> dict[str, Any]:
    """io: the Little's-law bound and the share of it reached.

    In a closed loop every user has one request out, so throughput = users / response time; no response is
    faster than the upstream's delay, so users / delay bounds it. A server that holds fewer requests at once
    (a sync worker: one) is bounded by that many / delay instead.
    """
    bound = users / (latency_ms / 1000)
    in_flight = variant.get("in_flight")
    own_bound = min(users, in_flight) / (latency_ms / 1000) if in_flight else bound
    rps = entry["rps"]
    return {
        "users": users,
        "upstream_latency_ms": latency_ms,
        "littles_law_bound_rps": bound,
        "share_of_bound": rps / bound if rps is not None else None,
        "in_flight": in_flight,
        "variant_bound_rps": own_bound,
        "share_of_variant_bound": rps / own_bound if rps is not None else None,
        "variant_note": variant.get("note"),
    }


# summary.json's shape, raised as measurements.json's is (results/records.py); every reader checks it.
FORMAT_VERSION = 2  # 2: a ratio is its pairs' geometric mean ("ratio"), with "precision" and "precise"


def read_summary(results_dir: Path) -> dict[str, Any]:
    """A run's summary.json, or FormatError in one line if it is missing or of another format."""
    return read_versioned(results_dir / "summary.json", FORMAT_VERSION)


def build_summary(
    environment: Mapping[str, Any],
    verification: Mapping[str, Any],
    microbench: Mapping[str, Mapping[str, float]],
    measurements: Sequence[Measurement],
    split: Sequence[Mapping[str, Any]] = (),
    glue: Mapping[str, Any] | None = None,
    in_process_machine: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    every = measurements
    measurements = headline_measurements(every)
    settings = environment.get("settings", {})
    slo_ms = float(settings.get("slo_ms", 50.0))
    variants_known = environment.get("variants") or {}
    variants = figures.variant_figures(measurements)
    for entry in variants:
        latency = next(
            (
                m.upstream_latency_ms
                for m in measurements
                if m.scenario == entry["scenario"] and m.upstream_latency_ms
            ),
            None,
        )
        if latency:
            users = next(m.users for m in measurements if m.scenario == entry["scenario"])
            known = variants_known.get(f"{entry['framework']}-{entry['variant']}", {})
            entry.update(io_figures(entry, users, latency, known))
    ratios = pairs.all_ratios(measurements)
    curve = figures.curve_points(measurements)
    server_cpus = len((environment.get("cpu_plan") or {}).get("server_cpus") or ()) or 1
    completed = waterfall.completed_split(split, measurements, default_variants(ratios))
    return {
        "format_version": FORMAT_VERSION,
        "environment": dict(environment),
        "verification": dict(verification),
        "model": {name: dict(timed) for name, timed in microbench.items()},
        "runs": [run_record(m) for m in every],
        "variants": variants,
        "ratios": ratios,
        "curve": curve,
        "capacity_at_slo": figures.capacity_at_slo(curve, slo_ms),
        "crosscheck": figures.crosschecks(ratios, measurements, server_cpus),
        "nginx": proxy.behind_nginx(variants, ratios),
        "noise": noise_record(every),
        "split": completed,
        "split_inprocess": [dict(entry) for entry in split],
        "waterfall": [
            {**found, "control": same_server_control(ratios, measurements, found["scenario"])}
            for scenario in dict.fromkeys(e["scenario"] for e in completed)
            if (found := waterfall.waterfall(completed, scenario))
        ],
        "glue": dict(glue or {}),
        # The worker sweep (PROFILE=servers): every sweep slice, whatever model it served.
        "sweep": sweep_entries(every, server_cpus),
        "in_process_machine": in_process_record(in_process_machine or {}),
        **crossover_fields(every, environment.get("models") or {}),
    }


def in_process_record(machine: Mapping[str, Any]) -> dict[str, Any]:
    """What else ran on the servers' CPUs while the apps were timed in-process, and whether it was too
    much."""
    others, steal = machine.get("others_pct"), machine.get("steal_pct")
    disturbed = (others is not None and others > trust.OTHERS_LIMIT) or (
        steal is not None and steal > trust.STEAL_LIMIT
    )
    # How much slower an app's slowest in-process round was than its fastest, the one kept: not a reason to
    # distrust the split (a slow stretch only adds time), but how much the machine's speed moved.
    spread = machine.get("spread_pct")
    return {"others_pct": others, "steal_pct": steal, "spread_pct": spread, "disturbed": bool(disturbed)}


def default_variants(ratios: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The variant the split's server share is measured on, per framework: the headline's pair."""
    headline = next((r for r in ratios if r["comparison"] == "default" and r["generator"] == "locust"), None)
    if headline is None:
        return {}
    keys = [headline["numerator"], headline["denominator"]]
    # Flask at its best today, when measured: the waterfall's middle stop (results/waterfall.py).
    keys += [r["numerator"] for r in ratios if r["comparison"] == "flask-openapi-over-flask"][:1]
    return {key.partition("-")[0]: key for key in keys}


def same_server_control(
    ratios: Sequence[Mapping[str, Any]], measurements: Sequence[Measurement], scenario: str
) -> dict[str, Any] | None:
    """The same-server pair (both under Granian) as the waterfall's control: there the server's share is
    (nearly) the same, so the measured difference is the frameworks' own."""
    ratio = next(
        (
            r
            for r in ratios
            if (r["scenario"], r["comparison"], r["metric"], r["generator"])
            == (scenario, "same-server", "cpu_us_per_request", "locust")
        ),
        None,
    )
    if ratio is None:
        return None
    flask = waterfall.served_cpu_us(measurements, scenario, ratio["denominator"])
    fastapi = waterfall.served_cpu_us(measurements, scenario, ratio["numerator"])
    return {
        "flask_us": flask,
        "fastapi_us": fastapi,
        "delta_us": fastapi - flask if flask is not None and fastapi is not None else None,
        "cpu_ratio": ratio["ratio"],
        "cpu_ratio_low": ratio["low"],
        "cpu_ratio_high": ratio["high"],
        "pairs": ratio["pairs"],
    }


def noise_record(measurements: Sequence[Measurement]) -> dict[str, Any]:
    """What the machine did over the whole run: the steal and the other processes seen, the limits, how many
    slices passed them."""
    steal = [m.steal_pct for m in measurements if m.steal_pct is not None]
    generator_steal = [m.generator_steal_pct for m in measurements if m.generator_steal_pct is not None]
    others = [m.others_pct for m in measurements if m.others_pct is not None]
    generator_others = [m.generator_others_pct for m in measurements if m.generator_others_pct is not None]
    probes = [t for m in measurements for t in m.speed_probe_us]
    moved = [v for m in measurements if (v := trust.speed_moved(m)) is not None]
    return {
        # The servers' CPUs' speed: the fastest and slowest probe of the run (the same work each time), the
        # most it moved across one slice, and how well it foretold a slice's cost (recorded, never a reason
        # to drop a slice: loadtests/bench/results/trust.py says why).
        "speed_probe_us_min": min(probes, default=None),
        "speed_probe_us_max": max(probes, default=None),
        "speed_moved_pct_max": 100 * max(moved) if moved else None,
        "speed_cost_correlation": trust.speed_cost_correlation(measurements),
        "precision_pct": 100 * pairs.PRECISION,
        "steal_limit_pct": trust.STEAL_LIMIT,
        "others_limit_pct": trust.OTHERS_LIMIT,
        "others_pct_median": trust.median(others),
        "others_pct_max": max(others, default=None),
        "generator_others_pct_median": trust.median(generator_others),
        "generator_others_pct_max": max(generator_others, default=None),
        "uneven_limit": trust.UNEVEN_LIMIT,
        "min_pairs": pairs.MIN_PAIRS,
        "steal_pct_median": trust.median(steal),
        "steal_pct_max": max(steal, default=None),
        "generator_steal_pct_median": trust.median(generator_steal),
        "generator_steal_pct_max": max(generator_steal, default=None),
        "disturbed_slices": sum(1 for m in measurements if trust.disturbances(m)),
        "slices": len(measurements),
    }
