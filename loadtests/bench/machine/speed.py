"""How fast the servers' CPUs are right now: a fixed piece of Python timed on them, before and after a slice.

This host's CPUs change speed for seconds at a time without the kernel counting it as stolen (seen: the
model's prediction 370 against 570 µs of CPU in one process, and FastAPI's CPU per request on /predict 911
against 1,560 µs in one run, with `steal` at 0). Process accounting cannot tell a slower CPU from a costlier
request, so the bench times a probe, always the same work, on the servers' CPUs around every slice. It is
recorded and reported with how well it foretold each slice's cost, never used to drop one: a 10 ms snapshot
did not foretell a 3 s slice's cost here (loadtests/bench/results/trust.py says how that was measured).
"""

import json
import os
import time
from collections.abc import Sequence

PROBE_REPEATS = 5  # the fastest repeat is kept: an interrupted repeat only ever adds time
PROBE_ITEMS = 400  # about 2 ms of work per repeat on this host


def work() -> int:
    """Interpreter work of the kind a request costs: dicts, strings, JSON, arithmetic."""
    total = 0
    for i in range(PROBE_ITEMS):
        length = 40.0 + i % 7
        record = {"island": "Biscoe", "bill_length_mm": length, "index": i}
        total += len(json.dumps(record)) + int(length * 3)
    return total


def probe_us(cpus: Sequence[int]) -> float | None:
    """CPU µs of the probe's work on `cpus` (the calling thread moved there, then back), the fastest of
    PROBE_REPEATS; None where this platform cannot pin a thread."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    own = os.sched_getaffinity(0)  # pid 0 is the calling thread: only it moves
    try:
        os.sched_setaffinity(0, set(cpus))
        work()  # on its new CPU, caches warm
        times = []
        for _ in range(PROBE_REPEATS):
            start = time.thread_time()
            work()
            times.append((time.thread_time() - start) * 1e6)
        return min(times)
    finally:
        os.sched_setaffinity(0, own)
