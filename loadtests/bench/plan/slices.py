"""What a bench run will do, as data, from the knobs alone: the slices in order and the time they take.

Per scenario, two phases. **Capacity**: rounds in which every variant the scenario compares runs one
closed-loop slice (and a wrk slice too, for the cross-check), the order reversed every other round
(A B, B A, A B, ...): the two slices of a pair run next to each other, and a slow drift of the host falls on
both. **Curve**: the default pair at the same grid of offered rates, lowest first, the order flipped at each
rate; its rates come from the capacity phase (the grid's shares of the faster one's capacity), so that phase
is planned after it.

Consecutive slices of one variant share its server; every change of variant stops one server and starts the
next, so that only the server being measured runs on the servers' CPUs. Pure functions: no server here.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from loadtests.bench.plan.config import BenchConfig
from loadtests.scenarios import Scenario

# What a slice costs beyond its warm-up and window (measured on 2 cores, a default run: Locust slices of one
# server 5.4 s apart for 4 s of run, a change of server 2-2.5 s more): Locust starting and writing its files
# and the speed probe around it; wrk's own start; a server stopped and the next one started until healthy.
LOCUST_OVERHEAD_S = 1.4
WRK_OVERHEAD_S = 0.1
SERVER_SWITCH_S = 2.2
# The in-process measurements before any server starts (inprocess/split.py): the process starting and
# timing the model, each scenario's split, and a pair of the glue's price on two endpoints and frameworks.
# The crossover times each of its models alone too.
IN_PROCESS_S, SPLIT_SCENARIO_S, GLUE_PAIR_S, MODEL_ALONE_S = 4.0, 8.0, 1.8, 3.0
CAPACITY_PHASE, CURVE_PHASE = "capacity", "curve"
# A slice's load: a closed loop (CAPACITY) or an offered rate (FIXED), from Locust or wrk. The raw record
# (loadtests/bench/results/records.py) says the same words.
CAPACITY = "capacity"  # closed loop, no wait: the most the server answers per second
FIXED = "fixed"  # an offered rate, shared by the users: latency (corrected) and CPU at that load
LOCUST, WRK = "locust", "wrk"


@dataclass(frozen=True)
class Slice:
    phase: str  # CAPACITY_PHASE or CURVE_PHASE
    scenario: str
    variant: str  # its key, e.g. "flask-gunicorn-sync"
    round: int  # 1-based: the capacity round, or the curve's rate index
    generator: str = LOCUST  # LOCUST or WRK
    kind: str = CAPACITY  # CAPACITY (closed loop) or FIXED (an offered rate)
    rate: float | None = None  # FIXED: requests/s offered, every user its share
    model: str = ""  # the model the server serves (MODEL_NAME); "": its default, no setting
    batch_size: int | None = None  # items per batch request; None: the scenario's (BATCH_SIZE)

    @property
    def server(self) -> tuple[str, str]:
        """What a server is started as: a change of either is a restart."""
        return (self.variant, self.model)


def ordered(items: Sequence[str], index: int) -> list[str]:
    """Round `index` (1-based) of an alternating schedule: as given in odd rounds, reversed in even ones."""
    return list(items) if index % 2 else list(reversed(items))


def capacity_slices(config: BenchConfig, scenario: Scenario) -> list[Slice]:
    keys = [variant.key for variant in config.variants_for(scenario)]
    wrk = set(crosschecked(config, scenario, keys))
    slices = []
    for index in range(1, config.rounds + 1):
        for key in ordered(keys, index):
            slices.append(Slice(CAPACITY_PHASE, scenario.name, key, index))
            if key in wrk:
                slices.append(Slice(CAPACITY_PHASE, scenario.name, key, index, generator=WRK))
    return slices


def crosschecked(config: BenchConfig, scenario: Scenario, keys: Sequence[str]) -> list[str]:
    """The default pair, when the scenario is cross-checked with wrk."""
    pair = curve_pair(keys)
    return list(pair) if config.wrk_for(scenario) and pair else []


def curve_pair(keys: Sequence[str]) -> tuple[str, str] | None:
    """The pair a curve compares: the first Flask variant and the first FastAPI one listed (the defaults)."""
    flask = next((key for key in keys if key.startswith("flask-")), None)
    fastapi = next((key for key in keys if key.startswith("fastapi-")), None)
    return (flask, fastapi) if flask and fastapi else None


def curve_slices(scenario: Scenario, pair: tuple[str, str], rates: Sequence[float]) -> list[Slice]:
    return [
        Slice(CURVE_PHASE, scenario.name, key, index, kind=FIXED, rate=rate)
        for index, rate in enumerate(rates, start=1)
        for key in ordered(pair, index)
    ]


def curve_points(config: BenchConfig, scenario: Scenario) -> int:
    """How many offered rates the scenario's curve has (its rates are known only after its capacity)."""
    if not config.curve_for(scenario) or curve_pair([v.key for v in config.variants_for(scenario)]) is None:
        return 0
    return len(config.rates or config.profile.grid)


def slice_seconds(config: BenchConfig, generator: str) -> float:
    overhead = WRK_OVERHEAD_S if generator == WRK else LOCUST_OVERHEAD_S
    return config.warmup_s + config.duration_s + overhead


def switches(servers: Iterable[Hashable]) -> int:
    """Server starts for slices in this order: one at each change of server (variant, model), and the
    first."""
    count: int = 0
    last: Hashable = None
    for key in servers:
        count += key != last
        last = key
    return count


def estimate_s(config: BenchConfig, slices: Sequence[Slice]) -> float:
    return sum(slice_seconds(config, s.generator) for s in slices) + SERVER_SWITCH_S * switches(
        s.server for s in slices
    )


def in_process_s(config: BenchConfig, split_scenarios: int) -> float:
    profile = config.profile
    split = SPLIT_SCENARIO_S * split_scenarios if profile.split else 0.0
    return IN_PROCESS_S + split + GLUE_PAIR_S * profile.glue_pairs + MODEL_ALONE_S * len(profile.models)


def whole_plan(config: BenchConfig) -> list[Slice]:
    """Every slice, the curves with placeholder rates (the grid's shares), for the estimate up front."""
    slices: list[Slice] = []
    for scenario in config.scenarios:
        slices += capacity_slices(config, scenario)
        keys = [variant.key for variant in config.variants_for(scenario)]
        pair = curve_pair(keys)
        if pair and curve_points(config, scenario):
            slices += curve_slices(scenario, pair, config.rates or config.profile.grid)
    return slices


def describe(config: BenchConfig, slices: Sequence[Slice], in_process: float = 0.0) -> str:
    """One line per scenario and the total, printed before anything starts."""
    lines = []
    for scenario in config.scenarios:
        own = [s for s in slices if s.scenario == scenario.name]
        capacity = [s for s in own if s.phase == CAPACITY_PHASE]
        variants = list(dict.fromkeys(s.variant for s in capacity))
        text = f"  {scenario.name}: {len(variants)} variant(s) x {config.rounds} round(s)"
        if any(s.generator == WRK for s in capacity):
            text += " (the default pair under wrk too)"
        if points := curve_points(config, scenario):
            text += f", then a {points}-rate curve"
        lines.append(f"{text}: {len(own)} slice(s)")
    minutes, seconds = divmod(round(estimate_s(config, slices) + in_process), 60)
    lines.append(
        f"  {len(slices)} slices of {config.warmup_s} s warm-up + {config.duration_s} s measured, "
        f"{switches(s.server for s in slices)} server starts: about {minutes} min {seconds:02d} s "
        "(a curve ends early where its service no longer keeps up)"
    )
    return "\n".join(lines)
