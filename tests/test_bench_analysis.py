"""The bench's analysis on synthetic and recorded slices: latency free of coordinated omission, pair ratios
and their intervals, dropping what the host disturbed, the curve, the objective, the cross-check, and what
summary.json and report.md make of them. No server starts here.

The figures come from `make bench` runs on the project's 2-core machine, unless a test says it made them up.
"""

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.plan.slices import CAPACITY, FIXED, LOCUST, WRK
from loadtests.bench.render.appendix import machine_section
from loadtests.bench.render.charts import write_charts
from loadtests.bench.render.output import rewrite_report, write_results
from loadtests.bench.render.reading import percentile_text, ratio_text
from loadtests.bench.render.report import render_report
from loadtests.bench.render.verdict import verdict
from loadtests.bench.results.figures import capacity_at_slo, curve_points
from loadtests.bench.results.pairs import all_ratios, comparisons_for, median_interval, pair_ratios
from loadtests.bench.results.records import Measurement, save_measurements
from loadtests.bench.results.summary import build_summary
from loadtests.bench.results.trust import (
    OTHERS_LIMIT,
    STEAL_LIMIT,
    disturbances,
    problems,
    speed_cost_correlation,
    uneven,
)
from loadtests.recorder import LatencyRecorder, Schedule, full_seconds, merge_parts, part_path, rests_on_tail
from loadtests.scenarios import PREDICT

# A penguin prediction takes 1 ms; one user at 100 requests/s.
SERVICE_S, INTERVAL_S = 0.001, 0.01


def simulate(stall_at: float, stall_s: float, seconds: float = 5.0) -> LatencyRecorder:
    """One user on a fixed schedule against a server that answers in 1 ms, but is frozen from `stall_at` for
    `stall_s`: what is in flight or sent meanwhile is answered when it thaws."""
    recorder = LatencyRecorder()
    recorder.start(0.0, INTERVAL_S)
    schedule = Schedule(INTERVAL_S, 0.0)
    now = 0.0
    while schedule.due < seconds:
        now += schedule.wait(now)  # sent when due, or at once when late
        sent = now
        done = sent + SERVICE_S
        if stall_at <= sent < stall_at + stall_s or sent < stall_at < done:
            done = stall_at + stall_s + SERVICE_S
        now = done
        recorder.record(PREDICT, (done - sent) * 1000, False, done)
        recorder.record_from_due(schedule.answered(done))
    recorder.stop(now)
    return recorder


def test_a_stall_at_a_fixed_rate_shows_in_the_corrected_p99_only() -> None:
    """A 500 ms stall: the one request caught in it took 500 ms, so the closed loop's p99 stays at 1 ms; the
    50 requests that were due during it waited too, and the p99 timed from when they were due shows it."""
    stalled = simulate(stall_at=2.0, stall_s=0.5).result()
    calm = simulate(stall_at=99.0, stall_s=0.0).result()
    assert calm["corrected_percentiles_ms"]["99"] == pytest.approx(1.0, abs=0.01)
    assert stalled["percentiles_ms"]["99"] == pytest.approx(1.0, abs=0.01)  # coordinated omission
    # The corrected p99 is the stall's, less the few intervals by which the last due requests beat it.
    assert stalled["corrected_percentiles_ms"]["99"] >= 0.9 * 500
    assert stalled["max_ms"] == pytest.approx(501, abs=1)  # the stall and the 1 ms answer
    assert stalled["requests"] == calm["requests"] >= 500  # the user caught up: every due request was sent


def test_the_recorder_keeps_only_the_window_and_counts_each_second() -> None:
    recorder = LatencyRecorder()
    recorder.record(PREDICT, 99.0, False, 99.5)  # warm-up: not recorded
    recorder.start(100.0)
    for at, ms in ((100.2, 0.412), (100.7, 0.47), (101.1, 1.9)):
        recorder.record(PREDICT, ms, at == 101.1, at)
    recorder.stop(102.0)
    recorder.record(PREDICT, 99.0, False, 102.5)
    result = recorder.result()
    assert (result["requests"], result["failures"], result["by_name"]) == (3, 1, {PREDICT: 3})
    assert result["percentiles_ms"]["50"] == pytest.approx(0.47, abs=0.001)  # three digits, not Locust's two
    assert result["max_ms"] == pytest.approx(1.9, abs=0.002)
    assert result["corrected_percentiles_ms"] is None  # a closed loop has no schedule
    assert full_seconds(result["per_second"], 100.0, 102.0) == [2, 1]


def test_worker_parts_are_pooled_into_one_window(tmp_path: Path) -> None:
    window = tmp_path / "window.json"
    for pid, (start, samples, failures) in {
        11: (100.0, [1.0, 3.0], 0),
        12: (100.2, [2.0, 4.0, 9.0], 1),
    }.items():
        recorder = LatencyRecorder()
        recorder.start(start, 0.05)
        for i, sample in enumerate(samples):
            recorder.record(PREDICT, sample, False, start + i)
            recorder.record_from_due(sample * 2)
        recorder.failures = failures
        recorder.stop(start + 5)
        recorder.write(part_path(window, pid))
    assert merge_parts(window) == 2 and not list(tmp_path.glob("window.worker-*"))
    pooled = json.loads(window.read_text())
    assert (pooled["requests"], pooled["failures"], pooled["processes"]) == (5, 1, 2)
    assert (pooled["window_start"], pooled["window_end"]) == (100.0, 105.2)
    assert pooled["percentiles_ms"]["50"] == pytest.approx(3.0, rel=1e-3)
    assert pooled["corrected_percentiles_ms"]["50"] == pytest.approx(6.0, rel=1e-3)
    assert pooled["per_second"] == {"100": 2, "101": 2, "102": 1}
    assert merge_parts(tmp_path / "none.json") == 0  # a single process wrote its own file


def test_a_percentile_resting_on_the_last_few_samples_says_so() -> None:
    assert rests_on_tail(99, 696) and not rests_on_tail(99, 1500) and rests_on_tail(99.9, 5000)
    assert percentile_text(41.234, 99, 696) == "≈ max 41.2 (n=696)"
    assert percentile_text(4.1, 99, 12_000) == "4.10 (n=12,000)"


def test_the_median_interval_is_an_order_statistic_with_its_coverage() -> None:
    four: dict[str, Any] = median_interval([1.6, 1.5, 1.62, 1.48])
    assert (four["median"], four["low"], four["high"]) == (pytest.approx(1.55), 1.48, 1.62)
    assert four["coverage"] == pytest.approx(0.875)  # min to max of four: 1 - 2 / 2**4
    nine: dict[str, Any] = median_interval([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 9.9])
    assert (nine["low"], nine["high"]) == (1.1, 1.7)  # an outlier moves neither end
    assert nine["coverage"] >= 0.95
    assert median_interval([])["median"] is None


def capacity(
    key: str, rps: float, cpu_us: float, round_: int, generator: str = LOCUST, **changes: Any
) -> Measurement:
    """A capacity slice over a 3 s window, as the runner records it."""
    framework, _, variant = key.partition("-")
    window = 3.0
    requests = round(rps * window)
    base = Measurement(
        framework=framework,
        variant=variant,
        scenario="predict",
        kind=CAPACITY,
        round=round_,
        users=32,
        target_rate=None,
        requests=requests,
        failures=0,
        rps=rps,
        window_s=window,
        latency_ms={"50": 30.0, "90": 35.0, "95": 38.0, "99": 45.0, "99.9": 60.0},
        mean_ms=31.0,
        max_ms=70.0,
        by_name={PREDICT: requests},
        server_cpu_s=cpu_us * requests / 1e6,
        server_cpu_percent=98.0,
        generator_cpu_max=42.0 if generator == LOCUST else 5.0,
        generator_cpu_mean=40.0,
        run_dir=f"runs/{round_:03d}-{key}-{generator}",
        command="python -m locust ...",
        exit_code=0,
        generator=generator,
        per_second=[round(rps)] * 3,
        steal_pct=0.4,
        generator_steal_pct=0.6,
        rss_mib=150.0,
        uss_mib=120.0,
        rss_end_mib=151.0,
        uss_end_mib=121.0,
        tree_rss_mib=210.0,
        startup_s=1.6,
    )
    return replace(base, **changes)


def rounds(flask: list[float], fastapi: list[float], generator: str = LOCUST) -> list[Measurement]:
    """Capacity pairs in alternating order, requests/s as given, CPU per request as measured (µs)."""
    slices = []
    for index, (a, b) in enumerate(zip(flask, fastapi, strict=True), start=1):
        pair = [
            capacity("flask-gunicorn-sync", a, 1_100.0, index, generator),
            capacity("fastapi-uvicorn", b, 700.0, index, generator),
        ]
        slices += pair if index % 2 else pair[::-1]
    return slices


PAIRS = rounds([881, 812, 799, 786], [1254, 1298, 1196, 1288])
# Made up: four pairs whose ratios lie within 1% of each other.
TIGHT = rounds([800, 810, 805, 795], [1200, 1212, 1210, 1195])


def default_rps(entries: list[dict[str, Any]], generator: str = LOCUST) -> dict[str, Any]:
    [entry] = [
        e for e in entries if (e["comparison"], e["metric"], e["generator"]) == ("default", "rps", generator)
    ]
    return entry


def test_each_round_is_a_pair_and_the_figure_is_their_geometric_mean() -> None:
    entry = default_rps(all_ratios(PAIRS))
    values = [1254 / 881, 1298 / 812, 1196 / 799, 1288 / 786]
    assert entry["values"] == pytest.approx(values)
    assert entry["ratio"] == pytest.approx(statistics.geometric_mean(values))
    # The 95% Student-t interval on the logarithms: 3 degrees of freedom, t = 3.182.
    logs = [math.log(v) for v in values]
    half = 3.1824 * statistics.stdev(logs) / 2
    assert (entry["low"], entry["high"]) == pytest.approx(
        (entry["ratio"] * math.exp(-half), entry["ratio"] * math.exp(half)), rel=1e-4
    )
    assert entry["precision"] == pytest.approx(math.expm1(half), rel=1e-4)
    # Four pairs spread by ±7%: about ±10%, wider than the precision rule's ±5%; four within 1%: precise.
    assert (entry["pairs"], entry["dropped"], entry["precise"]) == (4, 0, False)
    assert default_rps(all_ratios(TIGHT))["precise"] and default_rps(all_ratios(TIGHT))["precision"] < 0.02
    assert (entry["numerator"], entry["denominator"]) == ("fastapi-uvicorn", "flask-gunicorn-sync")
    assert entry["collector"] == {"numerator": "interpreter", "denominator": "interpreter"}
    [cpu] = [e for e in all_ratios(PAIRS) if e["metric"] == "cpu_us_per_request"]
    assert cpu["ratio"] == pytest.approx(700 / 1100)
    assert cpu["precision"] == pytest.approx(0.0, abs=1e-9)  # the same cost in every pair


def test_a_pair_the_host_disturbed_is_dropped_and_said_so() -> None:
    stolen = replace(PAIRS[3], steal_pct=STEAL_LIMIT + 8)  # round 2's Flask slice
    stalled = replace(PAIRS[5], per_second=[1300, 1250, 380])  # round 3's: a second of its window stalled
    assert disturbances(stolen) and disturbances(stalled) and not disturbances(PAIRS[0])
    entry = default_rps(all_ratios([*PAIRS[:3], stolen, PAIRS[4], stalled, *PAIRS[6:]]))
    assert (entry["pairs"], entry["dropped"]) == (2, 2)
    assert any("stole 18%" in reason for reason in entry["dropped_reasons"])
    assert any("varied by" in reason for reason in entry["dropped_reasons"])
    assert not entry["precise"]  # two pairs are fewer than the rule's four
    assert uneven([1300, 1250, 380]) == pytest.approx(0.43, abs=0.01)
    # Another job on this machine, on the generator's CPUs or the server's: disturbed too.
    crowded = replace(PAIRS[0], generator_others_pct=OTHERS_LIMIT + 30)
    assert "other processes took 40% of the generator's CPU" in disturbances(crowded)[0]
    assert disturbances(replace(PAIRS[0], others_pct=OTHERS_LIMIT + 1))
    assert default_rps(all_ratios([crowded, *PAIRS[1:]]))["dropped"] == 1


def test_a_round_that_measured_one_side_by_design_is_no_pair_and_no_loss() -> None:
    """The precision rule's rounds run just the two variants of one comparison: for another comparison that
    shares one of them, the round is no pair, and nothing was lost. A variant never measured did fail."""
    refine = capacity("fastapi-uvicorn", 1250, 700.0, 5)  # round 5 refined FastAPI's forms: no Flask slice
    entry = default_rps(all_ratios([*PAIRS, refine]))
    assert (entry["pairs"], entry["dropped"], entry["dropped_reasons"]) == (4, 0, [])
    (default,) = [
        c for c in comparisons_for(["flask-gunicorn-sync", "fastapi-uvicorn"]) if c.name == "default"
    ]
    alone = [m for m in PAIRS if m.key == "fastapi-uvicorn"]  # Flask never started
    entry = pair_ratios(alone, "predict", default, LOCUST)[0]
    assert (entry["pairs"], entry["dropped"]) == (0, 4)
    assert "flask-gunicorn-sync was not measured" in entry["dropped_reasons"][0]


def test_the_speed_probe_is_recorded_and_read_but_drops_nothing() -> None:
    """Recorded here: the same probe took 860 µs in one stretch, 1,450 in the next, with no steal, yet the
    slices' cost did not follow it; a probe that moved is reported, and the pair kept."""
    steady = [replace(m, speed_probe_us=[850.0, 870.0]) for m in PAIRS]
    moved = replace(steady[0], speed_probe_us=[850.0, 1_450.0])  # round 1's Flask slice: slower after
    assert not disturbances(moved)
    entry = default_rps(all_ratios([moved, *steady[1:]]))
    assert (entry["pairs"], entry["dropped"]) == (4, 0)
    # A probe that foretells the cost correlates with it; one that does not, does not.
    foretold = [
        replace(m, speed_probe_us=[900.0 * (1 + i % 2)] * 2, server_cpu_s=m.server_cpu_s * (1 + i % 2))
        for i, m in enumerate(PAIRS)
    ]
    assert speed_cost_correlation(foretold) == pytest.approx(1.0, abs=0.01)
    unrelated = [replace(m, speed_probe_us=[900.0 * (1 + i % 2)] * 2) for i, m in enumerate(PAIRS)]
    assert abs(speed_cost_correlation(unrelated) or 0) < 0.5
    assert speed_cost_correlation(PAIRS) is None  # no probe recorded
    summary = summary_of([moved, *steady[1:]])
    assert "It is recorded, not used to drop a slice" in "\n".join(machine_section(summary))
    assert summary["noise"]["speed_moved_pct_max"] == pytest.approx(100 * (1450 / 850 - 1))


def test_pairs_that_disagree_widely_are_named_with_how_far_they_reach() -> None:
    """Run 3 of 2026-12-05: four clean pairs from 1.15x to 2.10x; the verdict names the figure, with its
    interval and how far it reaches, instead of marking everything."""
    wide = rounds([503, 509, 550, 690], [653, 1_070, 634, 1_450])
    entry = default_rps(all_ratios(wide))
    assert (entry["pairs"], entry["dropped"], entry["precise"]) == (4, 0, False)
    assert entry["precision"] > 0.5
    lines = verdict(summary_of(wide))
    [named] = [line for line in lines if line.startswith("**Not within ±5%**")]
    shown = f"{entry['ratio']:.2f}x [{entry['low']:.2f}-{entry['high']:.2f}] from 4 pairs"
    shown += f" (±{entry['precision']:.1%})"
    assert f"predict FastAPI (uvicorn) / Flask (gunicorn-sync) {shown}" in named
    assert "the run had no budget for more pairs" in named and "None of the figures above" in named
    tight = verdict(summary_of(TIGHT))
    assert any(line.startswith("**Precise**: each figure above is known to within ±5%") for line in tight)
    assert not any("Not within" in line for line in tight)


def test_a_generator_bound_side_makes_the_ratio_a_bound() -> None:
    busy = [replace(m, generator_cpu_max=97.0) if m.framework == "fastapi" else m for m in PAIRS]
    entry = default_rps(all_ratios(busy))
    assert entry["bound"] == "≥" and entry["pairs"] == 4
    assert ratio_text(entry).startswith("≥ 1.")
    assert any("generator-bound" in p for p in problems(busy[1]))


def test_the_known_comparisons_are_made_when_both_sides_ran() -> None:
    names = [c.name for c in comparisons_for(["flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-granian"])]
    assert names == ["default", "fastapi-server"]
    four = ["flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-granian", "flask-granian"]
    assert [c.name for c in comparisons_for(four)] == [
        "default",
        "same-server",
        "flask-server",
        "fastapi-server",
    ]
    # A compose deployment of Flask under gthread: the headline is what was deployed.
    [headline] = comparisons_for(["flask-gunicorn-gthread", "fastapi-uvicorn"])
    assert (headline.name, headline.denominator) == ("default", "flask-gunicorn-gthread")


def point(key: str, offered: float, achieved: float, p99: float, samples: int = 2000) -> Measurement:
    return replace(
        capacity(key, achieved, 1000.0, 1),
        phase="curve",
        kind=FIXED,
        target_rate=offered,
        corrected_latency_ms={"50": p99 / 4, "99": p99},
        requests=samples,
        rps=achieved,
    )


CURVE = [
    point("flask-gunicorn-sync", 250, 249, 9.4),
    point("fastapi-uvicorn", 250, 250, 4.8),
    point("fastapi-uvicorn", 560, 558, 61.0),
    point("flask-gunicorn-sync", 560, 556, 31.0),
    point("flask-gunicorn-sync", 880, 720, 2400.0),  # falls behind: its curve ends here
    point("fastapi-uvicorn", 880, 879, 93.5),
    point("fastapi-uvicorn", 1400, 1290, 1900.0),
]


def test_the_curve_ends_where_a_service_falls_behind_and_the_objective_is_read_off_it() -> None:
    points = curve_points(CURVE)
    flask = [p for p in points if p["framework"] == "flask"]
    assert [p["offered_rps"] for p in flask] == [250, 560, 880]
    assert [p["keeps_up"] for p in flask] == [True, True, False]
    assert all(p["corrected"] for p in points) and points[0]["samples"] == 2000
    slo = capacity_at_slo(points, 50.0)
    # FastAPI met it at 250 (p99 4.8 ms) and not at 560 (61 ms): the crossing on log(p99) between them.
    crossing = 250 + (math.log(50) - math.log(4.8)) / (math.log(61.0) - math.log(4.8)) * (560 - 250)
    assert slo["fastapi-uvicorn/predict"] == pytest.approx(crossing) and 530 < crossing < 540
    # Flask met it at 560 and fell behind at 880: the rate it met, nothing read past a curve's end.
    assert slo["flask-gunicorn-sync/predict"] == 560
    # the answers behind each deciding p99: 2,000, well past the 1,000 that keep it off the maximum
    assert slo["answers"] == {"fastapi-uvicorn/predict": 2000, "flask-gunicorn-sync/predict": 2000}
    assert slo["bounded"] == []
    assert capacity_at_slo(points, 100.0)["fastapi-uvicorn/predict"] == 880
    # Met at every rate a curve has: its highest, a lower bound, and said to be one.
    lenient = capacity_at_slo([p for p in points if p["offered_rps"] < 880], 100.0)
    assert lenient["fastapi-uvicorn/predict"] == lenient["flask-gunicorn-sync/predict"] == 560
    assert lenient["bounded"] == ["fastapi-uvicorn/predict", "flask-gunicorn-sync/predict"]
    # No rate meets it: None, and the answers are the lowest rate's.
    assert capacity_at_slo(points, 1.0)["flask-gunicorn-sync/predict"] is None


CROSSCHECKED = PAIRS + rounds([990, 950, 978, 940], [1425, 1380, 1410, 1399], WRK)


def summary_of(
    measurements: list[Measurement], split: Sequence[Mapping[str, Any]] = (), **settings: Any
) -> dict[str, Any]:
    environment = {
        "cpu_model": "Intel(R) Xeon(R) Processor",
        "cores": 2,
        "memory_gib": 23.4,
        "os": "Linux-6.18-x86_64",
        "python": "CPython 3.11.7",
        "packages": {"flask": "3.1.3", "fastapi": "0.165.0", "locust": "2.47.0"},
        "git": "97b2d32",
        "profile": "default",
        "cpu_plan": {"server_cpus": [0], "generator_cpus": [1], "note": "servers on CPU 0, Locust on CPU 1"},
        "workers": 1,
        "server_commands": {"flask-gunicorn-sync": "env ... flask_service.server"},
        "server_configs": {},
        "locust_command": "taskset -c 1 python -m locust ...",
        "wrk": True,
        "settings": {
            "rounds": 4,
            "duration_s": 3,
            "warmup_s": 1,
            "users": 32,
            "grid": [0.25, 0.55, 0.85, 1.1],
            "slo_ms": 50.0,
            **settings,
        },
        "invocation": "make bench",
        "command": "python -m loadtests.bench run",
        "started_at": "2026-12-02T07:27:58+00:00",
        "elapsed_s": 281.0,
    }
    verification = {
        key: {
            "passed": True,
            "error": None,
            "checks": [{"name": "GET /health", "passed": True, "problem": None}],
        }
        for key in ("flask-gunicorn-sync", "fastapi-uvicorn")
    }
    model = {"predict_one": {"cpu_us": 290.0, "wall_us": 291.0, "loops": 500, "repeats": 7}}
    return build_summary(environment, verification, model, measurements, split)


def test_summary_json_has_every_field_the_bench_promises() -> None:
    summary = summary_of(CROSSCHECKED + CURVE)
    for run in summary["runs"]:
        assert {"steal_pct", "generator_steal_pct", "samples", "rss_mib", "uss_mib", "startup_s"} <= set(run)
    for entry in summary["ratios"]:
        assert {
            "scenario",
            "metric",
            "ratio",
            "low",
            "high",
            "precision",
            "precise",
            "pairs",
            "dropped",
        } <= set(entry)
        assert set(entry["collector"].values()) == {"interpreter"}
    assert {e["metric"] for e in summary["ratios"]} == {"rps", "cpu_us_per_request"}
    for p in summary["curve"]:
        assert set(p) >= {
            "framework",
            "variant",
            "scenario",
            "offered_rps",
            "achieved_rps",
            "p50_ms",
            "p99_ms",
        }
        assert p["corrected"] is True and p["samples"] > 0
    slo = summary["capacity_at_slo"]
    assert slo["flask-gunicorn-sync/predict"] == 560 and 530 < slo["fastapi-uvicorn/predict"] < 540
    [check] = summary["crosscheck"]
    assert set(check) >= {"scenario", "locust_ratio", "wrk_ratio"}
    wrk = [b / a for a, b in zip([990, 950, 978, 940], [1425, 1380, 1410, 1399], strict=True)]
    assert check["wrk_ratio"] == pytest.approx(statistics.geometric_mean(wrk))


def test_ratios_that_differ_between_generators_are_said_to_and_why() -> None:
    agree = summary_of(CROSSCHECKED)["crosscheck"][0]
    assert not agree["differ"] and agree["reason"] == "they agree within 10%"
    # wrk finds Flask 40% faster: its CPU per request is lower under wrk (one connection per request).
    apart = PAIRS + [
        replace(m, rps=m.rps * 1.4, server_cpu_s=m.server_cpu_s * 0.75) if m.framework == "flask" else m
        for m in rounds([990, 950, 978, 940], [1425, 1380, 1410, 1399], WRK)
    ]
    check = summary_of(apart)["crosscheck"][0]
    assert check["differ"] is True
    assert "flask-gunicorn-sync: Locust/wrk requests/s 0.6" in check["reason"]
    assert "CPU per request 1.3" in check["reason"]
    # No clean wrk pair: nothing to compare, and the report does not claim they agree.
    stolen = PAIRS + [replace(m, steal_pct=40.0) for m in rounds([990] * 4, [1425] * 4, WRK)]
    summary = summary_of(stolen)
    assert summary["crosscheck"][0]["differ"] is None
    said = " ".join(verdict(summary))
    assert "nothing to compare" in said and "agree" not in said


def test_the_report_opens_with_a_verdict_of_five_lines_at_most_and_the_curve(tmp_path: Path) -> None:
    summary = summary_of(CROSSCHECKED + CURVE)
    lines = verdict(summary)
    assert 1 <= len(lines) <= 6
    assert lines[0].startswith("**FastAPI (uvicorn) against Flask (gunicorn-sync)**")
    assert "predict 1.5" in lines[0] and "0.64x" in lines[0]
    assert any(
        "Capacity at p99 < 50 ms" in line and "Flask (gunicorn-sync) 560, FastAPI (uvicorn) 536" in line
        for line in lines
    )
    assert any("Two generators" in line and "agree within 10%" in line for line in lines)
    report = render_report(summary, ["curve.png", "ratios.png"])
    head = report.split("## Pair ratios")[0]
    assert "](curve.png)" in head and "## Verdict" in head
    assert "closes the connection after every response" in report.split("## Latency against load")[0]
    curve = report.split("## Latency against load")[1].split("## Cross-check")[0]
    assert "≈ max" not in curve and "(n=2,000)" in curve


def test_a_noisy_run_says_so_instead_of_a_confident_number() -> None:
    noisy = [
        replace(m, steal_pct=25.0) if m.round in (1, 2, 3) and m.framework == "flask" else m for m in PAIRS
    ]
    summary = summary_of(noisy)
    assert any(
        line.startswith("**Not within ±5%**") and "from 1 pair, 3 dropped: no interval" in line
        for line in verdict(summary)
    )
    assert "3 of 4 pairs dropped" in verdict(summary)[-1]


def test_pairs_left_out_are_still_drawn_even_when_none_was_kept(tmp_path: Path) -> None:
    """A run on a host that disturbed every pair still shows what it measured, as hollow dots."""
    noisy = [replace(m, steal_pct=25.0) if m.framework == "flask" else m for m in PAIRS]
    entry = default_rps(all_ratios(noisy))
    assert (entry["pairs"], entry["ratio"]) == (0, None)
    assert entry["dropped_values"] == pytest.approx([1254 / 881, 1298 / 812, 1196 / 799, 1288 / 786])
    assert default_rps(all_ratios(PAIRS))["dropped_values"] == []
    assert "ratios.png" in write_charts(summary_of(noisy), tmp_path)
    assert (tmp_path / "ratios.png").stat().st_size > 1000


def test_the_report_is_rebuilt_from_the_raw_records_alone(tmp_path: Path) -> None:
    measurements = CROSSCHECKED + CURVE
    save_measurements(measurements, tmp_path / "measurements.json")
    summary = summary_of(measurements)
    write_results(tmp_path, summary)
    (tmp_path / "summary.json").write_text(
        json.dumps({**json.loads((tmp_path / "summary.json").read_text()), "ratios": [], "curve": []})
    )
    report = rewrite_report(tmp_path)
    rebuilt = json.loads((tmp_path / "summary.json").read_text())
    assert rebuilt["ratios"] == summary["ratios"] and rebuilt["curve"] == summary["curve"]
    assert "## Pair ratios" in report.read_text() and (tmp_path / "curve.png").is_file()


def test_the_speed_probe_runs_on_the_cpus_it_is_given_and_moves_back() -> None:
    import os

    from loadtests.bench.machine.speed import probe_us

    own = os.sched_getaffinity(0)
    cpu = min(own)
    assert (probe_us([cpu]) or 0) > 0
    assert os.sched_getaffinity(0) == own
    assert probe_us([]) is None
