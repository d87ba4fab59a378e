"""Whether a slice can be trusted: pure functions of its raw record, rerunnable on an old results folder.

A slice has problems (it failed, did not keep up with its offered rate, or its generator was the limit), or
the machine disturbed it (CPU stolen by the host, CPU taken by other processes on the server's or the
generator's CPUs, or an uneven throughput second to second, past documented limits). Disturbed and failed
slices are left out of the pairs (results/pairs.py); the report says how many and why.
"""

import statistics
from collections.abc import Iterable, Sequence

from loadtests.bench.plan.slices import CAPACITY, FIXED, LOCUST, WRK
from loadtests.bench.results.records import Measurement

GENERATOR_LIMIT = 90.0  # % of one CPU: above this, Locust (or the upstream) may be what limits the slice
RATE_TOLERANCE = 0.95  # a slice that reaches less than this share of its offered rate does not keep up
STEAL_LIMIT = 10.0  # % of the server's CPU time stolen by the host in a slice: past it, its pairs are dropped
OTHERS_LIMIT = 10.0  # % of the server's (or the generator's) CPU time taken by other processes: likewise
UNEVEN_LIMIT = 0.25  # coefficient of variation of a capacity slice's answers per second: past it, dropped
# The servers' CPUs' speed (machine/speed.py) is recorded around every slice, never a reason to drop
# one: in three default runs on 2026-12-06 (72 capacity slices) a slice's probe did not predict its cost
# (correlation 0.20 with the slice's CPU per request relative to its variant's median; slices with a slow
# probe cost 1.007x, with a fast one 0.995x), and dropping on it left 0 to 3 predict pairs of 4 where the
# medians of all pairs agreed within 5% from run to run. Each report gives that correlation for its own run.


def median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def keeps_up(m: Measurement) -> bool:
    """Whether a slice at an offered rate reached it: at least RATE_TOLERANCE of it, allowing for the window's
    edges, where each user may have one answer more or less than its share (users / window)."""
    if m.error or not m.target_rate:
        return False
    edges = m.users / m.window_s if m.window_s else 0.0
    return m.rps >= RATE_TOLERANCE * m.target_rate - edges


def uneven(per_second: Sequence[int]) -> float | None:
    """The coefficient of variation of answers per second (None with fewer than two whole seconds)."""
    if len(per_second) < 2 or not any(per_second):
        return None
    return statistics.pstdev(per_second) / statistics.mean(per_second)


def problems(m: Measurement) -> list[str]:
    """Why a slice's figures cannot be trusted as they stand; empty when they can."""
    where = f"{m.phase} {m.kind} round {m.round}" + (" (wrk)" if m.generator == WRK else "")
    if m.error:
        return [f"{where}: run failed: {m.error.splitlines()[0]}"]
    found = []
    if m.generator_cpu_max >= GENERATOR_LIMIT:
        busiest = "its busiest process" if m.generator_processes > 1 else m.generator.capitalize()
        found.append(
            f"{where}: generator-bound, {busiest} reached {m.generator_cpu_max:.0f}% of its CPU "
            f"(limit {GENERATOR_LIMIT:.0f}%): the server's figure is a lower bound"
        )
    elif (
        m.generator_cpu_count
        and m.generator_side_cpu_max is not None
        and m.generator_side_cpu_max >= GENERATOR_LIMIT * m.generator_cpu_count
    ):
        found.append(
            f"{where}: generator-bound, the generator's {m.generator_cpu_count} CPU(s) were busy: Locust "
            f"({m.generator_processes} process(es)) and the upstream together reached "
            f"{m.generator_side_cpu_max:.0f}%: the server's figure is a lower bound"
        )
    if m.upstream_cpu_max is not None and m.upstream_cpu_max >= GENERATOR_LIMIT:
        found.append(
            f"{where}: upstream-bound, the upstream reached {m.upstream_cpu_max:.0f}% of its CPU "
            f"(limit {GENERATOR_LIMIT:.0f}%): the server's figure is a lower bound"
        )
    if m.failures:
        example = f": {m.failure_messages[0]}" if m.failure_messages else ""
        found.append(f"{where}: {m.failures} of {m.requests} requests failed{example}")
    if not m.requests:
        found.append(f"{where}: no request completed in the window")
    if m.kind == FIXED and m.target_rate and not keeps_up(m):
        found.append(f"{where}: reached {m.rps:.0f} of the {m.target_rate:g} requests/s offered")
    return found


def bounded(m: Measurement) -> bool:
    """True when the generator (or the upstream), not the server, may have limited the slice."""
    return any("-bound" in problem for problem in problems(m))


def failed(m: Measurement) -> bool:
    """Problems other than a busy generator: errors, failed requests, a rate not reached."""
    return any("-bound" not in problem for problem in problems(m))


def disturbances(m: Measurement) -> list[str]:
    """What the machine did to a slice that makes it unfit for a pair: CPU stolen by the host or taken by
    other processes, an uneven throughput."""
    where = f"{m.phase} round {m.round}" + (" (wrk)" if m.generator == WRK else "")
    found = []
    if m.steal_pct is not None and m.steal_pct > STEAL_LIMIT:
        found.append(
            f"{where}: the host stole {m.steal_pct:.0f}% of the server's CPU (limit {STEAL_LIMIT:g}%)"
        )
    for share, whose in ((m.others_pct, "server's"), (m.generator_others_pct, "generator's")):
        if share is not None and share > OTHERS_LIMIT:
            found.append(
                f"{where}: other processes took {share:.0f}% of the {whose} CPU (limit {OTHERS_LIMIT:g}%)"
            )
    cv = uneven(m.per_second)
    if m.kind == CAPACITY and cv is not None and cv > UNEVEN_LIMIT:
        found.append(
            f"{where}: answers per second varied by {cv:.0%} (coefficient of variation, limit "
            f"{UNEVEN_LIMIT:.0%}): {', '.join(map(str, m.per_second))}"
        )
    return found


def speed_moved(m: Measurement) -> float | None:
    """How much slower the probe ran at one end of the slice than at the other (0.2: 20%)."""
    if len(m.speed_probe_us) != 2 or min(m.speed_probe_us) <= 0:
        return None
    return max(m.speed_probe_us) / min(m.speed_probe_us) - 1


def probe_mean(m: Measurement) -> float | None:
    return statistics.fmean(m.speed_probe_us) if m.speed_probe_us else None


def speed_cost_correlation(measurements: Sequence[Measurement]) -> float | None:
    """How well the speed probe foretold a slice's cost in this run: the correlation between its mean
    around each Locust capacity slice and the slice's CPU per request over its variant's median in the
    scenario (1: a slow probe always meant a costly slice; near 0: it told nothing). None with too few."""
    groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for m in measurements:
        probe, cost = probe_mean(m), m.server_cpu_us_per_request
        if m.phase == "capacity" and m.generator == LOCUST and probe and cost:
            groups.setdefault((m.scenario, m.key), []).append((probe, cost))
    probes, costs = [], []
    for own in groups.values():
        typical = statistics.median(cost for _, cost in own)
        for probe, cost in own:
            probes.append(probe)
            costs.append(cost / typical)
    if len(probes) < 4 or len(set(probes)) < 2 or len(set(costs)) < 2:
        return None
    return statistics.correlation(probes, costs)


def failed_reasons(m: Measurement) -> list[str]:
    return [problem for problem in problems(m) if "-bound" not in problem]
