"""The precision rule (runner.py, results/precision.py): pairs added until each lead comparison's interval is
within ±5% of its figure, or until the run's budget is spent; its coverage under optional stopping on
synthetic pairs whose true ratio is known. No server starts here: the runner measures made-up slices."""

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.load.locust import Placement
from loadtests.bench.plan import slices as plan
from loadtests.bench.plan.slices import LOCUST, WRK, refinement_round
from loadtests.bench.plan.variants import ServerVariant
from loadtests.bench.results.pairs import CONFIDENCE, MIN_PAIRS, PRECISION
from loadtests.bench.results.precision import (
    Imprecise,
    coverage_table,
    imprecise,
    next_round,
    pairs_needed,
    simulate,
    slices_wanted,
)
from loadtests.bench.results.records import Measurement
from loadtests.bench.runner import REPORT_S, Bench
from loadtests.bench.targets.servers import RunningServer
from loadtests.scenarios import SCENARIOS
from tests.test_bench import config_of
from tests.test_bench_analysis import PAIRS, TIGHT, capacity

FLASK, DEF, ASYNC = "flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"


def test_the_rules_interval_holds_the_true_ratio_about_as_often_as_it_says() -> None:
    """Stopping when the interval is narrow enough makes it a little optimistic; simulated over a quiet to a
    noisy host, normal and heavy-tailed, it still holds the true ratio in at least 92% of runs for 95%."""
    table = coverage_table()
    assert len(table) == 14 and CONFIDENCE == 0.95
    assert all(0.92 <= row.coverage <= 0.975 for row in table), [(r.sigma, r.coverage) for r in table]
    quiet = simulate(0.01, heavy=False)
    assert quiet.mean_pairs == MIN_PAIRS and quiet.stopped_precise == 1.0  # four pairs are enough
    noisy = simulate(0.2, heavy=False)
    assert noisy.stopped_precise < 0.05 and noisy.mean_pairs > 11.5  # the budget, nearly always
    # The coverage is of the runs that stopped precise and of those that reached the budget alike.
    middling = simulate(0.08, heavy=False)
    assert 0.2 < middling.stopped_precise < 0.9 and middling.coverage >= 0.92


def test_the_next_round_refines_the_comparison_nearest_to_precise() -> None:
    near = Imprecise("batch", "gc-flask", LOCUST, "flask-gunicorn-sync-gc-tuned", FLASK, 4, 0.06)
    far = Imprecise("predict", "default", LOCUST, DEF, FLASK, 4, 0.30)
    short = Imprecise("predict", "async-def-form", LOCUST, ASYNC, FLASK, 1, None)
    assert pairs_needed(near) == pytest.approx(4 * 1.2**2 - 4) and pairs_needed(far) == pytest.approx(
        4 * 36 - 4
    )
    assert pairs_needed(short) == 3  # to reach the rule's four pairs
    assert next_round([far, near, short]) == [near]  # about 1.8 more pairs, against 3 and 140
    # The same slices refine every comparison they cover: predict's Flask and FastAPI `def` serve both.
    tied = Imprecise("predict", "async-def", LOCUST, DEF, FLASK, 4, 0.29)
    assert next_round([far, tied]) == [far, tied]


def test_only_imprecise_lead_comparisons_on_their_lead_generator_are_refined() -> None:
    [found] = imprecise(PAIRS, ["default"])
    assert (found.comparison, found.generator, found.pairs) == ("default", LOCUST, 4)
    assert found.precision is not None and found.precision > PRECISION
    assert imprecise(TIGHT, ["default"]) == []  # within ±5% already
    assert imprecise(PAIRS, ["same-server"]) == []  # not a lead comparison of this run
    bound = [replace(m, generator_cpu_max=97.0) if m.framework == "fastapi" else m for m in PAIRS]
    assert imprecise(bound, ["default"]) == []  # a bound stays a bound, however many pairs
    assert slices_wanted([found]) == {("predict", DEF, LOCUST), ("predict", FLASK, LOCUST)}


def test_a_refinement_round_runs_just_the_variants_needed_in_the_alternating_order() -> None:
    config = config_of()
    wanted = {
        ("batch", ASYNC, LOCUST),
        ("batch", FLASK, LOCUST),
        ("predict", FLASK, WRK),
        ("predict", DEF, WRK),
    }
    odd = refinement_round(config, wanted, 5)
    assert [(s.scenario, s.variant, s.generator, s.round) for s in odd] == [
        ("predict", FLASK, WRK, 5),  # scenario by scenario, each pair's slices next to each other
        ("predict", DEF, WRK, 5),
        ("batch", FLASK, LOCUST, 5),
        ("batch", ASYNC, LOCUST, 5),
    ]
    assert [s.variant for s in refinement_round(config, wanted, 6)] == [DEF, FLASK, ASYNC, FLASK]
    assert {s.model for s in refinement_round(config, wanted, 6, "random-forest-500")} == {
        "random-forest-500"
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FakePool:
    def __init__(self) -> None:
        self.verification: dict[str, dict[str, Any]] = {}
        self.starts: list[dict[str, Any]] = []
        self.start_count = 1

    def prestart(self, variants: Sequence[ServerVariant], model: str, start_cpus: Sequence[int]) -> None:
        pass

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        return RunningServer(variant, "http://127.0.0.1:1", None, Path("log"), "")  # type: ignore[arg-type]

    def release(self) -> None:
        pass


def bench_measuring(
    tmp_path: Path, ratios: Callable[[int], float], budget_s: int
) -> tuple[Bench, list[Measurement]]:
    """A default-profile Bench on predict alone whose slices are made up: FastAPI's requests/s over Flask's
    in round r is ratios(r); each slice advances the run's clock by what the plan says it costs."""
    config = config_of(scenarios=(SCENARIOS["predict"],), variant_keys=(FLASK, DEF), budget_s=budget_s)
    bench = Bench(config, FakePool(), Placement((0,), (1,)), tmp_path, "made up")
    clock = FakeClock()
    bench.clock, bench.started = clock, clock.now
    bench.wrk = False
    measured: list[Measurement] = []

    def measure(s: plan.Slice, server: RunningServer) -> Measurement:
        clock.now += plan.slice_seconds(config, s.generator, s.duration_s)
        rps = 800.0 * (ratios(s.round) if s.variant == DEF else 1.0)
        m = capacity(s.variant, rps, 1_000.0, s.round, s.generator)
        measured.append(m)
        bench.measurements.append(m)
        return m

    bench.measure = measure  # type: ignore[method-assign]
    return bench, measured


def alternating(spread: float) -> Callable[[int], float]:
    """1.5x, one pair above and the next below by `spread` (log): a steady spread per pair."""
    return lambda r: 1.5 * math.exp(spread if r % 2 else -spread)


def rounds_run(measured: list[Measurement]) -> int:
    return max(m.round for m in measured)


def test_a_quiet_comparison_stops_at_the_profiles_rounds(tmp_path: Path) -> None:
    bench, measured = bench_measuring(tmp_path, alternating(0.005), budget_s=360)
    bench.execute(plan.capacity_rounds(bench.config, list(bench.config.scenarios)))
    bench.refine(bench.config.scenarios, groups_left=1)
    assert rounds_run(measured) == 4 and bench.reached_budget == []
    assert bench.rounds_run == {"": 4}


def test_a_noisier_one_gets_rounds_until_it_is_precise(tmp_path: Path) -> None:
    # ±3% per pair: four pairs give about ±5.5% (t = 3.18), six about ±3.5%.
    bench, measured = bench_measuring(tmp_path, alternating(0.03), budget_s=360)
    bench.execute(plan.capacity_rounds(bench.config, list(bench.config.scenarios)))
    bench.refine(bench.config.scenarios, groups_left=1)
    assert 4 < rounds_run(measured) <= 6 and bench.reached_budget == []
    added = [m for m in measured if m.round > 4]
    assert {m.key for m in added} == {FLASK, DEF} and len(added) == 2 * (rounds_run(measured) - 4)


def test_a_noisy_one_stops_at_the_budget_and_is_named(tmp_path: Path) -> None:
    bench, measured = bench_measuring(tmp_path, alternating(0.3), budget_s=120)
    bench.execute(plan.capacity_rounds(bench.config, list(bench.config.scenarios)))
    bench.refine(bench.config.scenarios, groups_left=1)
    [named] = bench.reached_budget
    assert named["comparison"] == "default" and named["pairs"] == rounds_run(measured) > 4
    # Stopped because the next round would overrun: what ran fits the budget less the report's share.
    assert bench.clock() - bench.started <= 120
    never = bench_measuring(tmp_path, alternating(0.3), budget_s=0)[0]
    never.refine(never.config.scenarios, groups_left=1)
    assert never.rounds_run == {"": 4} and never.reached_budget == []  # BUDGET_S=0: the profile's rounds


@pytest.mark.parametrize("groups_left", [1, 3])
def test_the_budget_left_is_shared_among_the_groups_still_to_run(tmp_path: Path, groups_left: int) -> None:
    bench, _ = bench_measuring(tmp_path, alternating(0.3), budget_s=300)
    # Held back: the rest of the plan at the run's pace (none measured yet: 1) and the report's share.
    held = bench.estimate_left + REPORT_S
    assert bench.estimate_left > 0 and bench.spare_s(groups_left) == pytest.approx((300 - held) / groups_left)
