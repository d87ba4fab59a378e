"""`make soak`: both services driven at a fixed rate for minutes, their memory sampled from start to end.

Both run at once, each with its own Locust process sending a fixed total rate, half the users on the mixed
scenario (predict, batch, health, invalid) and half on the io endpoint (so the upstream client's connection
pool is exercised too; the upstream answers after 10 ms, so that one sync worker keeps the rate). Every
answer is checked as in `make bench`. Memory is the resident set (RSS) of each server's whole process tree,
sampled every few seconds; a service whose memory still grows over the second half of the run fails the
soak, as does any failed request.

This is not a benchmark: nothing is pinned, and both services share the machine with their load generators.
"""

import argparse
import csv
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from loadtests.bench.load.locust import LOCUSTFILE, failure_messages, locust_totals
from loadtests.bench.plan.variants import VARIANTS
from loadtests.bench.targets import processes
from loadtests.bench.targets.servers import RunningServer, start_server, start_upstream
from shared.settings import REPO_ROOT

USER_CLASSES = ("MixedUser", "IoUser")
SAMPLE_INTERVAL_S = 5.0
# Growth over the second half of the run that still counts as flat: allocator noise, caches warming.
TOLERATED_GROWTH_MIB = 4.0
TOLERATED_GROWTH_FRACTION = 0.05


@dataclass(frozen=True)
class MemorySample:
    at_s: float
    rss_mib: dict[str, float]


@dataclass(frozen=True)
class SoakResult:
    service: str
    requests: int
    failures: int
    rps: float
    rss_start_mib: float  # after the first 10% of the run: the model loaded, the pools opened
    rss_middle_mib: float
    rss_end_mib: float
    second_half_growth_mib: float
    failure_messages: list[str]

    @property
    def memory_stable(self) -> bool:
        allowed = max(TOLERATED_GROWTH_MIB, TOLERATED_GROWTH_FRACTION * self.rss_middle_mib)
        return self.second_half_growth_mib <= allowed

    @property
    def passed(self) -> bool:
        return self.requests > 0 and self.failures == 0 and self.memory_stable


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a server: its master (or supervisor) and every worker."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def rss_at(samples: Sequence[MemorySample], service: str, fraction: float) -> float:
    """Median RSS of the samples around a point of the run (0 = start, 1 = end), to smooth out one sample."""
    values = [s.rss_mib[service] for s in samples]
    if not values:
        return 0.0
    centre = round(fraction * (len(values) - 1))
    window = values[max(0, centre - 1) : centre + 2]
    return statistics.median(window)


def assess(
    service: str, stats: dict[str, Any], samples: Sequence[MemorySample], failures: list[str]
) -> SoakResult:
    start, middle, end = (rss_at(samples, service, f) for f in (0.1, 0.5, 1.0))
    return SoakResult(
        service=service,
        requests=stats["requests"],
        failures=stats["failures"],
        rps=stats["rps"],
        rss_start_mib=start,
        rss_middle_mib=middle,
        rss_end_mib=end,
        second_half_growth_mib=end - middle,
        failure_messages=failures,
    )


def locust_command(host: str, users: int, rate: float, duration_s: int, run_dir: Path) -> list[str]:
    return [
        *processes.python_module("locust"),
        *("-f", LOCUSTFILE, "--headless", "--only-summary", "--host", host),
        *("--users", str(users), "--spawn-rate", str(users), "--run-time", f"{duration_s}s"),
        *("--rate", f"{rate:g}", "--csv", str(run_dir / "locust"), "--html", str(run_dir / "report.html")),
        *("--json-file", str(run_dir / "stats")),
        *USER_CLASSES,
    ]


def sample_memory(
    servers: dict[str, RunningServer], started: float, stop: threading.Event, samples: list[MemorySample]
) -> None:
    next_progress = started
    while not stop.is_set():
        now = time.monotonic()
        sample = MemorySample(
            now - started, {name: tree_rss_mib(s.process.pid) for name, s in servers.items()}
        )
        samples.append(sample)
        if now >= next_progress:
            memory = "  ".join(f"{name} {rss:.1f} MiB" for name, rss in sample.rss_mib.items())
            print(f"  {sample.at_s:5.0f} s  RSS: {memory}", flush=True)
            next_progress = now + 30
        stop.wait(SAMPLE_INTERVAL_S)


def write_outputs(out_dir: Path, samples: Sequence[MemorySample], results: Sequence[SoakResult]) -> None:
    services = [r.service for r in results]
    with (out_dir / "memory.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["seconds", *(f"{s}_rss_mib" for s in services)])
        for sample in samples:
            writer.writerow([f"{sample.at_s:.1f}", *(f"{sample.rss_mib[s]:.2f}" for s in services)])
    summary = [{**asdict(r), "memory_stable": r.memory_stable, "passed": r.passed} for r in results]
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4))
    for service in services:
        axes.plot([s.at_s for s in samples], [s.rss_mib[service] for s in samples], label=service)
    axes.set_xlabel("seconds into the soak")
    axes.set_ylabel("server RSS, MiB (all processes)")
    axes.set_title("Memory under a fixed load")
    axes.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "memory.png", dpi=100)
    plt.close(figure)


def soak(duration_s: int, rate: float, users: int, latency_ms: float, out_dir: Path) -> list[SoakResult]:
    out_dir.mkdir(parents=True, exist_ok=True)
    processes.install_cleanup()
    cpus = tuple(range(psutil.cpu_count() or 1))
    upstream = start_upstream(latency_ms, cpus, out_dir)
    servers: dict[str, RunningServer] = {}
    lines = [f"Soak: {duration_s} s at {rate:g} requests/s per service, {users} users each -> {out_dir}"]
    try:
        for variant in VARIANTS:
            env = {"UPSTREAM_URL": upstream.url, "ACCESS_LOG": "0"}
            servers[variant.framework] = start_server(variant, 1, cpus, out_dir, users=users, extra_env=env)
        for name, server in servers.items():
            lines.append(f"  {name}: {server.command}")
        print("\n".join(lines), flush=True)
        locusts = {}
        for name, server in servers.items():
            run_dir = out_dir / name
            run_dir.mkdir(exist_ok=True)
            command = locust_command(server.url, users, rate, duration_s, run_dir)
            locusts[name] = processes.start(command, {}, run_dir / "locust.log")
        samples: list[MemorySample] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(servers, time.monotonic(), stop, samples))
        sampler.start()
        try:
            for locust in locusts.values():
                locust.wait(duration_s + 60)
        finally:
            stop.set()
            sampler.join()
        results = []
        for name in servers:
            stats = locust_totals(json.loads((out_dir / name / "stats.json").read_text()))
            results.append(
                assess(name, stats, samples, failure_messages(out_dir / name / "locust_failures.csv"))
            )
        write_outputs(out_dir, samples, results)
        return results
    finally:
        processes.stop_all()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=180, help="seconds (default 180)")
    parser.add_argument("--rate", type=float, default=50, help="requests/s per service (default 50)")
    parser.add_argument("--users", type=int, default=16, help="Locust users per service (default 16)")
    # Short, so that one sync worker keeps the rate too: this is about memory and failures, not capacity.
    parser.add_argument("--upstream-latency-ms", type=float, default=10, help="for the io requests (10)")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--out", type=Path, default=None, help="default: <results-dir>/soak-<UTC timestamp>/")
    args = parser.parse_args(argv)
    out_dir = args.out or args.results_dir / time.strftime("soak-%Y%m%dT%H%M%SZ", time.gmtime())
    results = soak(args.duration, args.rate, args.users, args.upstream_latency_ms, out_dir)
    print(f"\n{'service':8} {'requests':>9} {'failures':>8} {'req/s':>7}  RSS MiB: start -> middle -> end")
    for r in results:
        verdict = "ok" if r.passed else "FAILED" + ("" if r.memory_stable else " (memory still growing)")
        print(
            f"{r.service:8} {r.requests:9} {r.failures:8} {r.rps:7.1f}  "
            f"{r.rss_start_mib:.1f} -> {r.rss_middle_mib:.1f} -> {r.rss_end_mib:.1f}  {verdict}"
        )
        for message in r.failure_messages:
            print(f"    {message}")
        if r.rps < 0.9 * args.rate:
            print(
                f"    note: {r.rps:.1f} requests/s, short of the {args.rate:g} asked: the server is saturated"
            )
    print(f"Memory samples, chart and Locust's reports: {out_dir}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
