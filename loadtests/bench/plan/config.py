"""The bench's knobs (make variables) and profiles: what a run measures, before anything starts.

A profile is a budget: `quick` (make bench-quick, about a minute), `default` (make bench, at most 6 minutes
on 2 cores: the verdict's Flask and both FastAPI forms, each also with the collector tuned on batch, pairs
added until the verdict's comparisons are precise), `latency` (the latency curve and the capacity at the
objective), `servers` (the Granian and nginx pairs and the worker-count sweep) and `full` (every scenario,
every variant, the whole curve; about an hour). `crossover` asks another question: the same comparisons for
each model `make model` trains, cheapest to dearest (plan/crossover.py). The knobs given on the command line
override the profile's choices one by one.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.bench.plan.variants import (
    CATALOGUE,
    CPU_VARIANTS,
    GC_TUNED_VARIANTS,
    IO_VARIANTS,
    NGINX_VARIANTS,
    SWEEP_VARIANTS,
    VARIANTS,
    ServerVariant,
)
from loadtests.scenarios import BATCH_SIZE, CPU, IO_BOUND, SCENARIOS, UPSTREAM, Scenario
from shared.limits import MAX_BATCH_SIZE
from shared.settings import MODEL_NAMES, REPO_ROOT

DEFAULT_PAIR = tuple(v.key for v in VARIANTS)  # flask-gunicorn-sync, fastapi-uvicorn
# The same server for both frameworks: what is left between them is the framework's.
GRANIAN_PAIR = ("fastapi-granian", "flask-granian")
# The defaults as deployed in production: both behind the same nginx configuration (deploy/).
NGINX_PAIR = tuple(v.key for v in NGINX_VARIANTS)
SLO_MS = 50.0
# io compares what Flask users deploy for I/O and the two classic mistakes with the defaults, in any profile
# (SCENARIOS=io): io is in none's default scenarios, so it costs a profile's budget nothing.
IO_COMPARED = DEFAULT_PAIR + tuple(v.key for v in IO_VARIANTS)
# FastAPI's other form: the service's prediction views are `def` (the thread pool), this one's `async def`.
ASYNC_DEF = "fastapi-async-def"
# What the verdict compares: Flask's default beside both of FastAPI's forms.
VERDICT = (*DEFAULT_PAIR, ASYNC_DEF)
# Flask at its best today: the third service (flask_openapi_service), under gunicorn's sync worker as Flask's.
FLASK_OPENAPI = "flask_openapi-gunicorn-sync"
STACK_COMPARISONS = ("fastapi-over-flask-openapi", "flask-openapi-over-flask")
# The same three with the collector tuned (GC_TUNING=1): the tuning's effect, measured beside the defaults.
GC_TUNED = tuple(v.key for v in GC_TUNED_VARIANTS)
# The comparisons the verdict leads with: FastAPI's two forms over Flask, then the collector's tuning on each
# of the three and FastAPI/Flask with it on both (results/pairs.py names them).
FORMS = ("default", "async-def-form")
GC_COMPARISONS = ("gc-flask", "gc-fastapi", "gc-async-def", "default-gc-tuned", "async-def-form-gc-tuned")
DEFAULT_BUDGET_S = 360  # make bench: at most 6 minutes on 2 cores, the in-process phase and report included


@dataclass(frozen=True)
class Profile:
    name: str
    scenarios: tuple[str, ...]
    # Server variants by scenario name, else by scenario kind ("cpu", "io"), in the order a round runs them.
    variants: Mapping[str, tuple[str, ...]]
    rounds: int  # each variant once per round, the order reversed every other round (A B, B A, ...)
    duration_s: int  # measured seconds of each slice
    warmup_s: int  # seconds before each slice's window, not counted
    curve_scenarios: tuple[str, ...]  # the latency-throughput curve, for the default pair
    grid: tuple[float, ...]  # the curve's offered rates, as shares of the faster default's capacity
    wrk_scenarios: tuple[str, ...]  # the cross-check: the default pair's slices again under wrk
    split: bool  # the in-process split of each framework's CPU per request (inprocess/split.py)
    glue_pairs: int  # the contract's price, service over its stack's reference app (inprocess/glue.py)
    estimate: str  # what `make help` and the README say it takes
    # crossover: the models served in turn (MODEL_NAME), and the batch sizes sent to the cheapest one by the
    # default pair beside the scenario's own; empty: the server's default model, the scenario's batch.
    models: tuple[str, ...] = ()
    batch_sizes: tuple[int, ...] = ()
    # Scenarios whose capacity rounds run together, each variant's slices on one start of its server.
    together: tuple[str, ...] = ()
    # A curve's window holds at least this many answers (plan/slices.py, curve_window_s); 0: the profile's.
    curve_answers: int = 0
    # The precision rule (runner.py): after `rounds`, rounds of the variants of the `lead` comparisons not yet
    # within results/pairs.py's PRECISION are added until they are, or until the whole run has taken
    # `budget_s`; 0: the profile's rounds only.
    budget_s: int = 0
    lead: tuple[str, ...] = ()
    # The worker sweep (plan/sweep.py): these variants on `sweep_scenario`, for each of `sweep_models` ("":
    # the server's default model), in `sweep_rounds` rounds, then each at half its own capacity.
    sweep: tuple[str, ...] = ()
    sweep_models: tuple[str, ...] = ()
    sweep_scenario: str = "predict"
    sweep_rounds: int = 3


CPU_SCENARIOS = tuple(name for name, s in SCENARIOS.items() if s.kind == CPU)
PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "quick",
            ("predict",),
            {CPU: DEFAULT_PAIR, IO_BOUND: IO_COMPARED},
            rounds=3,
            duration_s=2,
            warmup_s=1,
            curve_scenarios=("predict",),
            grid=(0.3, 0.7, 1.05),
            wrk_scenarios=(),
            split=False,
            glue_pairs=0,
            estimate="about a minute",
        ),
        Profile(
            "default",
            ("predict", "batch"),
            # The verdict's three: Flask's default and both FastAPI forms, as each framework's docs serve them
            # (the interpreter's collector); on batch, where the collector's tuning moves FastAPI most, the
            # same three tuned (GC_TUNING=1). The curve is PROFILE=latency's, the Granian and nginx pairs
            # PROFILE=servers': the precision rule gets the budget.
            {
                "predict": (*VERDICT, FLASK_OPENAPI),
                "batch": (*VERDICT, FLASK_OPENAPI, *GC_TUNED),
                IO_BOUND: IO_COMPARED,
            },
            rounds=4,
            # 2 s windows: a slice's 1 s warm-up and 2 s window cost 4.4 s with Locust's start.
            duration_s=2,
            warmup_s=1,
            curve_scenarios=(),
            grid=(),
            wrk_scenarios=("predict",),
            # The split answers "why" on the README's first screen; the glue's price, a finding of
            # docs/argument.md's, is PROFILE=servers' (it took a quarter of this run's in-process phase).
            split=True,
            glue_pairs=0,
            estimate="at most 6 minutes on 2 cores",
            together=("predict", "batch"),
            budget_s=DEFAULT_BUDGET_S,
            lead=FORMS + STACK_COMPARISONS + GC_COMPARISONS,
        ),
        Profile(
            "latency",
            ("predict", "batch"),
            # The latency curve of the verdict's three: each at 50% and 80% of its own capacity, each window
            # holding 1,000 answers or CURVE_WINDOW_MAX_S: the capacity at the objective is read between them
            # (results/figures.py), on a p99 that is not the maximum. 70% and 90% put Flask's batch p99 at the
            # objective itself. Two capacity rounds place the rates; the ratios are the default run's.
            {CPU: VERDICT},
            rounds=2,
            duration_s=2,
            warmup_s=1,
            curve_scenarios=("predict", "batch"),
            grid=(0.5, 0.8),
            wrk_scenarios=(),
            split=False,
            glue_pairs=0,
            estimate="about 4 minutes on 2 cores",
            together=("predict", "batch"),
            curve_answers=1000,
        ),
        Profile(
            "servers",
            ("predict",),
            # Where the difference comes from and how it is deployed: the same server for both (Granian),
            # and both defaults behind the same nginx, beside the defaults direct.
            {CPU: DEFAULT_PAIR + GRANIAN_PAIR + NGINX_PAIR},
            rounds=4,
            duration_s=2,
            warmup_s=1,
            curve_scenarios=(),
            grid=(),
            wrk_scenarios=(),
            split=True,
            glue_pairs=3,
            estimate="about 11 minutes on 2 cores",
            lead=("default", "same-server", "nginx"),
            # Each server at the worker counts around its docs' rule, on the default model and the dearest:
            # gunicorn's "2 x CPUs + 1" is "a starting point" its docs say to tune.
            curve_answers=1000,
            sweep=tuple(v.key for v in SWEEP_VARIANTS),
            sweep_models=("", MODEL_NAMES[-1]),
        ),
        Profile(
            "full",
            tuple(SCENARIOS),
            {
                CPU: tuple(v.key for v in CPU_VARIANTS) + GC_TUNED,
                IO_BOUND: DEFAULT_PAIR + GRANIAN_PAIR + IO_COMPARED[2:],
            },
            rounds=6,
            duration_s=5,
            warmup_s=2,
            curve_scenarios=CPU_SCENARIOS,
            grid=(0.1, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25),
            wrk_scenarios=CPU_SCENARIOS,
            split=True,
            glue_pairs=7,
            estimate="about an hour",
            curve_answers=1000,
        ),
        Profile(
            "crossover",
            ("predict", "batch", "mixed"),
            # The Granian pair on predict alone: on batch too, the run took 15 min 25 s here.
            {
                CPU: (*DEFAULT_PAIR, ASYNC_DEF, *GRANIAN_PAIR),
                "batch": (*DEFAULT_PAIR, ASYNC_DEF),
                "mixed": (*DEFAULT_PAIR, ASYNC_DEF),
            },
            # 4 pairs per ratio at least, then the precision rule on predict and batch, each model its share
            # of the budget. 2 s windows: the dearest model (about 20 ms of CPU per call on one server CPU)
            # still answers about 90 requests in each, a count's step of about 1%, five times finer than the
            # 5% the crossover reads (docs/bench/method.md).
            rounds=4,
            duration_s=2,
            warmup_s=1,
            curve_scenarios=(),
            grid=(),
            wrk_scenarios=(),
            split=False,
            glue_pairs=0,
            estimate="at most 20 minutes on 2 cores",
            models=MODEL_NAMES,
            batch_sizes=tuple(sorted({1, 10, BATCH_SIZE, MAX_BATCH_SIZE})),
            budget_s=1200,
            lead=(*FORMS, "same-server"),
        ),
    )
}


@dataclass(frozen=True)
class BenchConfig:
    profile: Profile
    scenarios: tuple[Scenario, ...]
    variant_keys: tuple[
        str, ...
    ] = ()  # VARIANTS=: these on every scenario they apply to; empty: the profile's
    rounds: int = 4
    duration_s: int = 3
    warmup_s: int = 1
    users: int = 32
    rates: tuple[
        float, ...
    ] = ()  # RATES=: the curve's offered rates in requests/s; empty: the profile's grid
    slo_ms: float = SLO_MS
    workers: int | None = None  # None: one per CPU given to the servers
    results_root: Path = REPO_ROOT / "results"
    locust_processes: int = 1  # > 1: Locust's --processes, a master and this many workers
    upstream_latency_ms: float = 50.0  # the upstream's delay, for the scenarios that have one (io)
    # Against running services (compose): the variants as deployed, replacing the catalogue's defaults.
    deployed: Mapping[str, ServerVariant] = field(default_factory=dict)
    budget_s: int = (
        0  # BUDGET_S=: the precision rule's budget for the whole run; 0: the profile's rounds only
    )

    @property
    def spawn_rate(self) -> float:
        """Every user within the first second, well inside the warm-up."""
        return float(self.users)

    def variants_for(self, scenario: Scenario) -> list[ServerVariant]:
        """The variants a scenario compares, in the order a round runs them."""
        if self.deployed:
            return list(self.deployed.values())
        keys = (
            self.variant_keys
            or self.profile.variants.get(scenario.name)
            or self.profile.variants[scenario.kind]
        )
        known = {v.key: v for v in CATALOGUE}
        return [known[key] for key in keys if key in known and scenario.kind in known[key].scenarios]

    def all_variants(self) -> list[ServerVariant]:
        """Every variant some scenario of the run compares, in order, once."""
        found = {v.key: v for s in self.scenarios for v in self.variants_for(s)}
        return list(found.values())

    def sweep_variants(self) -> list[ServerVariant]:
        """The worker sweep's variants, when the profile has one (and VARIANTS= does not replace it)."""
        if self.variant_keys or self.deployed:
            return []
        known = {v.key: v for v in CATALOGUE}
        return [known[key] for key in self.profile.sweep]

    def curve_for(self, scenario: Scenario) -> bool:
        return scenario.curve and scenario.name in self.profile.curve_scenarios

    def wrk_for(self, scenario: Scenario) -> bool:
        return scenario.name in self.profile.wrk_scenarios

    @property
    def needs_upstream(self) -> bool:
        return any(UPSTREAM in scenario.auxiliaries for scenario in self.scenarios)


def parse_scenarios(text: str, profile: Profile) -> tuple[Scenario, ...]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        names = list(profile.scenarios)
    if names == ["all"]:
        return tuple(SCENARIOS.values())
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return tuple(SCENARIOS[name] for name in dict.fromkeys(names))


def parse_variants(text: str) -> tuple[str, ...]:
    keys = tuple(dict.fromkeys(key.strip() for key in text.split(",") if key.strip()))
    known = {v.key for v in CATALOGUE}
    if unknown := [key for key in keys if key not in known]:
        raise ValueError(f"unknown server variant(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return keys


def parse_rates(text: str) -> tuple[float, ...]:
    """ "" or "auto": the profile's grid; "100,300,600": those offered rates, requests/s."""
    text = text.strip()
    if text in {"", "auto"}:
        return ()
    return tuple(sorted(positive(part) for part in text.split(",") if part.strip()))


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise ValueError(f"expected a positive number, got {text!r}")
    return value


def round_down(value: float, digits: int = 2) -> float:
    """To `digits` significant digits, rounding down: 1234 -> 1200, 37.9 -> 37."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return round(math.floor(value / scale) * scale, 10)


def curve_rates(grid: tuple[float, ...], capacity: float, fixed: tuple[float, ...] = ()) -> list[float]:
    """A variant's offered rates on a curve: RATES as given, else the grid's shares of its own capacity,
    rounded to two significant digits (each variant is measured where its own knee is)."""
    if fixed:
        return list(fixed)
    return sorted({max(1.0, round_down(share * capacity)) for share in grid})
