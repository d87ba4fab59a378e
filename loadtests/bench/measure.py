"""CPU accounting from the processes' own counters (psutil): the servers' and Locust's.

A sampler thread records, a few times a second, the CPU seconds (user + system) used so far by the server's
process tree (master and workers) and by Locust. Afterwards, pure functions read the samples: CPU used over
the measured window (interpolated at its edges), and Locust's busiest second.
"""

import threading
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import psutil

SAMPLE_INTERVAL_S = 0.2
PEAK_SPAN_S = 1.0


@dataclass(frozen=True)
class Sample:
    at: float  # time.time(), the clock Locust stamps its window with
    server_cpu_s: float
    generator_cpu_s: float


class ProcessTree:
    """A process and its descendants, found again at each reading (workers may start late)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {pid: self.root}

    def cpu_seconds(self) -> float:
        try:
            for child in self.root.children(recursive=True):
                self.known.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
        total = 0.0
        for process in self.known.values():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


class Sampler:
    """Samples the server's and the generator's CPU seconds until closed; use as a context manager."""

    def __init__(self, server_pid: int, generator_pid: int, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.server = ProcessTree(server_pid)
        self.generator = ProcessTree(generator_pid)
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def sample(self) -> None:
        self.samples.append(Sample(time.time(), self.server.cpu_seconds(), self.generator.cpu_seconds()))

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> "Sampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join()
        self.sample()


def value_at(samples: Sequence[Sample], attribute: str, at: float) -> float:
    """A cumulative counter at time `at`, linearly interpolated between the samples around it."""
    if not samples:
        raise ValueError("no samples")
    times = [s.at for s in samples]
    index = bisect_left(times, at)
    if index == 0:
        return float(getattr(samples[0], attribute))
    if index == len(samples):
        return float(getattr(samples[-1], attribute))
    before, after = samples[index - 1], samples[index]
    share = (at - before.at) / (after.at - before.at) if after.at > before.at else 1.0
    low, high = float(getattr(before, attribute)), float(getattr(after, attribute))
    return low + share * (high - low)


def cpu_seconds_between(samples: Sequence[Sample], attribute: str, start: float, end: float) -> float:
    return value_at(samples, attribute, end) - value_at(samples, attribute, start)


def mean_percent(samples: Sequence[Sample], attribute: str, start: float, end: float) -> float:
    """CPU used over [start, end], as a percentage of one CPU."""
    if end <= start:
        return 0.0
    return 100 * cpu_seconds_between(samples, attribute, start, end) / (end - start)


def peak_percent(
    samples: Sequence[Sample], attribute: str, start: float, end: float, span_s: float = PEAK_SPAN_S
) -> float:
    """The busiest `span_s` within [start, end], as a percentage of one CPU (the whole window if shorter)."""
    if end - start <= span_s:
        return mean_percent(samples, attribute, start, end)
    peak, at = 0.0, start
    while at + span_s <= end + 1e-9:
        peak = max(peak, mean_percent(samples, attribute, at, at + span_s))
        at += SAMPLE_INTERVAL_S / 2
    return peak
