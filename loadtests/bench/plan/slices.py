"""What a bench run will do, as data, from the knobs alone: the slices in order and the time they take.

Per scenario, two phases. **Capacity**: rounds in which every variant the scenario compares runs one
closed-loop slice (and a wrk slice too, for the cross-check), the order reversed every other round
(A B, B A, A B, ...): the two slices of a pair run close together, and a slow drift of the host falls on
both. Scenarios a profile runs `together` share their rounds: each variant's slices of every scenario one
after the other. After the profile's rounds, the precision rule (runner.py) adds rounds of the variants whose
comparisons are not yet precise (refinement_round), until they are or the run's budget is spent. **Curve**:
Flask's default and each FastAPI form at the grid's shares of its own capacity, lowest first, each window
long enough for its p99 to rest on the profile's `curve_answers`; its rates come from the capacity phase, so
that phase is planned after it.

Each server is started the first time its variant's turn comes and kept, idle, until the run (or the model
it serves) ends: a start costs seconds, an idle server nothing, and the CPU the servers' CPUs spend beyond
the one measured is recorded with every slice (others_pct). Pure functions: no server here.
"""

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from loadtests.bench.plan.config import ASYNC_DEF, BenchConfig
from loadtests.scenarios import Scenario

# What a slice costs beyond its warm-up and window (measured on 2 cores, a default run: Locust slices of one
# server 5.4 s apart for 4 s of run, a server's first start 2-2.5 s): Locust starting and writing its files,
# the speed probe around it and the server's backlog drained; wrk's own start; a server started until
# healthy and verified.
LOCUST_OVERHEAD_S = 1.4
WRK_OVERHEAD_S = 0.1
SERVER_START_S = 2.2
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
# A curve's window grows until it holds the profile's curve_answers, up to this.
CURVE_WINDOW_MAX_S = 15
# Capacities for the estimate up front, before any is measured (2 cores: predict about 600 to 1,100
# requests/s, batch about 100 to 300; a curve's windows are the longer for the slower variant); a scenario
# not named here gets the default.
ESTIMATED_RPS = {"predict": 900.0, "batch": 180.0}
ESTIMATED_RPS_DEFAULT = 300.0


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
    duration_s: int | None = None  # the measured window; None: the profile's (a curve's may be longer)

    @property
    def server(self) -> tuple[str, str]:
        """What a server is started as: a change of either is a restart."""
        return (self.variant, self.model)


def ordered(items: Sequence[str], index: int) -> list[str]:
    """Round `index` (1-based) of an alternating schedule: as given in odd rounds, reversed in even ones."""
    return list(items) if index % 2 else list(reversed(items))


def capacity_slices(config: BenchConfig, scenario: Scenario) -> list[Slice]:
    return capacity_rounds(config, [scenario])


def capacity_rounds(config: BenchConfig, scenarios: Sequence[Scenario]) -> list[Slice]:
    """The capacity rounds of these scenarios together: in each round, scenario by scenario, every variant
    once under Locust, then the cross-checked pair under wrk. The servers are kept running for the whole
    group (runner.py), so the order costs no start, and it puts a pair's two slices next to each other, or
    a few apart: the host's drift between them is what the pair cannot cancel (it drifted 1.6x within a
    6-minute run here)."""
    keys = list(dict.fromkeys(v.key for scenario in scenarios for v in config.variants_for(scenario)))
    own = {s.name: {v.key for v in config.variants_for(s)} for s in scenarios}
    wrk = {s.name: set(crosschecked(config, s, sorted(own[s.name], key=keys.index))) for s in scenarios}
    slices = []
    for index in range(1, config.rounds + 1):
        for scenario in scenarios:
            turn = [key for key in ordered(keys, index) if key in own[scenario.name]]
            slices += [Slice(CAPACITY_PHASE, scenario.name, key, index) for key in turn]
            slices += [
                Slice(CAPACITY_PHASE, scenario.name, key, index, generator=WRK)
                for key in turn
                if key in wrk[scenario.name]
            ]
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


def curve_variants(keys: Sequence[str]) -> list[str]:
    """The variants a curve measures: the default pair, and FastAPI's other form when it is measured (the
    verdict puts each one's capacity at the latency objective beside the others)."""
    pair = curve_pair(keys)
    if pair is None:
        return []
    return list(dict.fromkeys([*pair, *(key for key in keys if key == ASYNC_DEF)]))


def curve_slices(
    config: BenchConfig, scenario: Scenario, rates: Mapping[str, Sequence[float]]
) -> list[Slice]:
    """Each variant's offered rates, lowest first, on one start of its server; each window long enough for
    its p99 to rest on `curve_answers` answers (plan/config.py)."""
    return [
        Slice(
            CURVE_PHASE,
            scenario.name,
            key,
            index,
            kind=FIXED,
            rate=rate,
            duration_s=curve_window_s(config, rate),
        )
        for key, own in rates.items()
        for index, rate in enumerate(own, start=1)
    ]


def curve_window_s(config: BenchConfig, rate: float) -> int:
    """The window at an offered rate: the profile's, or longer, up to CURVE_WINDOW_MAX_S, until it holds
    the profile's `curve_answers` (1,000 answers put 10 beyond the p99: it is not the maximum)."""
    wanted = math.ceil(config.profile.curve_answers / rate) if rate > 0 else 0
    return max(config.duration_s, min(CURVE_WINDOW_MAX_S, wanted))


def curve_points(config: BenchConfig, scenario: Scenario) -> int:
    """How many offered rates the scenario's curve has (its rates are known only after its capacity)."""
    if not config.curve_for(scenario) or curve_pair([v.key for v in config.variants_for(scenario)]) is None:
        return 0
    return len(config.rates or config.profile.grid)


def slice_seconds(config: BenchConfig, generator: str, duration_s: int | None = None) -> float:
    overhead = WRK_OVERHEAD_S if generator == WRK else LOCUST_OVERHEAD_S
    return config.warmup_s + (duration_s or config.duration_s) + overhead


def server_starts(servers: Iterable[Hashable]) -> int:
    """Server starts for slices on these servers: one the first time each is used (a started server is kept
    until the run ends or the model served changes, a change of model restarting them all: a model is part
    of a server's key)."""
    return len(set(servers))


def estimate_s(config: BenchConfig, slices: Sequence[Slice]) -> float:
    return sum(
        slice_seconds(config, s.generator, s.duration_s) for s in slices
    ) + SERVER_START_S * server_starts(s.server for s in slices)


def refinement_round(
    config: BenchConfig, pending: Iterable[tuple[str, str, str]], index: int, model: str = ""
) -> list[Slice]:
    """One more capacity round (`index`, 1-based, its order alternating as the profile's rounds do) of the
    (scenario, variant, generator) slices whose comparisons are not yet precise: scenario by scenario, the
    variants next to each other, in the profile's order."""
    wanted = set(pending)
    names = [s.name for s in config.scenarios]
    keys = list(dict.fromkeys(v.key for s in config.scenarios for v in config.variants_for(s)))
    keys += sorted({key for _, key, _ in wanted} - set(keys))
    slices = []
    for scenario in names:
        for key in ordered(keys, index):
            for generator in (LOCUST, WRK):
                if (scenario, key, generator) in wanted:
                    slices.append(
                        Slice(CAPACITY_PHASE, scenario, key, index, generator=generator, model=model)
                    )
    return slices


def in_process_s(config: BenchConfig, split_scenarios: int) -> float:
    profile = config.profile
    split = SPLIT_SCENARIO_S * split_scenarios if profile.split else 0.0
    return IN_PROCESS_S + split + GLUE_PAIR_S * profile.glue_pairs + MODEL_ALONE_S * len(profile.models)


def scenario_groups(config: BenchConfig) -> list[list[Scenario]]:
    """The scenarios whose capacity rounds run together (the profile's `together`), each other one alone,
    in the order given."""
    together = [s for s in config.scenarios if s.name in config.profile.together]
    groups: list[list[Scenario]] = []
    for scenario in config.scenarios:
        if scenario in together:
            if together[0] is scenario:
                groups.append(together)
        else:
            groups.append([scenario])
    return groups


def whole_plan(config: BenchConfig) -> list[Slice]:
    """Every slice, for the estimate up front; the curves' rates are placeholders (the grid's shares of
    ESTIMATED_RPS) until the capacities are measured."""
    slices: list[Slice] = []
    for group in scenario_groups(config):
        slices += capacity_rounds(config, group)
        for scenario in group:
            keys = curve_variants([variant.key for variant in config.variants_for(scenario)])
            if keys and curve_points(config, scenario):
                capacity = ESTIMATED_RPS.get(scenario.name, ESTIMATED_RPS_DEFAULT)
                guess = config.rates or [share * capacity for share in config.profile.grid]
                slices += curve_slices(config, scenario, {key: guess for key in keys})
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
        f"{server_starts(s.server for s in slices)} server starts: about {minutes} min {seconds:02d} s"
        + (
            " (a curve ends early where its service no longer keeps up)"
            if any(s.rate for s in slices)
            else ""
        )
    )
    if rule := precision_line(config):
        lines.append(rule)
    return "\n".join(lines)


def precision_line(config: BenchConfig) -> str:
    """What the precision rule will add, printed with the plan: the comparisons it refines, the budget."""
    if not (config.budget_s and config.profile.lead):
        return ""
    whole, rest = divmod(config.budget_s, 60)
    return (
        f"  then the precision rule: rounds added until {', '.join(config.profile.lead)} are each within "
        f"±5% (requests/s), the whole run at most {whole} min{f' {rest:02d} s' if rest else ''} (BUDGET_S)"
    )
