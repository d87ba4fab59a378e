"""What one Locust run measured: the record the runner writes (measurements.json) and the summary reads."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CAPACITY = "capacity"  # closed loop, no wait: the most the server answers per second
FIXED = "fixed"  # a fixed request rate, the same for every variant: latency and CPU per request


@dataclass(frozen=True)
class Measurement:
    framework: str
    variant: str
    scenario: str
    kind: str  # CAPACITY or FIXED
    repeat: int  # 1-based
    users: int
    target_rate: float | None  # requests/s asked for (FIXED), None for CAPACITY
    # Locust's own statistics over the measured window (its --json-file, written at exit)
    requests: int
    failures: int
    rps: float
    # the window as Locust's recorder saw it (loadtests/recorder.py): exact latencies, request mix
    window_s: float
    latency_ms: dict[str, float | None]  # percentile ("50", "99.9") -> ms
    mean_ms: float | None
    max_ms: float | None
    requests_recorded: int
    by_name: dict[str, int]
    # CPU accounting over the same window (loadtests/bench/measure.py), percentages of one CPU
    server_cpu_s: float
    server_cpu_percent: float
    generator_cpu_max: float  # the busiest Locust process's busiest second
    generator_cpu_mean: float  # every Locust process together
    run_dir: str  # relative to the results directory
    command: str
    exit_code: int
    failure_messages: list[str] = field(default_factory=list)
    error: str | None = None  # set when the run produced no usable figures
    # The load generator: how many Locust processes ran (one, or a master and its workers), how many CPUs
    # they had (0: not pinned), their busiest second all together, and with the upstream beside them.
    generator_processes: int = 1
    generator_cpu_count: int = 0
    generator_cpu_total_max: float | None = None
    generator_side_cpu_max: float | None = None
    # The upstream observation service, for a scenario that has one (io): its delay, and its own CPU.
    upstream_latency_ms: float | None = None
    upstream_cpu_percent: float | None = None
    upstream_cpu_max: float | None = None

    @property
    def server_cpu_us_per_request(self) -> float | None:
        if not self.requests_recorded:
            return None
        return self.server_cpu_s / self.requests_recorded * 1e6


def save_measurements(measurements: list[Measurement], path: Path) -> None:
    path.write_text(json.dumps([asdict(m) for m in measurements], indent=1) + "\n")


def load_measurements(path: Path) -> list[Measurement]:
    raw: list[dict[str, Any]] = json.loads(path.read_text())
    return [Measurement(**entry) for entry in raw]
