"""Exact response-time percentiles over the measured window.

Locust keeps response times rounded to about two significant digits (e.g. 0.43 ms and 0.47 ms both count as
0 ms, 1234 ms as 1200 ms), which is too coarse for sub-millisecond latencies. The recorder keeps every
response time of the window, unrounded, and reports nearest-rank percentiles from them at the end.
"""

import json
import math
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def percentile(sorted_ms: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest time that at least p% of the responses took no longer than."""
    if not sorted_ms:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def percentile_key(p: float) -> str:
    return f"{p:g}"


class LatencyRecorder:
    """Response times of the measured window; nothing is recorded before `start` or after `stop`."""

    def __init__(self) -> None:
        self.samples_ms = array("d")
        self.failures = 0
        self.by_name: Counter[str] = Counter()
        self.recording = False
        self.started_at: float | None = None
        self.ended_at: float | None = None

    def start(self, now: float) -> None:
        self.samples_ms = array("d")
        self.failures = 0
        self.by_name.clear()
        self.recording, self.started_at = True, now

    def stop(self, now: float) -> None:
        if self.recording:
            self.recording, self.ended_at = False, now

    def record(self, name: str, response_time_ms: float, failed: bool) -> None:
        if self.recording:
            self.samples_ms.append(response_time_ms)
            self.by_name[name] += 1
            self.failures += failed

    def result(self) -> dict[str, Any]:
        ordered = sorted(self.samples_ms)
        return {
            "window_start": self.started_at,
            "window_end": self.ended_at,
            "requests": len(ordered),
            "failures": self.failures,
            "by_name": dict(self.by_name),
            "percentiles_ms": {percentile_key(p): percentile(ordered, p) for p in PERCENTILES},
            "mean_ms": sum(ordered) / len(ordered) if ordered else None,
            "max_ms": ordered[-1] if ordered else None,
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.result(), indent=2) + "\n")
