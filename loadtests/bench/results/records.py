"""What one slice measured: the raw record the runner writes (measurements.json) and the analysis reads.

A slice is one server variant under one load shape for one window: a closed loop (capacity) or an offered
rate (a point of the latency curve), driven by Locust or by wrk. `results/<run>/measurements.json` is the
boundary between measuring and analysing: a report can be rebuilt from it without any server.
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from loadtests.bench.plan.slices import LOCUST


@dataclass(frozen=True)
class Measurement:
    framework: str
    variant: str
    scenario: str
    kind: str  # CAPACITY or FIXED
    round: int  # 1-based: the capacity round, or the curve's rate index
    users: int
    target_rate: float | None  # requests/s offered (FIXED), None for CAPACITY
    requests: int  # answers in the window
    failures: int
    rps: float
    window_s: float
    latency_ms: dict[str, float | None]  # percentile ("50", "99.9") -> ms, as measured
    mean_ms: float | None
    max_ms: float | None
    by_name: dict[str, int]
    # CPU accounting over the same window (loadtests/bench/load/sampling.py), percentages of one CPU
    server_cpu_s: float
    server_cpu_percent: float
    generator_cpu_max: float  # the busiest generator process's busiest second
    generator_cpu_mean: float  # every generator process together
    run_dir: str  # relative to the results directory
    command: str
    exit_code: int
    phase: str = "capacity"  # loadtests/bench/plan/slices.py: "capacity" or "curve"
    generator: str = LOCUST
    failure_messages: list[str] = field(default_factory=list)
    error: str | None = None  # set when the slice produced no usable figures
    # Corrected for coordinated omission (FIXED): percentile -> ms, and each user's intended interval.
    corrected_latency_ms: dict[str, float | None] | None = None
    expected_interval_ms: float | None = None
    per_second: list[int] = field(default_factory=list)  # answers in each whole second of the window
    histogram: str | None = None  # the window's HdrHistogram, encoded (µs)
    corrected_histogram: str | None = None
    # The host: the share of CPU time it stole, on the server's CPUs and on the generator's (%).
    steal_pct: float | None = None
    generator_steal_pct: float | None = None
    # What else ran on the server's CPUs: other processes of this machine, the kernel's network work (%).
    others_pct: float | None = None
    generator_others_pct: float | None = (
        None  # and on the generator's, beyond Locust, the upstream, the bench
    )
    # The server: its workers' memory after the warm-up and at the end (mean per worker, MiB), the whole
    # tree's, and how long its process took from start to the first healthy answer.
    rss_mib: float | None = None
    uss_mib: float | None = None
    rss_end_mib: float | None = None
    uss_end_mib: float | None = None
    tree_rss_mib: float | None = None
    startup_s: float | None = None
    server_start: int = 0  # which start of the server served it (slices of one turn share one)
    # The servers' CPUs' speed: a fixed probe's CPU µs on them just before the slice and just after
    # (loadtests/bench/machine/speed.py); empty where they could not be probed (attached servers).
    speed_probe_us: list[float] = field(default_factory=list)
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
    # The crossover profile: the model served (MODEL_NAME; "": the server's default), the items per batch
    # request (None: the scenario's), and each request name's p99 in the window (Locust's statistics).
    model: str = ""
    batch_size: int | None = None
    p99_by_name_ms: dict[str, float | None] = field(default_factory=dict)
    # nginx in front of the server (a variant "behind nginx"), on the server's CPUs: its CPU over the window.
    proxy_cpu_s: float | None = None
    proxy_cpu_percent: float | None = None
    # The collector in the server's workers over the window (shared/collector.py): its pauses, the longest,
    # their sum (ms), and how many were full (generation 2) collections; None: not recorded (attached).
    gc_pauses: int | None = None
    gc_pause_max_ms: float | None = None
    gc_pause_total_ms: float | None = None
    gc_full_collections: int | None = None
    # How long the server took after the window to answer what its clients had given up on (its backlog),
    # before the next slice was timed (load/sampling.py, drain); None: not waited for (attached servers).
    drained_s: float | None = None

    @property
    def key(self) -> str:
        return f"{self.framework}-{self.variant}"

    @property
    def samples(self) -> int:
        """The real answers behind the window's percentiles (corrected ones add synthetic samples)."""
        return self.requests

    @property
    def server_cpu_us_per_request(self) -> float | None:
        """The deployment's CPU per request on the servers' CPUs: the server's, and nginx's in front of it
        for a variant behind nginx (its own share: proxy_cpu_us_per_request)."""
        if not self.requests:
            return None
        return (self.server_cpu_s + (self.proxy_cpu_s or 0.0)) / self.requests * 1e6

    @property
    def proxy_cpu_us_per_request(self) -> float | None:
        if not self.requests or self.proxy_cpu_s is None:
            return None
        return self.proxy_cpu_s / self.requests * 1e6


class FormatError(Exception):
    """A result file this bench cannot read: missing, not JSON, or of another format_version. Its message is
    one line, for the person who asked for the report."""


def read_versioned(path: Path, version: int) -> dict[str, Any]:
    """A result file's JSON, if it is of `version`; else FormatError saying what was found."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FormatError(f"{path}: no such file; is {path.parent} a bench run's folder?") from None
    except ValueError as exc:
        raise FormatError(f"{path}: not JSON ({exc})") from None
    record: dict[str, Any] = data if isinstance(data, dict) else {}
    found = record.get("format_version")
    if found != version:
        written = f"format_version {found}" if found is not None else "no format_version (an older bench)"
        commit = (record.get("environment") or {}).get("git")
        where = f", written at commit {commit}" if commit else ""
        raise FormatError(
            f"{path}: {written}{where}; this bench reads format_version {version}: rerun `make bench`, or "
            "make the report with the commit that wrote it"
        )
    return record


# measurements.json's shape: raised whenever a field changes meaning or goes, so that a reader of an older
# run says so rather than failing somewhere inside (a field added with a default does not need it).
FORMAT_VERSION = 1
# The file is JSON with one measurement a line, so that a slice is appended as it ends (append_measurement)
# and a file cut by a killed run still reads, line by line, up to its last whole slice.
_HEAD = f'{{"format_version": {FORMAT_VERSION}, "measurements": [\n'
_TAIL = "\n]}\n"


def save_measurements(measurements: list[Measurement], path: Path) -> None:
    lines = ",\n".join(json.dumps(asdict(m)) for m in measurements)
    path.write_text(_HEAD + lines + _TAIL)


def append_measurement(measurement: Measurement, path: Path) -> None:
    """One more measurement at the end of the file, in place: the file is whole JSON again once it returns,
    and a run killed meanwhile loses that measurement only."""
    if not path.exists():
        save_measurements([measurement], path)
        return
    with path.open("r+b") as file:
        end = file.seek(0, os.SEEK_END) - len(_TAIL)
        file.seek(end)
        if end < len(_HEAD) or file.read() != _TAIL.encode():
            raise FormatError(f"{path}: not a measurements file this bench appends to")
        file.seek(end)
        separator = ",\n" if end > len(_HEAD) else ""
        file.write((separator + json.dumps(asdict(measurement)) + _TAIL).encode())


def load_measurements(path: Path) -> list[Measurement]:
    return read_measurements(path)[0]


def read_measurements(path: Path) -> tuple[list[Measurement], bool]:
    """The measurements, and whether the file was whole: a run killed while appending leaves its last line
    cut, and every line before it is read."""
    names = {f.name for f in fields(Measurement)}
    try:
        raw: list[dict[str, Any]] = read_versioned(path, FORMAT_VERSION)["measurements"]
        whole = True
    except FormatError:
        raw, whole = cut_lines(path), False
    return [Measurement(**{k: v for k, v in entry.items() if k in names}) for entry in raw], whole


def cut_lines(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a measurements file whose end was cut; FormatError if it is not one."""
    lines = path.read_text().split("\n")
    if lines[0] + "\n" != _HEAD:
        read_versioned(path, FORMAT_VERSION)  # raises, saying what the file is
    records = []
    for line in lines[1:]:
        try:
            records.append(json.loads(line.removesuffix(",")))
        except ValueError:  # the closing line, or the cut one
            break
    return records
