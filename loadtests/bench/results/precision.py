"""The precision rule's reading of a run so far: which of the comparisons the verdict leads with are not yet
within results/pairs.py's PRECISION of their figure, and which slices would refine them. Pure functions of
the recorded slices: the runner asks after each round (runner.py, Bench.refine).

Only the width of an interval decides, never where it lies: the rule cannot steer a figure towards a value,
only stop once the figure is known well enough (docs/bench/method.md, "The precision rule").
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy
from scipy.stats import t as student_t

from loadtests.bench.results.figures import crosschecks, lead_generator
from loadtests.bench.results.pairs import CONFIDENCE, MIN_PAIRS, PRECISION, all_ratios
from loadtests.bench.results.records import Measurement


@dataclass(frozen=True)
class Imprecise:
    """A lead comparison whose requests/s interval is not yet within PRECISION of its figure."""

    scenario: str
    comparison: str
    generator: str
    numerator: str
    denominator: str
    pairs: int
    precision: float | None  # how far its interval reaches, as a share of the figure; None: no interval yet


def imprecise(measurements: Sequence[Measurement], lead: Iterable[str], server_cpus: int = 1) -> list[Imprecise]:
    """The lead comparisons, on each scenario's lead generator, that more pairs could make precise: not a
    bound (a generator-limited side stays a bound however many pairs), not precise yet."""
    wanted = set(lead)
    ratios = all_ratios(measurements)
    checks = crosschecks(ratios, measurements, server_cpus)
    return [
        Imprecise(
            e["scenario"],
            e["comparison"],
            e["generator"],
            e["numerator"],
            e["denominator"],
            e["pairs"],
            e["precision"],
        )
        for e in ratios
        if e["metric"] == "rps"
        and e["comparison"] in wanted
        and e["generator"] == lead_generator(checks, e["scenario"])
        and not e["precise"]
        and not e["bound"]
    ]


def slices_wanted(found: Iterable[Imprecise]) -> set[tuple[str, str, str]]:
    """(scenario, variant, generator) of every slice a round needs to add one pair to each comparison."""
    return {
        (entry.scenario, key, entry.generator) for entry in found for key in (entry.numerator, entry.denominator)
    }


@dataclass(frozen=True)
class Simulated:
    """The precision rule on synthetic pairs whose true ratio is known (1.0): how often its final interval
    held it, how often it stopped precise rather than at the budget, and the pairs it used on average."""

    sigma: float  # the spread of one pair's log ratio (0.05: about ±5% per pair)
    heavy: bool  # Student's t with 3 degrees of freedom (outlying pairs) rather than normal
    coverage: float
    stopped_precise: float
    mean_pairs: float


def simulate(sigma: float, heavy: bool, max_pairs: int = 12, runs: int = 4000, seed: int = 2013) -> Simulated:
    """The rule as the runner applies it: MIN_PAIRS pairs, then one more at a time until the interval is
    within PRECISION or `max_pairs` (a budget) is reached; the interval is results/pairs.py's."""
    rng = numpy.random.default_rng(seed)
    if heavy:  # scaled to the same standard deviation as the normal case
        logs = rng.standard_t(3, (runs, max_pairs)) * sigma / math.sqrt(3)
    else:
        logs = rng.normal(0.0, sigma, (runs, max_pairs))
    done = numpy.zeros(runs, dtype=bool)
    covered = numpy.zeros(runs, dtype=bool)
    precise = numpy.zeros(runs, dtype=bool)
    used = numpy.full(runs, max_pairs)
    for n in range(MIN_PAIRS, max_pairs + 1):
        head = logs[:, :n]
        centre = head.mean(axis=1)
        half = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * head.std(axis=1, ddof=1) / math.sqrt(n)
        stop = ~done & ((numpy.expm1(half) <= PRECISION) | (n == max_pairs))
        covered[stop] = numpy.abs(centre[stop]) <= half[stop]
        precise[stop] = numpy.expm1(half[stop]) <= PRECISION
        used[stop] = n
        done |= stop
    return Simulated(sigma, heavy, float(covered.mean()), float(precise.mean()), float(used.mean()))


# The spreads the method page reports the rule's coverage for: from a quiet host to a noisy one.
SIMULATED_SIGMAS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.2)


def coverage_table(max_pairs: int = 12) -> list[Simulated]:
    return [simulate(sigma, heavy, max_pairs) for heavy in (False, True) for sigma in SIMULATED_SIGMAS]


def pairs_needed(entry: Imprecise) -> float:
    """About how many more pairs the comparison needs to be precise, from its spread so far (the interval
    narrows as the square root of the pairs); with no interval yet, what it takes to have one."""
    if entry.precision is None:
        return float(max(1, MIN_PAIRS - entry.pairs))
    return max(1.0, entry.pairs * (entry.precision / PRECISION) ** 2 - entry.pairs, MIN_PAIRS - entry.pairs)


def next_round(found: Sequence[Imprecise]) -> list[Imprecise]:
    """What the next round refines: the comparison nearest to precise (the fewest pairs still needed, so that
    a budget makes as many figures precise as it can), and any other that the same slices refine too."""
    first = min(found, key=pairs_needed)
    slices = slices_wanted([first])
    return [entry for entry in found if slices_wanted([entry]) <= slices]
