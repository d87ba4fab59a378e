"""The model alone, in-process: CPU time of one prediction and of one batch call, without any framework.

This is the model's share of each request's CPU cost; whatever a service spends beyond it is the framework's
(routing, validation, serialization, the server). CPU time (time.process_time) is what is compared with the
servers' CPU accounting; wall time is recorded beside it. Each figure is the median of several repeats.
"""

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from loadtests.scenarios import BATCH_SIZE, MODEL_WORK
from shared.examples import KNOWN_PENGUINS, batch_of
from shared.model import PenguinModel, load_model
from shared.settings import Settings

REPEATS = 7
TARGET_S = 0.15  # per repeat


def time_call(
    call: Callable[[], Any], repeats: int = REPEATS, target_s: float = TARGET_S
) -> dict[str, float]:
    """Median CPU and wall microseconds per call, over `repeats` loops sized to last about `target_s`."""
    call()  # warm caches and lazy imports
    start = time.perf_counter()
    call()
    loops = max(1, int(target_s / max(time.perf_counter() - start, 1e-7)))
    cpu, wall = [], []
    for _ in range(repeats):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(loops):
            call()
        cpu.append((time.process_time() - cpu_start) / loops * 1e6)
        wall.append((time.perf_counter() - wall_start) / loops * 1e6)
    return {
        "cpu_us": statistics.median(cpu),
        "cpu_us_min": min(cpu),
        "cpu_us_max": max(cpu),
        "wall_us": statistics.median(wall),
        "loops": loops,
        "repeats": repeats,
    }


def run_microbench(model: PenguinModel | None = None) -> dict[str, dict[str, float]]:
    """One entry per kind of model work named in loadtests.scenarios.MODEL_WORK."""
    model = model or load_model(Settings.from_env().model_dir)
    penguin = KNOWN_PENGUINS["Gentoo"]
    batch = batch_of(BATCH_SIZE)["items"]
    calls: dict[str, Callable[[], Any]] = {
        "predict_one": lambda: model.predict_one(penguin),
        f"predict_many_{BATCH_SIZE}": lambda: model.predict_many(batch),
    }
    missing = {work for work in MODEL_WORK.values() if work} - set(calls)
    if missing:
        raise RuntimeError(f"no micro-benchmark for {sorted(missing)}")
    return {name: time_call(call) for name, call in calls.items()}


def model_cpu_us(by_name: Mapping[str, int], microbench: Mapping[str, Mapping[str, float]]) -> float:
    """The model's CPU microseconds per request, for requests in these proportions (Locust names)."""
    total = sum(by_name.values())
    if not total:
        return 0.0
    work = sum(
        count * microbench[kind]["cpu_us"]
        for name, count in by_name.items()
        if (kind := MODEL_WORK.get(name)) is not None
    )
    return work / total
