"""The crossover (make bench PROFILE=crossover): how much of the framework's difference survives as the
model gets dearer. Pure: recorded slices and the models' cards in, figures out.

- One entry per model, scenario (and batch size), comparison and metric: the pair ratios of requests/s and
  of CPU per request (results/pairs.py, the same medians and intervals), and under `mixed` each variant's
  /health p99 (the median of its slices' p99s, with the same kind of interval);
- `model_cpu_us`: the model's CPU for the scenario's rows, from its card (make model times it in-process:
  1 row and 100 rows; other batch sizes interpolated linearly between them, beyond 100 extrapolated);
- N: the smallest model cost from which every comparison's requests/s ratio interval, on predict and on
  batch, lies within [0.95, 1.05] (docs/bench/method.md, "The crossover").
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.slices import CAPACITY_PHASE, LOCUST
from loadtests.bench.results.pairs import COMPARISONS, MIN_PAIRS, Comparison, median_interval, pair_ratios
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import disturbances, failed
from loadtests.scenarios import BATCH_SIZE, HEALTH, PREDICT

KNOWN = {c.name: c for c in COMPARISONS}
# FastAPI's forms against Flask's default, and the framework alone under one server.
CROSSOVER_COMPARISONS: tuple[Comparison, ...] = (
    KNOWN["default"],
    KNOWN["async-def-form"],
    KNOWN["same-server"],
)
METRIC_NAMES = {"rps": "rps_ratio", "cpu_us_per_request": "cpu_per_request_ratio"}
HEALTH_P99 = "health_p99_ms"
PREDICT_P99 = "predict_p99_ms"  # under mixed: one penguin's answer while batches run beside it
WITHIN = 0.05  # the crossover: the framework changes throughput by less than this
THROUGHPUT_SCENARIOS = ("predict", "batch")


def rows_of(scenario: str, batch_size: int | None) -> int:
    """The rows one request's model call predicts: a batch's items, else one (mixed: mostly single rows)."""
    return (batch_size or BATCH_SIZE) if scenario == "batch" else 1


def model_cpu_us(card: Mapping[str, Any], rows: int) -> float | None:
    """The model's CPU per call for `rows` rows, from its card's two timings, linear in the rows."""
    cost = card.get("cost") or {}
    one, hundred = cost.get("cpu_us_1_row"), cost.get("cpu_us_100_rows")
    if one is None or hundred is None:
        return None
    return float(one + (hundred - one) * (rows - 1) / 99)


def in_process_cost(timed: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """A model's cost in its card's shape, from the run's in-process timing of it (inprocess/microbench.py)."""
    return {
        "cpu_us_1_row": timed["predict_one"]["cpu_us"],
        "cpu_us_100_rows": timed[f"predict_many_{BATCH_SIZE}"]["cpu_us"],
        "source": "this run: in-process on the servers' CPU, the median of its repeats",
    }


def cards_as_timed(
    cards: Mapping[str, Mapping[str, Any]], timed: Mapping[str, Mapping[str, Mapping[str, float]]]
) -> dict[str, dict[str, Any]]:
    """The models' cards, each cost make model wrote (on whatever the machine was doing then) replaced by
    the run's in-process timing of that model, where the run has one; the card's kept beside it."""
    out = {}
    for name, card in cards.items():
        out[name] = dict(card)
        if name in timed:
            out[name]["cost_from_card"] = card.get("cost_from_card", card.get("cost"))
            out[name]["cost"] = in_process_cost(timed[name])
    return out


def headline_measurements(measurements: Sequence[Measurement]) -> list[Measurement]:
    """What the other sections read: a crossover run's first (cheapest, the default) model at the scenario's
    own batch size, as if it were a run of that model alone; any other run's slices as they are."""
    models = list(dict.fromkeys(m.model for m in measurements if m.model and m.phase == CAPACITY_PHASE))
    if not models:
        return list(measurements)
    return [m for m in measurements if m.model == models[0] and m.batch_size is None]


def health_p99(group: Sequence[Measurement], key: str, name: str = HEALTH) -> dict[str, Any]:
    """A variant's p99 for one kind of request (/health, or `name`) under the mixed load: the median of its
    clean slices' p99s, its interval."""
    kept = [m for m in group if m.key == key and not failed(m) and not disturbances(m)]
    values = [p99 for m in kept if (p99 := m.p99_by_name_ms.get(name)) is not None]
    return {
        **median_interval(values),
        "pairs": len(values),
        "samples": sum(m.by_name.get(name, 0) for m in kept),
    }


def crossover_entries(
    measurements: Sequence[Measurement], cards: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for model in dict.fromkeys(m.model for m in measurements if m.model):
        own = [m for m in measurements if m.model == model]
        for scenario, size in dict.fromkeys((m.scenario, m.batch_size) for m in own):
            group = [m for m in own if (m.scenario, m.batch_size) == (scenario, size)]
            base = {
                "model": model,
                "model_cpu_us": model_cpu_us(cards.get(model, {}), rows_of(scenario, size)),
                "scenario": scenario,
                "batch_size": rows_of(scenario, size) if scenario == "batch" else None,
            }
            keys = {m.key for m in group}
            for comparison in CROSSOVER_COMPARISONS:
                if not {comparison.numerator, comparison.denominator} <= keys:
                    continue
                for ratio in pair_ratios(group, scenario, comparison, LOCUST):
                    entries.append(
                        {
                            **base,
                            "comparison": comparison.name,
                            "metric": METRIC_NAMES[ratio["metric"]],
                            **{k: ratio[k] for k in ("ratio", "low", "high", "pairs", "precision", "precise")},
                            "numerator": comparison.numerator,
                            "denominator": comparison.denominator,
                        }
                    )
            if scenario == "mixed":
                for key in sorted(keys):
                    entries.append({**base, "comparison": key, "metric": HEALTH_P99, **health_p99(group, key)})
                    predict = health_p99(group, key, PREDICT)
                    entries.append({**base, "comparison": key, "metric": PREDICT_P99, **predict})
    return entries


def within(entry: Mapping[str, Any], margin: float = WITHIN) -> bool:
    """Whether a ratio's interval, from enough pairs, lies inside [1 - margin, 1 + margin]."""
    low, high = entry.get("low"), entry.get("high")
    return (
        entry.get("pairs", 0) >= MIN_PAIRS
        and low is not None
        and high is not None
        and 1 - margin <= low
        and high <= 1 + margin
    )


def model_axis(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The requests/s ratios the crossover reads: predict and batch at its own size, with a model cost."""
    return [
        e
        for e in entries
        if e["metric"] == "rps_ratio"
        and e["scenario"] in THROUGHPUT_SCENARIOS
        and e["batch_size"] in {None, BATCH_SIZE}
        and e["model_cpu_us"] is not None
    ]


def crossover_n_us(entries: Sequence[Mapping[str, Any]], margin: float = WITHIN) -> float | None:
    """N: the smallest model cost (µs of CPU per request) such that every requests/s ratio at that cost or
    above, of every comparison measured, has an interval within [1 - margin, 1 + margin] from at least
    MIN_PAIRS pairs, and every comparison has at least one; None when no cost measured qualifies."""
    axis = model_axis(entries)
    comparisons = {e["comparison"] for e in axis}
    for cost in sorted({e["model_cpu_us"] for e in axis}):
        above = [e for e in axis if e["model_cpu_us"] >= cost]
        if {e["comparison"] for e in above} == comparisons and all(within(e, margin) for e in above):
            return float(cost)
    return None


def n_by_comparison(entries: Sequence[Mapping[str, Any]], margin: float = WITHIN) -> list[dict[str, Any]]:
    """Per comparison and scenario, its own N: the smallest model cost from which its requests/s ratio stays
    within the band for that model and every dearer one (None: at no cost measured), and the dearest
    model's entry (what keeps it from one)."""
    axis = model_axis(entries)
    out = []
    for comparison, scenario in dict.fromkeys((e["comparison"], e["scenario"]) for e in axis):
        own = sorted(
            (e for e in axis if (e["comparison"], e["scenario"]) == (comparison, scenario)),
            key=lambda e: e["model_cpu_us"],
        )
        n = next(
            (e["model_cpu_us"] for i, e in enumerate(own) if all(within(later, margin) for later in own[i:])),
            None,
        )
        out.append(
            {
                "comparison": comparison,
                "scenario": scenario,
                "n_us": n,
                "ratios": [(e["model"], e["model_cpu_us"], e["ratio"]) for e in own],
            }
        )
    return out


def crossover_fields(
    measurements: Sequence[Measurement], cards: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """summary.json's `crossover` (the entries) and `crossover_n_us` (N, or None); nothing for a run of one
    model, whose summary stays as it was."""
    if not any(m.model for m in measurements if m.phase == CAPACITY_PHASE):  # the worker sweep's are not
        return {}
    entries = crossover_entries(measurements, cards)
    return {
        "crossover": entries,
        "crossover_n_us": crossover_n_us(entries),
        "crossover_n_by": n_by_comparison(entries),
    }
