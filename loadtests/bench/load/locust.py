"""One Locust slice: headless, pinned to the generator's CPUs, its CPU and the server's sampled throughout.

Locust writes its own CSVs, HTML report and JSON statistics into the slice's directory, and the Locust
file's recorder writes the measured window's histograms and per-second counts (window.json); the slice's
figures come from those and from the sampler (CPU, stolen time, memory).

With `processes` > 1, Locust forks that many workers under a master (`--processes`, all pinned alike): each
worker writes its part of window.json, pooled here, and the requests and requests/s come from those parts
too. A master's statistics are its workers' reports, sent every 3 s, and a report sent before the warm-up
ended can arrive after it, so the master's count would include some warm-up requests.
"""

import csv
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.bench.load.sampling import (
    Sampler,
    busiest_process_percent,
    cpu_seconds_between,
    generator_processes,
    mean_percent,
    memory_after,
    others_percent,
    peak_percent,
    steal_percent,
)
from loadtests.bench.plan.slices import FIXED, LOCUST
from loadtests.bench.results.records import Measurement
from loadtests.bench.targets import processes
from loadtests.bench.targets.servers import RunningServer
from loadtests.recorder import full_seconds, merge_parts
from loadtests.scenarios import Scenario
from shared.collector import pauses_between

LOCUSTFILE = "loadtests/locustfile.py"
EXIT_GRACE_S = 60  # past the run time, for Locust to start, stop and write its files


@dataclass(frozen=True)
class LoadPlan:
    scenario: Scenario
    kind: str  # CAPACITY or FIXED
    round: int
    users: int
    spawn_rate: float
    warmup_s: int
    duration_s: int
    rate: float | None = None  # FIXED only: total requests/s
    processes: int = 1  # Locust processes generating the load: > 1 forks that many workers under a master
    upstream_latency_ms: float | None = None  # the upstream's delay, for a scenario that has one
    phase: str = "capacity"
    batch_size: int | None = None  # items per batch request; None: the scenario's (BATCH_SIZE)

    @property
    def run_time_s(self) -> int:
        return self.warmup_s + self.duration_s


def locust_command(plan: LoadPlan, host: str, run_dir: Path) -> list[str]:
    command = [
        *processes.python_module("locust"),
        "-f",
        LOCUSTFILE,
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(plan.users),
        "--spawn-rate",
        f"{plan.spawn_rate:g}",
        "--run-time",
        f"{plan.run_time_s}s",
        "--warmup",
        str(plan.warmup_s),
        "--window-file",
        str(run_dir / "window.json"),
        "--csv",
        str(run_dir / "locust"),
        "--html",
        str(run_dir / "report.html"),
        "--json-file",
        str(run_dir / "stats"),
    ]
    if plan.kind == FIXED:
        command += ["--rate", f"{plan.rate:g}"]
    if plan.processes > 1:
        command += ["--processes", str(plan.processes)]
    return [*command, plan.scenario.user_class]


@dataclass(frozen=True)
class Placement:
    """Where a slice runs: the CPUs of the server and of the generator (empty: not pinned)."""

    server_cpus: tuple[int, ...] = ()
    generator_cpus: tuple[int, ...] = ()


def base_record(
    server: RunningServer,
    plan: LoadPlan,
    run_dir: Path,
    results_dir: Path,
    command: list[str],
    cpus: int,
    generator: str = LOCUST,
) -> dict[str, Any]:
    """The fields every record of a slice has, whatever measured it."""
    return {
        "generator": generator,
        "framework": server.variant.framework,
        "variant": server.variant.variant,
        "scenario": plan.scenario.name,
        "kind": plan.kind,
        "round": plan.round,
        "phase": plan.phase,
        "users": plan.users,
        "target_rate": plan.rate if plan.kind == FIXED else None,
        "run_dir": str(run_dir.relative_to(results_dir)),
        "command": processes.shown(command, {}),
        "generator_cpu_count": cpus,
        "upstream_latency_ms": plan.upstream_latency_ms,
        "startup_s": server.startup_s,
        "batch_size": plan.batch_size,
    }


def run_load(
    plan: LoadPlan,
    server: RunningServer,
    placement: Placement,
    results_dir: Path,
    run_name: str,
    upstream: RunningServer | None = None,
) -> Measurement:
    run_dir = results_dir / "runs" / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    command = processes.pinned(locust_command(plan, server.url, run_dir), placement.generator_cpus)
    sized = {"LOCUST_BATCH_SIZE": str(plan.batch_size)} if plan.batch_size else {}
    process = processes.start(command, sized, run_dir / "locust.log")
    exit_code, error = 0, None
    with sampler_for(server, process.pid, placement, upstream) as sampler:
        try:
            exit_code = process.wait(plan.run_time_s + EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            error = f"Locust did not finish within {plan.run_time_s + EXIT_GRACE_S} s"
        finally:
            processes.stop(process)
    base = base_record(server, plan, run_dir, results_dir, command, len(placement.generator_cpus))
    base["exit_code"] = exit_code if error is None else -1
    if upstream is None:
        base["upstream_latency_ms"] = None
    try:
        if error:
            raise RuntimeError(error)
        figures = read_figures(run_dir, sampler, upstream is not None, server.gc_dir)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        tail = processes.log_tail(run_dir / "locust.log", 1500)
        return failed_measurement(base, f"{exc}; end of locust.log:\n{tail}")
    return Measurement(**base, **figures)


def sampler_for(
    server: RunningServer, generator_pid: int, placement: Placement, upstream: RunningServer | None
) -> Sampler:
    return Sampler(
        server.process.pid,
        generator_pid,
        upstream_pid=upstream.process.pid if upstream else None,
        server_cpus=placement.server_cpus,
        generator_cpus=placement.generator_cpus,
        proxy_pid=server.proxy.process.pid if server.proxy else None,
    )


def sampled_figures(sampler: Sampler, start: float, end: float, upstream: bool) -> dict[str, Any]:
    """What the sampler saw over the window [start, end]: CPU, stolen time, memory."""
    samples = sampler.samples
    after_warmup, at_end = memory_after(sampler.memory, start), memory_after(sampler.memory, end)
    return {
        "server_cpu_s": cpu_seconds_between(samples, "server_cpu_s", start, end),
        "server_cpu_percent": mean_percent(samples, "server_cpu_s", start, end),
        "proxy_cpu_s": cpu_seconds_between(samples, "proxy_cpu_s", start, end) if sampler.proxy else None,
        "proxy_cpu_percent": mean_percent(samples, "proxy_cpu_s", start, end) if sampler.proxy else None,
        "generator_cpu_max": busiest_process_percent(samples, start, end),
        "generator_cpu_mean": mean_percent(samples, "generator_cpu_s", start, end),
        "generator_processes": max(1, len(generator_processes(samples))),
        "generator_cpu_total_max": peak_percent(samples, "generator_cpu_s", start, end),
        "generator_side_cpu_max": peak_percent(samples, "generator_side_cpu_s", start, end),
        "upstream_cpu_percent": mean_percent(samples, "upstream_cpu_s", start, end) if upstream else None,
        "upstream_cpu_max": peak_percent(samples, "upstream_cpu_s", start, end) if upstream else None,
        "steal_pct": steal_percent(samples, "server", start, end),
        "generator_steal_pct": steal_percent(samples, "generator", start, end),
        "others_pct": others_percent(samples, "server", start, end),
        "generator_others_pct": others_percent(samples, "generator", start, end),
        "rss_mib": after_warmup.rss_mib if after_warmup else None,
        "uss_mib": after_warmup.uss_mib if after_warmup else None,
        "rss_end_mib": at_end.rss_mib if at_end else None,
        "uss_end_mib": at_end.uss_mib if at_end else None,
        "tree_rss_mib": at_end.tree_rss_mib if at_end else None,
    }


def gc_figures(gc_dir: Path | None, start: float, end: float) -> dict[str, Any]:
    """The collector's pauses in the server's workers over the window [start, end]."""
    pauses = pauses_between(gc_dir, start, end) if gc_dir is not None else None
    return {
        "gc_pauses": pauses.count if pauses else None,
        "gc_pause_max_ms": pauses.max_ms if pauses else None,
        "gc_pause_total_ms": pauses.total_ms if pauses else None,
        "gc_full_collections": pauses.full if pauses else None,
    }


def read_figures(
    run_dir: Path, sampler: Sampler, upstream: bool = False, gc_dir: Path | None = None
) -> dict[str, Any]:
    merge_parts(run_dir / "window.json")
    window = json.loads((run_dir / "window.json").read_text())
    start, end = window["window_start"], window["window_end"]
    if start is None or end is None:
        raise ValueError("the measured window never opened (run time shorter than the warm-up?)")
    return {
        "requests": window["requests"],
        "failures": window["failures"],
        "rps": window["requests"] / (end - start) if end > start else 0.0,
        "window_s": end - start,
        "latency_ms": window["percentiles_ms"],
        "corrected_latency_ms": window["corrected_percentiles_ms"],
        "expected_interval_ms": window["expected_interval_ms"],
        "mean_ms": window["mean_ms"],
        "max_ms": window["max_ms"],
        "by_name": window["by_name"],
        "per_second": full_seconds(window["per_second"], start, end),
        "histogram": window["histogram"],
        "corrected_histogram": window["corrected_histogram"],
        "failure_messages": failure_messages(run_dir / "locust_failures.csv"),
        "p99_by_name_ms": p99_by_name(run_dir / "locust_stats.csv"),
        **sampled_figures(sampler, start, end, upstream),
        **gc_figures(gc_dir, start, end),
    }


def locust_totals(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests, failures and requests/s over the window, from Locust's per-name statistics."""
    requests = sum(int(entry["num_requests"]) for entry in entries)
    failures = sum(int(entry["num_failures"]) for entry in entries)
    stamps = [entry["last_request_timestamp"] for entry in entries if entry["last_request_timestamp"]]
    start = min((entry["start_time"] for entry in entries), default=0.0)
    elapsed = max(stamps, default=start) - start
    return {"requests": requests, "failures": failures, "rps": requests / elapsed if elapsed > 0 else 0.0}


def p99_by_name(path: Path) -> dict[str, float | None]:
    """Each request name's p99 over the window (Locust resets its statistics when the warm-up ends), from
    Locust's own statistics: the mixed scenario's /health under load. Locust rounds a response time above
    100 ms to 10 ms, enough to tell a blocked event loop from a free one."""
    if not path.exists():
        return {}
    with path.open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row.get("Name") != "Aggregated"]
    return {
        row["Name"]: float(row["99%"]) if row.get("99%") not in {None, "", "N/A"} else None for row in rows
    }


def failure_messages(path: Path, limit: int = 5) -> list[str]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        rows = sorted(csv.DictReader(file), key=lambda row: -int(row["Occurrences"]))
    return [f"{row['Name']}: {row['Error']} ({row['Occurrences']}x)" for row in rows[:limit]]


def failed_measurement(base: dict[str, Any], error: str) -> Measurement:
    return Measurement(
        **base,
        requests=0,
        failures=0,
        rps=0.0,
        window_s=0.0,
        latency_ms={},
        mean_ms=None,
        max_ms=None,
        by_name={},
        server_cpu_s=0.0,
        server_cpu_percent=0.0,
        generator_cpu_max=0.0,
        generator_cpu_mean=0.0,
        error=error,
    )
