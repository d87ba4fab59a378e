"""CPU accounting from the processes' own counters (psutil): the servers', Locust's and the upstream's.

A sampler thread records, a few times a second, the CPU seconds (user + system) used so far by the server's
process tree (master and workers), by the proxy's in front of it if it has one (nginx's master and workers,
apart: the deployment's CPU is both), by Locust's (one process, or a master and its workers, each also on its
own) and by the upstream service's, if the run has one; the ticks the host stole from the server's CPUs and
from the generator's (loadtests/bench/machine/host.py); and about once a second the server workers' memory.
Afterwards, pure functions read the samples: CPU used over the measured window (interpolated at its edges),
the busiest second, the share stolen, the memory after the warm-up and at the end.
"""

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import psutil

from loadtests.bench.machine.host import TICKS_PER_S, read_cpu_times, summed

SAMPLE_INTERVAL_S = 0.2
# A server has answered what the last slice left it (requests its clients gave up on, still queued) once its
# processes use less than this share of one CPU over DRAIN_STEP_S; it is not waited for beyond DRAIN_MAX_S.
DRAIN_BUSY, DRAIN_STEP_S, DRAIN_MAX_S = 0.1, 0.05, 5.0
PEAK_SPAN_S = 1.0
MEMORY_EVERY = 5  # samples: a memory reading (smaps_rollup, about 0.3 ms a process) every second
MIB = 2**20


@dataclass(frozen=True)
class Sample:
    at: float  # time.time(), the clock Locust stamps its window with
    server_cpu_s: float
    generator_cpu_s: float  # every Locust process together
    upstream_cpu_s: float = 0.0
    generator_by_process: Mapping[int, float] = field(default_factory=dict)  # PID -> CPU seconds
    # /proc/stat ticks, cumulative: stolen and all, on the server's CPUs and on the generator's
    server_steal: float = 0.0
    server_ticks: float = 0.0
    generator_steal: float = 0.0
    generator_ticks: float = 0.0
    server_busy: float = 0.0  # ticks the server's CPUs were busy, whoever ran
    generator_busy: float = 0.0  # ticks the generator's CPUs were busy, whoever ran
    bench_cpu_s: float = 0.0  # the bench's own process (this sampler included), on the generator's CPUs

    pinned: bool = True  # False: no CPU sets, the "server's CPUs" are the whole machine
    proxy_cpu_s: float = 0.0  # nginx in front of the server, on the server's CPUs too

    @property
    def others_on_server_cpus_s(self) -> float:
        """Busy time of the server's CPUs beyond the server's own CPU time and its proxy's (the deployment's),
        in seconds (cumulative); unpinned, of the whole machine beyond those, the generator, the upstream and
        the bench."""
        ours = self.server_cpu_s + self.proxy_cpu_s
        if not self.pinned:
            ours += self.generator_cpu_s + self.upstream_cpu_s + self.bench_cpu_s
        return self.server_busy / TICKS_PER_S - ours

    @property
    def others_on_generator_cpus_s(self) -> float:
        """Busy time of the generator's CPUs beyond the generator's, the upstream's and the bench's own."""
        return (
            self.generator_busy / TICKS_PER_S - self.generator_cpu_s - self.upstream_cpu_s - self.bench_cpu_s
        )

    @property
    def generator_side_cpu_s(self) -> float:
        """What runs on the load generator's CPUs: Locust and the upstream."""
        return self.generator_cpu_s + self.upstream_cpu_s


def drain(pid: int) -> float:
    """Wait until the server's process tree is idle (its backlog answered), at most DRAIN_MAX_S; the seconds
    waited. The next slice, on this server or on another on the same CPUs, then starts on an idle CPU: a
    dear model's 32 queued requests are most of a second of work."""
    started = time.monotonic()
    try:
        tree = ProcessTree(pid)
    except psutil.NoSuchProcess:  # it died in the slice: nothing to wait for (the slice says why)
        return 0.0
    used = tree.cpu_seconds()
    while time.monotonic() - started < DRAIN_MAX_S:
        time.sleep(DRAIN_STEP_S)
        previous, used = used, tree.cpu_seconds()
        if used - previous < DRAIN_BUSY * DRAIN_STEP_S:
            break
    return time.monotonic() - started


@dataclass(frozen=True)
class MemoryReading:
    at: float
    rss_mib: float  # the mean over the server's workers (see ProcessTree.workers)
    uss_mib: float  # memory only that worker holds: what one more worker would add
    tree_rss_mib: float  # master and workers together


class ProcessTree:
    """A process and its descendants, found again at each reading (workers may start late)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.known: dict[int, psutil.Process] = {pid: self.root}

    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds of each process of the tree; one that has exited is left out."""
        try:
            for child in self.root.children(recursive=True):
                self.known.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
        used = {}
        for pid, process in self.known.items():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            used[pid] = times.user + times.system
        return used

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests: those without children (gunicorn's and Granian's workers under
        their master, uvicorn's under its supervisor; a server of one process is its own worker), but for
        multiprocessing's resource tracker, which uvicorn's spawned workers bring and which serves nothing."""
        try:
            tree = [self.root, *self.root.children(recursive=True)]
            parents = {process.ppid() for process in tree}
            leaves = [process for process in tree if process.pid not in parents]
            return [process for process in leaves if "resource_tracker" not in " ".join(process.cmdline())]
        except psutil.NoSuchProcess:
            return []

    def memory(self) -> MemoryReading | None:
        rss, uss, total = [], [], 0.0
        try:
            for process in self.workers():
                info = process.memory_full_info()
                rss.append(info.rss / MIB)
                uss.append(info.uss / MIB)
            for process in [self.root, *self.root.children(recursive=True)]:
                total += process.memory_info().rss / MIB
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if not rss:
            return None
        return MemoryReading(time.time(), sum(rss) / len(rss), sum(uss) / len(uss), total)


class Sampler:
    """Samples the server's, its proxy's, the generator's and the upstream's CPU seconds until closed; use
    as a context manager."""

    def __init__(
        self,
        server_pid: int,
        generator_pid: int,
        interval_s: float = SAMPLE_INTERVAL_S,
        upstream_pid: int | None = None,
        server_cpus: Sequence[int] = (),
        generator_cpus: Sequence[int] = (),
        proxy_pid: int | None = None,
    ) -> None:
        self.server = ProcessTree(server_pid)
        self.proxy = ProcessTree(proxy_pid) if proxy_pid else None
        self.generator = ProcessTree(generator_pid)
        self.upstream = ProcessTree(upstream_pid) if upstream_pid else None
        self.server_cpus, self.generator_cpus = tuple(server_cpus), tuple(generator_cpus)
        self.bench = psutil.Process()
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self.memory: list[MemoryReading] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def sample(self) -> None:
        generator = self.generator.cpu_by_process()
        ticks = read_cpu_times()
        server, generator_ticks = summed(ticks, self.server_cpus), summed(ticks, self.generator_cpus)
        self.samples.append(
            Sample(
                time.time(),
                self.server.cpu_seconds(),
                sum(generator.values()),
                self.upstream.cpu_seconds() if self.upstream else 0.0,
                generator,
                server.steal,
                server.total,
                generator_ticks.steal,
                generator_ticks.total,
                server.busy,
                generator_ticks.busy,
                sum(self.bench.cpu_times()[:2]),
                bool(self.server_cpus and self.generator_cpus),
                self.proxy.cpu_seconds() if self.proxy else 0.0,
            )
        )
        if len(self.samples) % MEMORY_EVERY == 1 and (reading := self.server.memory()):
            self.memory.append(reading)

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
        if reading := self.server.memory():
            self.memory.append(reading)


Counter = str | Callable[[Sample], float]  # an attribute of Sample, or a function of one


def reading(sample: Sample, counter: Counter) -> float:
    return float(counter(sample) if callable(counter) else getattr(sample, counter))


def value_at(samples: Sequence[Sample], attribute: Counter, at: float) -> float:
    """A cumulative counter at time `at`, linearly interpolated between the samples around it."""
    if not samples:
        raise ValueError("no samples")
    times = [s.at for s in samples]
    index = bisect_left(times, at)
    if index == 0:
        return reading(samples[0], attribute)
    if index == len(samples):
        return reading(samples[-1], attribute)
    before, after = samples[index - 1], samples[index]
    share = (at - before.at) / (after.at - before.at) if after.at > before.at else 1.0
    low, high = reading(before, attribute), reading(after, attribute)
    return low + share * (high - low)


def cpu_seconds_between(samples: Sequence[Sample], attribute: Counter, start: float, end: float) -> float:
    return value_at(samples, attribute, end) - value_at(samples, attribute, start)


def mean_percent(samples: Sequence[Sample], attribute: Counter, start: float, end: float) -> float:
    """CPU used over [start, end], as a percentage of one CPU."""
    if end <= start:
        return 0.0
    return 100 * cpu_seconds_between(samples, attribute, start, end) / (end - start)


def peak_percent(
    samples: Sequence[Sample], attribute: Counter, start: float, end: float, span_s: float = PEAK_SPAN_S
) -> float:
    """The busiest `span_s` within [start, end], as a percentage of one CPU (the whole window if shorter)."""
    if end - start <= span_s:
        return mean_percent(samples, attribute, start, end)
    peak, at = 0.0, start
    while at + span_s <= end + 1e-9:
        peak = max(peak, mean_percent(samples, attribute, at, at + span_s))
        at += SAMPLE_INTERVAL_S / 2
    return peak


def generator_processes(samples: Sequence[Sample]) -> list[int]:
    """Every Locust process seen during the run (one, or a master and its workers)."""
    return sorted({pid for sample in samples for pid in sample.generator_by_process})


def process_counter(samples: Sequence[Sample], pid: int) -> list[Sample]:
    """One Locust process's CPU seconds as the generator counter of a series of its own: 0 before it started,
    its last reading after it exited."""
    series, last = [], 0.0
    for sample in samples:
        last = sample.generator_by_process.get(pid, last)
        series.append(Sample(sample.at, 0.0, last))
    return series


def busiest_process_percent(samples: Sequence[Sample], start: float, end: float) -> float:
    """The busiest second of the busiest Locust process, % of one CPU. Each is one gevent loop, on one CPU at
    most, so any one of them at 90% limits its own users, whatever the others do."""
    pids = generator_processes(samples)
    if not pids:
        return peak_percent(samples, "generator_cpu_s", start, end)
    return max(peak_percent(process_counter(samples, pid), "generator_cpu_s", start, end) for pid in pids)


def steal_percent(samples: Sequence[Sample], cpus: str, start: float, end: float) -> float | None:
    """The share of `cpus` ("server" or "generator") time the host stole over [start, end], in %; None where
    /proc/stat says nothing (not Linux)."""
    stolen = cpu_seconds_between(samples, f"{cpus}_steal", start, end)
    ticks = cpu_seconds_between(samples, f"{cpus}_ticks", start, end)
    return 100 * stolen / ticks if ticks > 0 else None


def others_percent(samples: Sequence[Sample], cpus: str, start: float, end: float) -> float | None:
    """The share of `cpus` ("server" or "generator") time that went to anything but what the bench put there
    over [start, end], in %: other processes of this machine, and the kernel's network work. None where
    /proc/stat says nothing."""
    ticks = cpu_seconds_between(samples, f"{cpus}_ticks", start, end)
    if ticks <= 0 or (cpus == "generator" and samples and not samples[0].pinned):
        return None  # unpinned, the generator's CPUs are the server's: counted once, as the server's
    others = cpu_seconds_between(samples, f"others_on_{cpus}_cpus_s", start, end)
    return max(0.0, 100 * others * TICKS_PER_S / ticks)


def memory_after(readings: Sequence[MemoryReading], at: float) -> MemoryReading | None:
    """The first reading at or after `at` (the end of the warm-up), else the last one."""
    return next((r for r in readings if r.at >= at), readings[-1] if readings else None)
