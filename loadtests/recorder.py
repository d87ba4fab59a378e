"""Response times over the measured window, in HdrHistograms, free of coordinated omission at a rate.

Locust keeps response times rounded to about two significant digits, too coarse below a millisecond, and
its closed loop hides stalls: a user waits for its answer before it sends the next request, so when the
server stalls, the requests it should have sent meanwhile are sent late, or never, and the wait is missing
from the percentiles (coordinated omission, Gil Tene's "How NOT to measure latency"). The recorder keeps
every response time of the window in an HdrHistogram (three significant digits, 1 µs to 10 min). At a fixed
rate each user also keeps a `Schedule`: its sends are due every users / rate seconds, a late answer does not
move the next one (the user catches up), and a second histogram times each request from when it was due,
not from when it could be sent, as wrk2 does. A stall then counts for every request that should have been
sent during it.

It also counts answers per second of the window, so a run whose throughput jumps (a stalled host) shows.

With several Locust processes, each worker writes its part (histograms encoded, counts by second) and
`merge_parts` pools them into one window file, as if one process had recorded them all.
"""

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
LOWEST_US, HIGHEST_US, DIGITS = 1, 600_000_000, 3
# A percentile whose tail holds fewer real responses than this rests on the slowest few: shown as ≈ max.
TAIL_SAMPLES = 10


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def microseconds(ms: float) -> int:
    return min(HIGHEST_US, max(LOWEST_US, round(ms * 1000)))


def percentile_key(p: float) -> str:
    return f"{p:g}"


def percentiles_ms(histogram: HdrHistogram) -> dict[str, float | None]:
    if not histogram.get_total_count():
        return {percentile_key(p): None for p in PERCENTILES}
    return {percentile_key(p): histogram.get_value_at_percentile(p) / 1000 for p in PERCENTILES}


def rests_on_tail(p: float, samples: int) -> bool:
    """True when fewer than TAIL_SAMPLES real responses lie above the p-th percentile: it is about the max."""
    return samples * (1 - p / 100) < TAIL_SAMPLES


class Schedule:
    """One user's intended send times at a fixed rate: every `interval_s` from `first`, kept whatever the
    answers take, so that a request's latency counts from when it was due."""

    def __init__(self, interval_s: float, first: float) -> None:
        self.interval_s = interval_s
        self.due = first

    def wait(self, now: float) -> float:
        """How long to wait before sending the request that is due next (0: it is late, send it now)."""
        return max(0.0, self.due - now)

    def answered(self, now: float) -> float:
        """The latency of the request that was due, in ms, from when it was due; the next one is due an
        interval later."""
        latency_ms = (now - self.due) * 1000
        self.due += self.interval_s
        return latency_ms


class LatencyRecorder:
    """The measured window; nothing is recorded before `start` or after `stop`."""

    def __init__(self) -> None:
        self.expected_interval_us = 0  # 0: a closed loop, no schedule
        self.start(None)
        self.recording = False

    def start(self, now: float | None, expected_interval_s: float = 0.0) -> None:
        self.raw, self.corrected = new_histogram(), new_histogram()
        self.expected_interval_us = round(expected_interval_s * 1e6)
        self.failures = 0
        self.by_name: Counter[str] = Counter()
        self.per_second: Counter[int] = Counter()
        self.recording, self.started_at = now is not None, now
        self.ended_at: float | None = None

    def stop(self, now: float) -> None:
        if self.recording:
            self.recording, self.ended_at = False, now

    def record(self, name: str, response_time_ms: float, failed: bool, now: float) -> None:
        """One answer, timed from when its request was sent."""
        if not self.recording:
            return
        self.raw.record_value(microseconds(response_time_ms))
        self.by_name[name] += 1
        self.failures += failed
        self.per_second[int(now)] += 1

    def record_from_due(self, latency_ms: float) -> None:
        """The same answer at a fixed rate, timed from when its request was due (Schedule.answered)."""
        if self.recording and self.expected_interval_us:
            self.corrected.record_value(microseconds(latency_ms))

    def result(self) -> dict[str, Any]:
        return window_result(
            self.raw,
            self.corrected if self.expected_interval_us else None,
            self.started_at,
            self.ended_at,
            self.failures,
            self.by_name,
            self.per_second,
            self.expected_interval_us,
        )

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.result(), indent=1) + "\n")


def window_result(
    raw: HdrHistogram,
    corrected: HdrHistogram | None,
    start: float | None,
    end: float | None,
    failures: int,
    by_name: Mapping[str, int],
    per_second: Mapping[int, int],
    expected_interval_us: int,
) -> dict[str, Any]:
    requests = raw.get_total_count()
    return {
        "window_start": start,
        "window_end": end,
        "requests": requests,
        "failures": failures,
        "by_name": dict(by_name),
        "per_second": {str(second): count for second, count in sorted(per_second.items())},
        "expected_interval_ms": expected_interval_us / 1000 if expected_interval_us else None,
        "percentiles_ms": percentiles_ms(raw),
        "corrected_percentiles_ms": percentiles_ms(corrected) if corrected is not None else None,
        "corrected_count": corrected.get_total_count() if corrected is not None else None,
        "mean_ms": raw.get_mean_value() / 1000 if requests else None,
        "max_ms": raw.get_max_value() / 1000 if requests else None,
        "histogram": raw.encode().decode(),
        "corrected_histogram": corrected.encode().decode() if corrected is not None else None,
    }


def decoded(encoded: str) -> HdrHistogram:
    histogram: HdrHistogram = HdrHistogram.decode(encoded.encode())
    return histogram


def full_seconds(per_second: Mapping[str, int], start: float, end: float) -> list[int]:
    """Answers in each whole second inside [start, end]: the partial seconds at both ends are left out."""
    first, last = math.ceil(start), math.floor(end)
    return [int(per_second.get(str(second), 0)) for second in range(first, last)]


def part_path(path: Path, pid: int) -> Path:
    """Where the worker process `pid` writes its part of the window file `path`."""
    return path.with_name(f"{path.stem}.worker-{pid}{path.suffix}")


def merged(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One window from the workers' parts: histograms added, counts summed second by second, from the first
    opening to the last closing (the workers open theirs within milliseconds of one another)."""
    raw, corrected = new_histogram(), new_histogram()
    by_name: Counter[str] = Counter()
    per_second: Counter[int] = Counter()
    for part in parts:
        raw.add(decoded(part["histogram"]))
        if part.get("corrected_histogram"):
            corrected.add(decoded(part["corrected_histogram"]))
        by_name.update(part["by_name"])
        per_second.update({int(second): count for second, count in part["per_second"].items()})
    starts = [part["window_start"] for part in parts if part["window_start"] is not None]
    ends = [part["window_end"] for part in parts if part["window_end"] is not None]
    interval_ms = next((part["expected_interval_ms"] for part in parts if part["expected_interval_ms"]), None)
    result = window_result(
        raw,
        corrected if interval_ms else None,
        min(starts, default=None),
        max(ends, default=None),
        sum(part["failures"] for part in parts),
        by_name,
        per_second,
        round(interval_ms * 1000) if interval_ms else 0,
    )
    return {**result, "processes": len(parts)}


def merge_parts(path: Path) -> int:
    """Pool the workers' parts of `path` into it and remove them; how many there were (0: none, a
    single-process run wrote `path` itself)."""
    parts = sorted(path.parent.glob(f"{path.stem}.worker-*{path.suffix}"))
    if parts:
        path.write_text(json.dumps(merged([json.loads(p.read_text()) for p in parts]), indent=1) + "\n")
        for part in parts:
            part.unlink()
    return len(parts)
