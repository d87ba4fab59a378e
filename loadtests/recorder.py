"""Exact response-time percentiles over the measured window.

Locust keeps response times rounded to about two significant digits (e.g. 0.43 ms and 0.47 ms both count as
0 ms, 1234 ms as 1200 ms), which is too coarse for sub-millisecond latencies. The recorder keeps every
response time of the window, unrounded, and reports nearest-rank percentiles from them at the end.

With several Locust processes, each worker writes its part with every response time in it, and
`merge_parts` pools them into the one window file, as if one process had recorded them all.
"""

import json
import math
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
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

    def result(self, with_samples: bool = False) -> dict[str, Any]:
        ordered = sorted(self.samples_ms)
        result = window_result(ordered, self.started_at, self.ended_at, self.failures, self.by_name)
        return {**result, "samples_ms": ordered} if with_samples else result

    def write(self, path: Path, with_samples: bool = False) -> None:
        path.write_text(json.dumps(self.result(with_samples), indent=None if with_samples else 2) + "\n")


def window_result(
    ordered_ms: Sequence[float],
    start: float | None,
    end: float | None,
    failures: int,
    by_name: Mapping[str, int],
) -> dict[str, Any]:
    return {
        "window_start": start,
        "window_end": end,
        "requests": len(ordered_ms),
        "failures": failures,
        "by_name": dict(by_name),
        "percentiles_ms": {percentile_key(p): percentile(ordered_ms, p) for p in PERCENTILES},
        "mean_ms": sum(ordered_ms) / len(ordered_ms) if ordered_ms else None,
        "max_ms": ordered_ms[-1] if ordered_ms else None,
    }


def part_path(path: Path, pid: int) -> Path:
    """Where the worker process `pid` writes its part of the window file `path`."""
    return path.with_name(f"{path.stem}.worker-{pid}{path.suffix}")


def merged(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One window from the workers' parts: every response time pooled, from the first opening to the last
    closing (the workers open theirs within milliseconds of one another)."""
    by_name: Counter[str] = Counter()
    for part in parts:
        by_name.update(part["by_name"])
    starts = [part["window_start"] for part in parts if part["window_start"] is not None]
    ends = [part["window_end"] for part in parts if part["window_end"] is not None]
    result = window_result(
        sorted(sample for part in parts for sample in part["samples_ms"]),
        min(starts, default=None),
        max(ends, default=None),
        sum(part["failures"] for part in parts),
        by_name,
    )
    return {**result, "processes": len(parts)}


def merge_parts(path: Path) -> int:
    """Pool the workers' parts of `path` into it and remove them; how many there were (0: none, a
    single-process run wrote `path` itself)."""
    parts = sorted(path.parent.glob(f"{path.stem}.worker-*{path.suffix}"))
    if parts:
        path.write_text(json.dumps(merged([json.loads(p.read_text()) for p in parts]), indent=2) + "\n")
        for part in parts:
            part.unlink()
    return len(parts)
