"""The crossover profile's plan (make bench PROFILE=crossover): does the framework still matter when the
model costs 20 ms? The same comparisons for each model `make model` trains, cheapest first.

The model is a server setting (MODEL_NAME), so a slice's server is (variant, model), and a change of either
is a restart. Per model, rounds as the other profiles run them (A B, B A, ...: the order of the variants
reversed every other round), but within a round each server, once started, runs every scenario it is
compared on (predict, batch, mixed) before the next starts: the two slices of a pair stay in one round, a
few seconds apart, and a round costs one start per variant instead of one per variant and scenario. On the
cheapest model the default pair also sends batches of the profile's other sizes: batch size as a second
axis. Pure functions: no server here.
"""

from collections.abc import Sequence

from loadtests.bench.plan.config import BenchConfig
from loadtests.bench.plan.slices import CAPACITY_PHASE, Slice, curve_pair, estimate_s, ordered, server_starts
from loadtests.scenarios import BATCH_SIZE, SCENARIOS

BATCH = "batch"


def batch_axis(config: BenchConfig) -> tuple[list[int], tuple[str, str] | None]:
    """The batch sizes sent beside the scenario's own, and the pair that sends them (the default pair)."""
    batch = next((s for s in config.scenarios if s.name == BATCH), None)
    if batch is None:
        return [], None
    sizes = [size for size in config.profile.batch_sizes if size != BATCH_SIZE]
    return sizes, curve_pair([v.key for v in config.variants_for(batch)])


def crossover_slices(config: BenchConfig) -> list[Slice]:
    """Every slice of the crossover run, in the order it runs."""
    by_scenario = {s.name: [v.key for v in config.variants_for(s)] for s in config.scenarios}
    keys = list(dict.fromkeys(key for listed in by_scenario.values() for key in listed))
    sizes, sized_pair = batch_axis(config)
    slices: list[Slice] = []
    for position, model in enumerate(config.profile.models):
        for index in range(1, config.rounds + 1):
            # Scenario by scenario, the variants next to each other (plan/slices.py's capacity_rounds):
            # a pair's slices are then a slice or a few apart; the servers are kept, the order costs no start.
            turn = ordered(keys, index)
            for scenario, listed in by_scenario.items():
                slices += [
                    Slice(CAPACITY_PHASE, scenario, key, index, model=model) for key in turn if key in listed
                ]
                if scenario == BATCH and position == 0 and sized_pair:
                    slices += [
                        Slice(CAPACITY_PHASE, BATCH, key, index, model=model, batch_size=size)
                        for size in sizes
                        for key in turn
                        if key in sized_pair
                    ]
    return slices


def describe_crossover(config: BenchConfig, slices: Sequence[Slice], in_process: float = 0.0) -> str:
    """What the run will do and how long it takes, from the plan's own estimate, printed before it starts."""
    models = config.profile.models
    lines = [f"  {len(models)} model(s), cheapest first: {', '.join(models)}"]
    for scenario in config.scenarios:
        variants = [v.key for v in config.variants_for(scenario)]
        lines.append(
            f"  {scenario.name}: {', '.join(variants)} x {config.rounds} round(s) per model"
            f" ({SCENARIOS[scenario.name].description.split(':')[0]})"
        )
    sizes, pair = batch_axis(config)
    if sizes and pair and models:
        lines.append(
            f"  batch size: {', '.join(map(str, sizes))} items (and {BATCH_SIZE}, above) on {models[0]}, "
            f"{' and '.join(pair)}"
        )
    total = estimate_s(config, slices) + in_process
    minutes, seconds = divmod(round(total), 60)
    lines.append(
        f"  {len(slices)} slices of {config.warmup_s} s warm-up + {config.duration_s} s measured, "
        f"{server_starts(s.server for s in slices)} server starts: about {minutes} min {seconds:02d} s"
    )
    return "\n".join(lines)
