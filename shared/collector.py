"""The garbage collector in each worker: as the interpreter sets it unless told, tuned with GC_TUNING=1 (the
start-up heap frozen, the young generation collected less often), and its pauses recorded when asked.

Both services call `install()` once per worker process, the app and its model loaded. By default they serve
with the interpreter's collector, as each framework's docs do: what `make run-flask` and `make run-fastapi`
serve is what the bench's headline measures. The tuning is a finding of this repository, measured beside
the headline (docs/deployment.md says when to use it): a full (generation 2) collection scans every object
alive, and after start-up that is the app, the model and their libraries, about 150,000 objects in either
service; a server that holds many requests at once (uvicorn) promotes them and brings full collections on.
The bench reads the pauses back with `pauses_between`; what each setting does to a p99: `make bench-tail`
(docs/bench/tail.md).

    GC_TUNING=1         freeze the start-up heap and collect the young generation every 10,000 net
                        allocations instead of 700 (both services alike)
    GC_FREEZE=0|1, GC_THRESHOLD=n
                        either half alone, over GC_TUNING (the tail experiments)
    GC_DISABLE=1, SWITCH_INTERVAL_MS=x
                        the tail experiments' other candidates (settle_after_startup)
    GC_PAUSES_DIR=dir   each worker appends `<unix time at stop> <ms> <generation>` per collection to
                        dir/gc-<pid>.log
"""

import gc
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.settings import bool_from_env

YOUNG_THRESHOLD = 10_000  # the tuning's net allocations between young collections; the interpreter's is 700
# The variables that set the collector: the bench gives each server all of them or none of its own
# environment's (loadtests/bench/targets/servers.py).
SETTINGS = ("GC_TUNING", "GC_FREEZE", "GC_THRESHOLD", "GC_DISABLE", "SWITCH_INTERVAL_MS")


def install(environ: Mapping[str, str] = os.environ) -> None:
    """Once per worker process, after start-up; a second call in one process (tests build many apps) adds
    no second recorder."""
    if directory := environ.get("GC_PAUSES_DIR"):
        record_pauses(Path(directory))
    settle_after_startup(environ)


def settle_after_startup(environ: Mapping[str, str] = os.environ) -> None:
    """The interpreter's collector unless told; with GC_TUNING=1, the start-up heap out of the collector's
    reach and young collections less often.

    gc.freeze() moves every object alive now to a generation no collection scans, so that a full collection
    scans only what requests made since, not the app, the model and the libraries, which live as long as the
    worker (https://docs.python.org/3/library/gc.html#gc.freeze). The young generation is collected every
    10,000 net allocations, not the interpreter's 700: the requests in flight are then rarely caught alive by
    a young collection and promoted, which is what brings full collections on. Neither service makes much
    cyclic garbage (a request leaves none on FastAPI, a few objects on Flask), so the memory held meanwhile
    stays small. GC_FREEZE and GC_THRESHOLD set either half alone, over GC_TUNING.

    The other candidates the tail experiments try (make bench-tail), off unless set: GC_DISABLE=1 turns the
    cyclic collector off, SWITCH_INTERVAL_MS=x hands the GIL over every x ms (the interpreter's: 5)."""
    tuned = bool_from_env("GC_TUNING", False, environ)
    if bool_from_env("GC_FREEZE", tuned, environ):
        gc.freeze()
    if threshold := environ.get("GC_THRESHOLD") or (str(YOUNG_THRESHOLD) if tuned else ""):
        gc.set_threshold(int(threshold), *gc.get_threshold()[1:])
    if bool_from_env("GC_DISABLE", False, environ):
        gc.disable()
    if interval := environ.get("SWITCH_INTERVAL_MS"):
        sys.setswitchinterval(float(interval) / 1000)


class PauseRecorder:
    """A gc.callbacks callback: each collection timed, one line written per collection, unbuffered, on a
    file opened once per process (nothing to flush, nothing lost when the process is killed)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pid = 0
        self.fd = -1
        self.started = 0.0

    def __call__(self, phase: str, info: Mapping[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        duration_ms = (time.perf_counter() - self.started) * 1000
        if self.pid != os.getpid():  # first use, or a forked child, which must not write to its parent's file
            self.open()
        os.write(self.fd, f"{time.time():.6f} {duration_ms:.3f} {info['generation']}\n".encode())

    def open(self) -> None:
        self.pid = os.getpid()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self.fd = os.open(self.directory / f"gc-{self.pid}.log", flags, 0o644)


def record_pauses(directory: Path) -> None:
    """Record every collection of this process into `directory` (made if missing): an unwritable directory
    fails here, at start-up, not in every collection."""
    if any(isinstance(callback, PauseRecorder) for callback in gc.callbacks):
        return
    directory.mkdir(parents=True, exist_ok=True)
    recorder = PauseRecorder(directory)
    recorder.open()
    gc.callbacks.append(recorder)


@dataclass(frozen=True)
class GcPauses:
    count: int
    max_ms: float
    total_ms: float
    full: int  # generation 2 collections


def pauses_between(directory: Path, start: float, end: float) -> GcPauses | None:
    """The collections that ended within [start, end] (unix time) in every process that recorded into
    `directory`; None without the directory (a server the bench did not start records nothing)."""
    if not directory.is_dir():
        return None
    durations, full = [], 0
    for path in sorted(directory.glob("gc-*.log")):
        # Only whole lines: a process killed in the middle of a write leaves a last one without its newline.
        for line in path.read_text().split("\n")[:-1]:
            at, ms, generation = line.split()
            if start <= float(at) <= end:
                durations.append(float(ms))
                full += int(generation) == 2
    return GcPauses(len(durations), max(durations, default=0.0), sum(durations), full)
