"""Pair ratios: each round of a comparison gives one ratio per metric (FastAPI over Flask, say), from two
slices run close together; the figure is their geometric mean with a Student-t interval, on the ratios'
logarithms. A pair with a disturbed or failed slice is left out (results/trust.py), and the report says how
many and why.

Why the geometric mean and not the median: a run adds pairs until a comparison's interval lies within
PRECISION of its figure (runner.py, the precision rule). An interval for the median from order statistics
is the lowest and highest ratio until nine pairs, so adding pairs could only widen it; the t interval
narrows as the square root of the pairs, as Kalibera and Jones's repetitions do ("Rigorous Benchmarking in
Reasonable Time", 2013). Ratios are multiplicative (1.25x one way is 0.80x the other), hence the logarithms.
Stopping when the interval is narrow enough makes it a little optimistic (Chow and Robbins, 1965): its
coverage under this rule, by simulation, is in docs/bench/method.md and tests/test_bench_precision.py.
"""

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import t as student_t

from loadtests.bench.plan.slices import CAPACITY, CAPACITY_PHASE, LOCUST, WRK
from loadtests.bench.plan.variants import collector_of
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import (
    bounded,
    disturbances,
    failed_reasons,
)

CONFIDENCE = 0.95
# A comparison is precise when its interval lies within this share of its figure, both ways, from at least
# MIN_PAIRS pairs: the rule runs pairs until it is, or until the run's budget is spent.
PRECISION = 0.05
MIN_PAIRS = 4


@dataclass(frozen=True)
class Comparison:
    name: str
    numerator: str  # a variant key: the ratio is numerator / denominator
    denominator: str
    question: str  # what the ratio answers, for the report


# The comparisons the report knows how to read; each is made when both of its variants were measured.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "default",
        "fastapi-uvicorn",
        "flask-gunicorn-sync",
        "the two defaults, each server facing the clients",
    ),
    # FastAPI's two forms for a model, each beside Flask's default: the verdict shows both.
    Comparison(
        "async-def-form",
        "fastapi-async-def",
        "flask-gunicorn-sync",
        "FastAPI's other form (`async def` prediction views, the model on the event loop) over Flask's default",
    ),
    Comparison("same-server", "fastapi-granian", "flask-granian", "the framework alone, under one server"),
    Comparison(
        "nginx",
        "fastapi-uvicorn-nginx",
        "flask-gunicorn-sync-nginx",
        "as deployed in production: the two defaults behind the same nginx",
    ),
    Comparison(
        "flask-nginx",
        "flask-gunicorn-sync-nginx",
        "flask-gunicorn-sync",
        "what nginx costs or saves Flask: gunicorn-sync behind nginx over direct",
    ),
    Comparison(
        "fastapi-nginx",
        "fastapi-uvicorn-nginx",
        "fastapi-uvicorn",
        "what nginx costs or saves FastAPI: uvicorn behind nginx over direct",
    ),
    Comparison(
        "flask-keep-alive",
        "flask-gunicorn-gthread",
        "flask-gunicorn-sync",
        "Flask's connection model: kept alive (gthread) over one connection per request (sync)",
    ),
    Comparison(
        "flask-server", "flask-granian", "flask-gunicorn-sync", "Flask's server: Granian over gunicorn"
    ),
    Comparison(
        "fastapi-server", "fastapi-granian", "fastapi-uvicorn", "FastAPI's server: Granian over uvicorn"
    ),
    Comparison(
        "async-def",
        "fastapi-async-def",
        "fastapi-uvicorn",
        "FastAPI's `async def` prediction views over `def` ones (the thread-pool hop)",
    ),
    # Flask at its best today (flask_openapi_service: pydantic and OpenAPI 3.1 through flask-openapi3): how much
    # of Flask's gap is the framework and how much the stack.
    Comparison(
        "fastapi-over-flask-openapi",
        "fastapi-uvicorn",
        "flask_openapi-gunicorn-sync",
        "the framework: FastAPI over Flask with the same validation (pydantic, through flask-openapi3), each "
        "under its default server",
    ),
    Comparison(
        "flask-openapi-over-flask",
        "flask_openapi-gunicorn-sync",
        "flask-gunicorn-sync",
        "the stack: Flask with pydantic and flask-openapi3 over Flask with flask-restx and marshmallow, both "
        "under gunicorn's sync worker",
    ),
    # The collector's tuning (GC_TUNING=1) on each of the verdict's three, and FastAPI/Flask with it on both.
    Comparison(
        "gc-flask",
        "flask-gunicorn-sync-gc-tuned",
        "flask-gunicorn-sync",
        "the collector tuned over the interpreter's: Flask (gunicorn-sync)",
    ),
    Comparison(
        "gc-fastapi",
        "fastapi-uvicorn-gc-tuned",
        "fastapi-uvicorn",
        "the collector tuned over the interpreter's: FastAPI (uvicorn, `def` views)",
    ),
    Comparison(
        "gc-async-def",
        "fastapi-async-def-gc-tuned",
        "fastapi-async-def",
        "the collector tuned over the interpreter's: FastAPI (`async def` views)",
    ),
    Comparison(
        "default-gc-tuned",
        "fastapi-uvicorn-gc-tuned",
        "flask-gunicorn-sync-gc-tuned",
        "the two defaults, both with the collector tuned",
    ),
    Comparison(
        "async-def-form-gc-tuned",
        "fastapi-async-def-gc-tuned",
        "flask-gunicorn-sync-gc-tuned",
        "FastAPI's `async def` form over Flask's default, both with the collector tuned",
    ),
)


def comparisons_for(keys: Sequence[str]) -> list[Comparison]:
    """The known comparisons among the measured variants; the first Flask and FastAPI ones measured are
    the headline ("default") when they are not the defaults (a compose deployment, VARIANTS=)."""
    present = set(keys)
    found = [c for c in COMPARISONS if {c.numerator, c.denominator} <= present]
    flask = next((key for key in keys if key.startswith("flask-")), None)
    fastapi = next((key for key in keys if key.startswith("fastapi-")), None)
    if flask and fastapi and not any(c.name == "default" for c in found):
        headline = Comparison("default", fastapi, flask, "the first FastAPI and Flask variants measured")
        found = [headline, *[c for c in found if (c.numerator, c.denominator) != (fastapi, flask)]]
    return found


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, float | None]:
    """The median and a distribution-free interval for it (order statistics: the k-th smallest and largest
    values, k as large as keeps the coverage at `confidence`; with fewer than six values the minimum and
    maximum, with the coverage they have). For figures that are not pair ratios, such as the rounds' p99s
    of the crossover's /health."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return {"median": None, "low": None, "high": None, "coverage": None}
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * binomial_below(k + 1, n) >= confidence:
        k += 1
    coverage = 1 - 2 * binomial_below(k, n) if n > 1 else 0.0
    return {
        "median": statistics.median(ordered),
        "low": ordered[k - 1],
        "high": ordered[n - k],
        "coverage": coverage,
    }


def binomial_below(k: int, n: int) -> float:
    """P(X < k) for X ~ Binomial(n, 1/2)."""
    return float(sum(math.comb(n, i) for i in range(k)) / 2**n)


def ratio_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> dict[str, float | None]:
    """The geometric mean of pair ratios and a Student-t interval for it, computed on their logarithms;
    `precision`: how far the interval reaches from the figure, as a share of it (its wider side, the high
    one). One ratio has a figure and no interval."""
    if not values:
        return {"ratio": None, "low": None, "high": None, "precision": None}
    logs = [math.log(value) for value in values]
    centre = statistics.fmean(logs)
    if len(logs) < 2:
        return {"ratio": math.exp(centre), "low": None, "high": None, "precision": None}
    half = float(student_t.ppf(0.5 + confidence / 2, len(logs) - 1)) * statistics.stdev(logs)
    half /= math.sqrt(len(logs))
    return {
        "ratio": math.exp(centre),
        "low": math.exp(centre - half),
        "high": math.exp(centre + half),
        "precision": math.expm1(half),
    }


def precise(interval: Mapping[str, Any], pairs: int) -> bool:
    """The precision rule's test: at least MIN_PAIRS pairs and the interval within PRECISION of the figure."""
    found = interval.get("precision")
    return pairs >= MIN_PAIRS and found is not None and found <= PRECISION + 1e-12


METRICS = {"rps": "rps", "cpu_us_per_request": "server_cpu_us_per_request"}


def pair_ratios(
    measurements: Sequence[Measurement],
    scenario: str,
    comparison: Comparison,
    generator: str,
    phase: str = CAPACITY_PHASE,
) -> list[dict[str, Any]]:
    """One entry per metric: the rounds' ratios' figure, its interval, and the pairs left out (of one phase's
    closed-loop slices: the capacity rounds', or the worker sweep's)."""
    capacity = [
        m
        for m in measurements
        if m.scenario == scenario and m.phase == phase and m.kind == CAPACITY and m.generator == generator
    ]
    by_round: dict[int, dict[str, Measurement]] = {}
    for m in capacity:
        by_round.setdefault(m.round, {})[m.key] = m
    entries = []
    for metric, field in METRICS.items():
        kept: list[float] = []
        kept_out: list[float] = []  # the ratios of dropped pairs that had figures: shown, never used
        dropped: list[str] = []
        left_out = 0
        bounds: set[str] = set()
        for index, pair in sorted(by_round.items()):
            top, bottom = pair.get(comparison.numerator), pair.get(comparison.denominator)
            if top is None or bottom is None:
                missing = comparison.numerator if top is None else comparison.denominator
                if any(missing in other for other in by_round.values()):
                    continue  # a round the precision rule ran for another comparison: not a pair, no loss
                dropped.append(f"round {index}: {missing} was not measured (it did not start, or failed)")
                left_out += 1
                continue
            reasons = [f"round {index}: {comparison.numerator}: {r}" for r in failed_reasons(top)]
            reasons += [f"round {index}: {comparison.denominator}: {r}" for r in failed_reasons(bottom)]
            reasons += [f"{comparison.numerator}: {r}" for r in disturbances(top)]
            reasons += [f"{comparison.denominator}: {r}" for r in disturbances(bottom)]
            a, b = getattr(top, field), getattr(bottom, field)
            if metric == "rps" and bounded(top) and bounded(bottom):
                reasons.append(f"round {index}: both slices generator-bound: no ratio")
            if reasons or not a or not b:
                dropped += reasons or [f"round {index}: no figure"]
                left_out += 1  # one pair, however many reasons
                if a and b:
                    kept_out.append(a / b)
                continue
            if metric == "rps":
                bounds |= {"≥"} if bounded(top) else set()
                bounds |= {"≤"} if bounded(bottom) else set()
            kept.append(a / b)
        interval = ratio_interval(kept)
        entries.append(
            {
                "scenario": scenario,
                "metric": metric,
                **interval,
                "confidence": CONFIDENCE,
                "pairs": len(kept),
                "dropped": left_out,
                "dropped_reasons": dropped,
                "values": kept,
                "dropped_values": kept_out,
                "bound": "" if len(bounds) != 1 else bounds.pop(),
                "precise": precise(interval, len(kept)) and len(bounds) <= 1,
                "comparison": comparison.name,
                "numerator": comparison.numerator,
                "denominator": comparison.denominator,
                # Which collector each side served with (plan/variants.py): "interpreter" or "tuned".
                "collector": {
                    "numerator": collector_of(comparison.numerator),
                    "denominator": collector_of(comparison.denominator),
                },
                "question": comparison.question,
                "generator": generator,
            }
        )
    return entries


def all_ratios(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    entries = []
    for scenario in dict.fromkeys(m.scenario for m in measurements):
        own = [m for m in measurements if m.scenario == scenario and m.phase == "capacity"]
        for generator in (LOCUST, WRK):
            keys = list(dict.fromkeys(m.key for m in own if m.generator == generator))
            for comparison in comparisons_for(keys):
                entries += pair_ratios(own, scenario, comparison, generator)
    return entries
