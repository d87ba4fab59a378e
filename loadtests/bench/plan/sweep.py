"""The worker sweep's plan (make bench PROFILE=servers): how many worker processes each server is best run
with, on the servers' CPUs, beside the count its docs give. gunicorn's docs call 2 x CPUs + 1 "a starting
point" and say to tune it; uvicorn's and Granian's run one per CPU.

For each of the profile's sweep models (the default model, then the dearest: a change of model restarts every
server), rounds of every sweep variant on one scenario, the order reversed every other round as the capacity
rounds are, so that each variant pairs with its server's rule; then each variant at half its own capacity,
its window long enough for the p99 to rest on the profile's `curve_answers` (up to CURVE_WINDOW_MAX_S). Its
slices have phases of their own, so that they never mix with the run's other figures. Pure functions.
"""

from collections.abc import Mapping, Sequence

from loadtests.bench.plan.config import BenchConfig
from loadtests.bench.plan.slices import (
    CURVE_WINDOW_MAX_S,
    ESTIMATED_RPS,
    ESTIMATED_RPS_DEFAULT,
    FIXED,
    Slice,
    curve_window_s,
    ordered,
)

SWEEP_PHASE, SWEEP_P99_PHASE = "sweep", "sweep-p99"
HALF = 0.5  # the p99 is read at this share of each variant's own capacity
# The dearest model's capacity before any is measured, for the estimate (the 500-tree forest: about 40
# requests/s on one CPU): its half-capacity windows reach CURVE_WINDOW_MAX_S.
ESTIMATED_MODEL_RPS = 40.0


def sweep_rounds(config: BenchConfig, model: str) -> list[Slice]:
    """The sweep's capacity rounds for one model."""
    keys = [v.key for v in config.sweep_variants()]
    scenario = config.profile.sweep_scenario
    return [
        Slice(SWEEP_PHASE, scenario, key, index, model=model)
        for index in range(1, config.profile.sweep_rounds + 1)
        for key in ordered(keys, index)
    ]


def sweep_p99_slices(config: BenchConfig, model: str, capacities: Mapping[str, float]) -> list[Slice]:
    """Each variant once at half its own capacity (requests/s offered, at least 1)."""
    scenario = config.profile.sweep_scenario
    out = []
    for key, capacity in capacities.items():
        rate = max(1.0, round(HALF * capacity))
        out.append(
            Slice(
                SWEEP_P99_PHASE,
                scenario,
                key,
                1,
                kind=FIXED,
                rate=rate,
                model=model,
                duration_s=curve_window_s(config, rate),
            )
        )
    return out


def whole_sweep(config: BenchConfig) -> list[Slice]:
    """Every sweep slice, for the estimate up front: capacities guessed until they are measured."""
    slices: list[Slice] = []
    for model in config.profile.sweep_models:
        slices += sweep_rounds(config, model)
        guess = (
            ESTIMATED_MODEL_RPS
            if model
            else ESTIMATED_RPS.get(config.profile.sweep_scenario, ESTIMATED_RPS_DEFAULT)
        )
        slices += sweep_p99_slices(config, model, {v.key: guess for v in config.sweep_variants()})
    return slices


def describe_sweep(config: BenchConfig, slices: Sequence[Slice]) -> str:
    if not slices:
        return ""
    models = ", ".join(model or "the default model" for model in config.profile.sweep_models)
    return (
        f"  worker sweep on {config.profile.sweep_scenario}: {len(config.sweep_variants())} variant(s) x "
        f"{config.profile.sweep_rounds} round(s), then each at half its capacity (windows up to "
        f"{CURVE_WINDOW_MAX_S} s), for {models}: {len(slices)} slice(s)"
    )
