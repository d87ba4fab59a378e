"""One Locust run: headless, pinned to the generator's CPUs, its CPU and the server's sampled throughout.

Locust writes its own CSVs, HTML report and JSON statistics into the run's directory, and the Locust file's
recorder writes the measured window's exact percentiles (window.json); the run's figures come from those.

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

from loadtests.bench import processes
from loadtests.bench.measure import (
    Sampler,
    busiest_process_percent,
    cpu_seconds_between,
    generator_processes,
    mean_percent,
    peak_percent,
)
from loadtests.bench.records import FIXED, Measurement
from loadtests.bench.servers import RunningServer
from loadtests.recorder import merge_parts
from loadtests.scenarios import Scenario

LOCUSTFILE = "loadtests/locustfile.py"
EXIT_GRACE_S = 60  # past the run time, for Locust to start, stop and write its files


@dataclass(frozen=True)
class LoadPlan:
    scenario: Scenario
    kind: str  # CAPACITY or FIXED
    repeat: int
    users: int
    spawn_rate: float
    warmup_s: int
    duration_s: int
    rate: float | None = None  # FIXED only: total requests/s
    processes: int = 1  # Locust processes generating the load: > 1 forks that many workers under a master
    upstream_latency_ms: float | None = None  # the upstream's delay, for a scenario that has one

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


def run_load(
    plan: LoadPlan,
    server: RunningServer,
    cpus: tuple[int, ...],
    results_dir: Path,
    run_name: str,
    upstream: RunningServer | None = None,
) -> Measurement:
    run_dir = results_dir / "runs" / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    command = processes.pinned(locust_command(plan, server.url, run_dir), cpus)
    process = processes.start(command, {}, run_dir / "locust.log")
    exit_code, error = 0, None
    upstream_pid = upstream.process.pid if upstream else None
    with Sampler(server.process.pid, process.pid, upstream_pid=upstream_pid) as sampler:
        try:
            exit_code = process.wait(plan.run_time_s + EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            error = f"Locust did not finish within {plan.run_time_s + EXIT_GRACE_S} s"
        finally:
            processes.stop(process)
    base: dict[str, Any] = {
        "framework": server.variant.framework,
        "variant": server.variant.variant,
        "scenario": plan.scenario.name,
        "kind": plan.kind,
        "repeat": plan.repeat,
        "users": plan.users,
        "target_rate": plan.rate if plan.kind == FIXED else None,
        "run_dir": str(run_dir.relative_to(results_dir)),
        "command": processes.shown(command, {}),
        "exit_code": exit_code if error is None else -1,
        "generator_cpu_count": len(cpus),
        "upstream_latency_ms": plan.upstream_latency_ms if upstream else None,
    }
    try:
        if error:
            raise RuntimeError(error)
        figures = read_figures(run_dir, sampler, upstream is not None)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        tail = processes.log_tail(run_dir / "locust.log", 1500)
        return failed_measurement(base, f"{exc}; end of locust.log:\n{tail}")
    return Measurement(**base, **figures)


def read_figures(run_dir: Path, sampler: Sampler, upstream: bool = False) -> dict[str, Any]:
    parts = merge_parts(run_dir / "window.json")
    stats = locust_totals(json.loads((run_dir / "stats.json").read_text()))
    window = json.loads((run_dir / "window.json").read_text())
    start, end = window["window_start"], window["window_end"]
    if start is None or end is None:
        raise ValueError("the measured window never opened (run time shorter than the warm-up?)")
    if parts:
        stats = {
            "requests": window["requests"],
            "failures": window["failures"],
            "rps": window["requests"] / (end - start) if end > start else 0.0,
        }
    samples = sampler.samples
    return {
        **stats,
        "window_s": end - start,
        "latency_ms": window["percentiles_ms"],
        "mean_ms": window["mean_ms"],
        "max_ms": window["max_ms"],
        "requests_recorded": window["requests"],
        "by_name": window["by_name"],
        "server_cpu_s": cpu_seconds_between(samples, "server_cpu_s", start, end),
        "server_cpu_percent": mean_percent(samples, "server_cpu_s", start, end),
        "generator_cpu_max": busiest_process_percent(samples, start, end),
        "generator_cpu_mean": mean_percent(samples, "generator_cpu_s", start, end),
        "failure_messages": failure_messages(run_dir / "locust_failures.csv"),
        "generator_processes": max(1, len(generator_processes(samples))),
        "generator_cpu_total_max": peak_percent(samples, "generator_cpu_s", start, end),
        "generator_side_cpu_max": peak_percent(samples, "generator_side_cpu_s", start, end),
        "upstream_cpu_percent": mean_percent(samples, "upstream_cpu_s", start, end) if upstream else None,
        "upstream_cpu_max": peak_percent(samples, "upstream_cpu_s", start, end) if upstream else None,
    }


def locust_totals(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests, failures and requests/s over the window, from Locust's per-name statistics."""
    requests = sum(int(entry["num_requests"]) for entry in entries)
    failures = sum(int(entry["num_failures"]) for entry in entries)
    stamps = [entry["last_request_timestamp"] for entry in entries if entry["last_request_timestamp"]]
    start = min((entry["start_time"] for entry in entries), default=0.0)
    elapsed = max(stamps, default=start) - start
    return {"requests": requests, "failures": failures, "rps": requests / elapsed if elapsed > 0 else 0.0}


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
        requests_recorded=0,
        by_name={},
        server_cpu_s=0.0,
        server_cpu_percent=0.0,
        generator_cpu_max=0.0,
        generator_cpu_mean=0.0,
        error=error,
    )
