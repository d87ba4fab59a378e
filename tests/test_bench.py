"""The bench's own logic on recorded data: checks, recorder, CPU accounting, rate choice, summary, report.

The figures below come from a real `make bench` run on the project's 2-core machine; no server starts here.
"""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench import processes
from loadtests.bench.config import BenchConfig, equal_load_rate, parse_rate, parse_scenarios, round_down
from loadtests.bench.crosscheck import wrk_script
from loadtests.bench.loadrun import LoadPlan, failure_messages, locust_command, locust_totals
from loadtests.bench.measure import (
    Sample,
    busiest_process_percent,
    cpu_seconds_between,
    generator_processes,
    mean_percent,
    peak_percent,
    value_at,
)
from loadtests.bench.microbench import model_cpu_us, time_call
from loadtests.bench.output import link_latest, write_results
from loadtests.bench.reading import ratio
from loadtests.bench.readme import METHOD, replace_between, update_readme
from loadtests.bench.records import CAPACITY, FIXED, Measurement, load_measurements, save_measurements
from loadtests.bench.report import headline_table, render_report, verdict
from loadtests.bench.servers import CATALOGUE, threads_per_worker, variants_by_key
from loadtests.bench.summary import build_summary, problems
from loadtests.checks import (
    MODEL_MISSES,
    check_batch,
    check_health,
    check_invalid,
    check_penguin_prediction,
    check_prediction,
    labelled_rows,
)
from loadtests.recorder import LatencyRecorder, merge_parts, part_path, percentile
from loadtests.scenarios import BATCH, DEFAULT_VARIANTS, HEALTH, INVALID, IO, PREDICT, SCENARIOS
from shared.examples import INVALID_PENGUIN_ERRORS, KNOWN_PENGUINS
from shared.limits import PENGUIN_FIELDS
from shared.model import load_model
from shared.observations import observations
from shared.settings import Settings

MODEL = {
    name: {
        "cpu_us": cpu,
        "cpu_us_min": cpu * 0.96,
        "cpu_us_max": cpu * 1.1,
        "wall_us": cpu,
        "loops": 300,
        "repeats": 7,
    }
    for name, cpu in (("predict_one", 261.1), ("predict_many_100", 497.4))
}


def recorded(
    framework: str, scenario: str, kind: str, rps: float, cpu_s: float, p50: float, p99: float, locust: float
) -> Measurement:
    """A measurement as the runner records it, over a 7.85 s window."""
    window = 7.85
    requests = round(rps * window)
    name = {"health": HEALTH, "predict": PREDICT}[scenario]
    return Measurement(
        framework=framework,
        variant="gunicorn-sync" if framework == "flask" else "uvicorn",
        scenario=scenario,
        kind=kind,
        repeat=1,
        users=32,
        target_rate={"health": 1400.0, "predict": 480.0}[scenario] if kind == FIXED else None,
        requests=requests,
        failures=0,
        rps=rps,
        window_s=window,
        latency_ms={"50": p50, "90": p50 * 1.5, "95": p50 * 1.8, "99": p99, "99.9": p99 * 1.2},
        mean_ms=p50 * 1.1,
        max_ms=p99 * 2,
        requests_recorded=requests,
        by_name={name: requests},
        server_cpu_s=cpu_s,
        server_cpu_percent=100 * cpu_s / window,
        generator_cpu_max=locust,
        generator_cpu_mean=locust * 0.8,
        run_dir=f"runs/{framework}-{scenario}-{kind}",
        command="python -m locust ...",
        exit_code=0,
    )


RECORDED = [
    recorded("flask", "health", CAPACITY, 2842.3, 6.369, 10.94, 13.57, 86.3),
    recorded("fastapi", "health", CAPACITY, 10444.6, 6.543, 2.42, 4.18, 100.1),
    recorded("flask", "health", FIXED, 1397.5, 3.543, 1.28, 3.92, 46.3),
    recorded("fastapi", "health", FIXED, 1400.4, 1.282, 0.40, 0.91, 25.7),
    recorded("flask", "predict", CAPACITY, 969.9, 7.154, 32.62, 39.70, 41.7),
    recorded("fastapi", "predict", CAPACITY, 1731.4, 7.814, 16.85, 67.61, 24.8),
    recorded("flask", "predict", FIXED, 480.1, 3.513, 2.23, 5.72, 20.4),
    recorded("fastapi", "predict", FIXED, 479.2, 2.869, 1.45, 2.84, 12.9),
]
RATES = {
    "health": {"rate": 1400.0, "source": "50% of the slower capacity"},
    "predict": {"rate": 480.0, "source": "50% of the slower capacity"},
}
ENVIRONMENT: dict[str, Any] = {
    "cpu_model": "Intel(R) Xeon(R) Processor",
    "cores": 2,
    "memory_gib": 23.4,
    "os": "Linux-6.18-x86_64",
    "python": "CPython 3.11.7",
    "packages": {"flask": "3.1.3", "fastapi": "0.165.0", "locust": "2.47.0"},
    "git": "97b2d32",
    "cpu_plan": {"server_cpus": [0], "generator_cpus": [1], "note": "servers on CPU 0, Locust on CPU 1"},
    "workers": 1,
    "server_commands": {"flask-gunicorn-sync": "env ... flask_service.server", "fastapi-uvicorn": "env ..."},
    "server_configs": {"flask-gunicorn-sync": "gunicorn ...", "fastapi-uvicorn": "uvicorn ..."},
    "locust_command": "taskset -c 1 python -m locust ...",
    "settings": {"scenarios": ["health", "predict"], "duration_s": 8, "warmup_s": 2, "users": 32,
                 "spawn_rate": 32.0, "repeats": 1, "rate": "auto", "workers": 1},
    "rates": RATES,
    "invocation": "make bench",
    "command": "python -m loadtests.bench run",
    "started_at": "2026-11-25T08:09:32+00:00",
    "elapsed_s": 213.0,
}  # fmt: skip
VERIFICATION = {
    key: {"passed": True, "error": None, "checks": [{"name": "GET /health", "passed": True, "problem": None}]}
    for key in ("flask-gunicorn-sync", "fastapi-uvicorn")
}


def summary_of(measurements: list[Measurement]) -> dict[str, Any]:
    return build_summary(ENVIRONMENT, VERIFICATION, MODEL, RATES, measurements)


def run_of(summary: dict[str, Any], framework: str, scenario: str) -> dict[str, Any]:
    [run] = [r for r in summary["runs"] if r["framework"] == framework and r["scenario"] == scenario]
    return dict(run)


# Response checks: a wrong answer is a failure.


def prediction_body(species: str) -> dict[str, Any]:
    probabilities = {"Adelie": 0.01, "Chinstrap": 0.01, "Gentoo": 0.01, species: 0.98}
    return {"species": species, "probabilities": probabilities, "model_version": "1.0.0"}


def test_checks_accept_right_answers_and_name_wrong_ones() -> None:
    assert check_health(200, {"status": "ok"}) is None
    assert check_health(503, {"status": "ok"}) == "status 503, expected 200"
    assert check_prediction(200, prediction_body("Gentoo"), "Gentoo") is None
    assert "species 'Adelie', expected 'Gentoo'" in str(
        check_prediction(200, prediction_body("Adelie"), "Gentoo")
    )
    assert "keys" in str(check_prediction(200, {"species": "Gentoo"}, "Gentoo"))
    batch = {"model_version": "1.0.0", "predictions": [prediction_body("Adelie"), prediction_body("Gentoo")]}
    assert check_batch(200, batch, ["Adelie", "Gentoo"]) is None
    assert "item 1" in str(check_batch(200, batch, ["Adelie", "Chinstrap"]))
    assert "2 predictions, expected 3" in str(check_batch(200, batch, ["Adelie"] * 3))


def test_invalid_check_wants_every_error_with_three_keys() -> None:
    detail = [{"loc": ["body", field], "msg": "...", "type": kind} for field, kind in INVALID_PENGUIN_ERRORS]
    assert check_invalid(422, {"detail": detail}) is None
    assert check_invalid(200, {"detail": detail}) == "status 200, expected 422"
    assert "422 errors" in str(check_invalid(422, {"detail": detail[1:]}))
    with_input = [{**detail[0], "input": "Atlantis"}, *detail[1:]]
    assert "422 body" in str(check_invalid(422, {"detail": with_input}))


# The recorder and CPU accounting.


def test_percentiles_are_nearest_rank_and_unrounded() -> None:
    times = sorted([0.41, 0.43, 0.47, 0.52, 1.9] * 20)
    assert percentile(times, 50) == 0.47
    assert percentile(times, 99) == 1.9
    assert percentile([], 50) is None


def test_recorder_keeps_only_the_window() -> None:
    recorder = LatencyRecorder()
    recorder.record(PREDICT, 99.0, False)  # warm-up: not recorded
    recorder.start(100.0)
    recorder.record(PREDICT, 0.5, False)
    recorder.record(INVALID, 0.7, True)
    recorder.stop(108.0)
    recorder.record(PREDICT, 99.0, False)
    result = recorder.result()
    assert result["requests"] == 2 and result["failures"] == 1
    assert result["by_name"] == {PREDICT: 1, INVALID: 1}
    assert (result["window_start"], result["window_end"]) == (100.0, 108.0)
    assert result["percentiles_ms"]["50"] == 0.5 and result["max_ms"] == 0.7


SAMPLES = [
    Sample(at=float(t), server_cpu_s=0.5 * t, generator_cpu_s=0.2 * t if t < 3 else 0.6 + t - 3)
    for t in range(7)
]


def test_cpu_is_interpolated_at_the_window_edges() -> None:
    assert value_at(SAMPLES, "server_cpu_s", 2.5) == pytest.approx(1.25)
    assert cpu_seconds_between(SAMPLES, "server_cpu_s", 0.5, 4.5) == pytest.approx(2.0)
    assert mean_percent(SAMPLES, "server_cpu_s", 1, 5) == pytest.approx(50)
    # Locust at 20% for three seconds, then at 100%: the busiest second is the one that counts.
    assert peak_percent(SAMPLES, "generator_cpu_s", 0, 6) == pytest.approx(100)
    assert mean_percent(SAMPLES, "generator_cpu_s", 0, 3) == pytest.approx(20)


def test_locust_totals_and_failures_from_its_own_files(tmp_path: Path) -> None:
    entries = [
        {"num_requests": 700, "num_failures": 0, "start_time": 100.0, "last_request_timestamp": 107.0},
        {"num_requests": 100, "num_failures": 2, "start_time": 100.0, "last_request_timestamp": 108.0},
    ]
    assert locust_totals(entries) == {"requests": 800, "failures": 2, "rps": 100.0}
    failures = tmp_path / "locust_failures.csv"
    failures.write_text("Method,Name,Error,Occurrences\nPOST,POST /predict,\"species 'Adelie'\",2\n")
    assert failure_messages(failures) == ["POST /predict: species 'Adelie' (2x)"]
    assert failure_messages(tmp_path / "missing.csv") == []


def test_model_share_follows_the_request_mix() -> None:
    assert model_cpu_us({PREDICT: 70, HEALTH: 15, INVALID: 10, BATCH: 5}, MODEL) == pytest.approx(
        (70 * 261.1 + 5 * 497.4) / 100
    )
    assert model_cpu_us({HEALTH: 10}, MODEL) == 0
    assert time_call(lambda: None, repeats=3, target_s=0.001)["repeats"] == 3


# Knobs and the equal-load rate.


def test_knobs_parse() -> None:
    assert [s.name for s in parse_scenarios("all")] == list(SCENARIOS)
    assert [s.name for s in parse_scenarios("predict, batch,predict")] == ["predict", "batch"]
    with pytest.raises(ValueError, match="unknown scenario"):
        parse_scenarios("predict,nope")
    scenarios = parse_scenarios("predict,batch")
    assert parse_rate("auto", scenarios) is None
    assert parse_rate("500", scenarios) == {"predict": 500.0, "batch": 500.0}
    assert parse_rate("batch=40", scenarios) == {"batch": 40.0}
    with pytest.raises(ValueError):
        parse_rate("-1", scenarios)


def test_equal_load_rate_is_half_the_slower_capacity_unless_given() -> None:
    assert round_down(1234) == 1200 and round_down(37.9) == 37 and round_down(5.38) == 5.3
    capacities = {"flask-gunicorn-sync": 969.9, "fastapi-uvicorn": 1731.4}
    rate, source = equal_load_rate("predict", capacities, None) or (0, "")
    assert rate == 480 and "flask-gunicorn-sync" in source
    assert equal_load_rate("predict", capacities, {"predict": 300.0}) == (300.0, "RATE")
    assert equal_load_rate("predict", {"flask-gunicorn-sync": None}, None) is None


def test_cpu_plan_pins_servers_and_locust_apart() -> None:
    two = processes.plan_cpus([0, 1], taskset=True)
    assert (two.server, two.generator, two.pinned) == ((0,), (1,), True)
    assert processes.plan_cpus([0, 1, 2, 3], taskset=True).server == (0, 1)
    assert not processes.plan_cpus([0], taskset=True).pinned
    assert "not pinned" in processes.plan_cpus(None, taskset=False).note
    assert processes.pinned(["python"], (0,)) == ["taskset", "-c", "0", "python"]


# summary.json


def test_summary_has_every_field_the_issue_names() -> None:
    summary = summary_of(RECORDED)
    assert set(summary) >= {"environment", "runs"}
    assert {"cpu_model", "cores", "os", "python", "packages", "server_commands"} <= set(
        summary["environment"]
    )
    assert len(summary["runs"]) == 4
    required = {
        *("framework", "scenario", "users", "repeats", "valid", "generator_cpu_max"),
        *("rps", "rps_min", "rps_max", "p50_ms", "p95_ms", "p99_ms", "requests", "failures"),
        *("rate", "fixed_p50_ms", "fixed_p95_ms", "fixed_p99_ms", "server_cpu_us_per_request"),
    }
    for run in summary["runs"]:
        assert required <= set(run)
    json.dumps(summary, allow_nan=False)


def test_summary_figures_and_validity() -> None:
    summary = summary_of(RECORDED)
    predict = run_of(summary, "fastapi", "predict")
    assert predict["rps"] == 1731.4 and predict["valid"] and predict["fixed_valid"]
    assert predict["rate"] == 480.0
    assert predict["server_cpu_us_per_request"] == pytest.approx(2.869 / round(479.2 * 7.85) * 1e6)
    assert predict["model_cpu_us_per_request"] == pytest.approx(261.1)
    assert predict["framework_cpu_us_per_request"] == pytest.approx(
        predict["server_cpu_us_per_request"] - 261.1
    )
    health = run_of(summary, "fastapi", "health")
    assert not health["valid"] and health["fixed_valid"]
    assert "generator-bound" in health["invalid_reasons"][0]
    assert run_of(summary, "flask", "health")["valid"]  # 86% is under the limit


def test_repeats_give_the_median_and_the_spread() -> None:
    flask = RECORDED[4]
    repeats = [replace(flask, repeat=2, rps=900.0), flask, replace(flask, repeat=3, rps=1000.0)]
    run = run_of(summary_of([*repeats, RECORDED[6]]), "flask", "predict")
    assert (run["rps"], run["rps_min"], run["rps_max"], run["repeats"]) == (969.9, 900.0, 1000.0, 3)
    assert [r["repeat"] for r in run["capacity_runs"]] == [1, 2, 3]


def test_failures_and_a_missed_rate_make_a_run_not_clean() -> None:
    failed = replace(RECORDED[6], failures=3, failure_messages=["POST /predict: species 'Adelie' (3x)"])
    assert "3 of 3769 requests failed: POST /predict" in problems(failed)[0]
    slow = replace(RECORDED[6], rps=400.0)
    assert "reached 400 of the 480 requests/s" in problems(slow)[0]
    assert problems(replace(RECORDED[6], error="Locust did not finish"))[0].endswith("Locust did not finish")


def test_measurements_round_trip(tmp_path: Path) -> None:
    save_measurements(RECORDED, tmp_path / "measurements.json")
    assert load_measurements(tmp_path / "measurements.json") == RECORDED


# report.md


def test_headline_shows_ratios_and_bounds() -> None:
    table = headline_table(summary_of(RECORDED))
    assert "| predict | 970 | 1,731 | 1.79x | 480 rps |" in table
    assert "≥ 10,445 ⚠ | ≥ 3.67x" in table  # FastAPI's health capacity is a lower bound
    assert (
        ratio(2.0, 1.0) == "2.00x"
        and ratio(2.0, 1.0, "≥") == "≥ 2.00x"
        and ratio(2.0, 1.0, "", "≥") == "≤ 2.00x"
    )


def test_report_mentions_every_run_and_says_what_is_not_clean(tmp_path: Path) -> None:
    summary = summary_of(RECORDED)
    report_path, headline = write_results(tmp_path, summary)
    report = report_path.read_text()
    for run in summary["runs"]:
        assert f"## {run['scenario']}" in report
        for record in run["capacity_runs"] + run["fixed_runs"]:
            assert record["run_dir"] in report
    assert "Flask (gunicorn-sync)" in report and "FastAPI (uvicorn)" in report
    assert "generator-bound" in report and "## Method" in report and "## Environment" in report
    assert headline in report.replace("\n\n", "\n\n")  # the printed headline is the report's
    for chart in ("throughput.png", "latency.png", "cpu.png"):
        assert (tmp_path / chart).stat().st_size > 1000 and f"]({chart})" in report
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert any("health ≥ 3.67x" in sentence for sentence in verdict(summary))


def test_a_service_that_failed_verification_is_named(tmp_path: Path) -> None:
    failed = {
        **VERIFICATION,
        "flask-gunicorn-sync": {"passed": False, "error": "did not start", "checks": []},
    }
    summary = build_summary(ENVIRONMENT, failed, MODEL, {}, [m for m in RECORDED if m.framework == "fastapi"])
    report = render_report(summary, charts=())
    assert "flask-gunicorn-sync failed the live contract checks" in report
    assert "No comparison: Flask or FastAPI has no measurement" in report


def test_latest_points_at_the_newest_run(tmp_path: Path) -> None:
    for name in ("20260101T000000Z", "20260102T000000Z"):
        (tmp_path / name).mkdir()
        link_latest(tmp_path / name)
    assert (tmp_path / "latest").resolve() == (tmp_path / "20260102T000000Z").resolve()


# README sections and the wrk cross-check's script.


def test_readme_sections_are_replaced_between_their_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_results(results, summary_of(RECORDED))
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n<!-- bench:method -->\nold method\n<!-- /bench:method -->\n\nBetween.\n\n"
        "<!-- bench:results -->\nold numbers\n<!-- /bench:results -->\n\n## Running\n"
    )
    assert update_readme(results, repo=tmp_path) == readme
    text = readme.read_text()
    assert "old" not in text and text.startswith("# Title") and text.endswith("## Running\n")
    assert "Between." in text and "## Benchmark method" in text and "## Latest results" in text
    assert headline_table(summary_of(RECORDED)) in text
    assert "From `make bench` on 2026-11-25" in text
    assert (tmp_path / "docs" / "bench" / "cpu-per-request.png").stat().st_size > 1000
    assert replace_between("no markers", METHOD, "x") is None


def test_readme_sections_go_beside_the_load_tests_without_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_results(results, summary_of(RECORDED))
    (tmp_path / "loadtests").mkdir()
    (tmp_path / "README.md").write_text("# No markers yet\n")
    written = update_readme(results, repo=tmp_path)
    assert written == tmp_path / "loadtests" / "README-sections.md"
    assert "<!-- bench:method -->" in written.read_text()


def test_wrk_sends_the_known_penguins() -> None:
    script = wrk_script()
    for penguin in KNOWN_PENGUINS.values():
        assert f"[[{json.dumps(penguin)}]]" in script
    assert 'wrk.format("POST", "/predict"' in script


# io: the upstream, the Little's-law bound, the server variants, Locust's --processes.


def io_recorded(
    framework: str, variant: str, rps: float, cpu_s: float, p50: float, p99: float, upstream_max: float
) -> Measurement:
    """An io capacity run as the runner records it (figures from a `make bench SCENARIOS=io` on 2 cores)."""
    window = 7.7
    requests = round(rps * window)
    return replace(
        recorded(framework, "predict", CAPACITY, rps, cpu_s, p50, p99, 10.0),
        variant=variant,
        scenario="io",
        by_name={IO: requests},
        mean_ms=p50 * 1.1,
        window_s=window,
        run_dir=f"runs/{framework}-{variant}-io",
        upstream_latency_ms=50.0,
        upstream_cpu_percent=upstream_max * 0.8,
        upstream_cpu_max=upstream_max,
        generator_cpu_count=1,
        generator_side_cpu_max=25.0,
    )


IO_RECORDED = [
    io_recorded("flask", "gunicorn-sync", 18.6, 0.409, 1718.4, 1725.4, 1.8),
    io_recorded("fastapi", "uvicorn", 309.5, 7.664, 83.5, 303.5, 6.9),
    io_recorded("flask", "gunicorn-gthread", 571.8, 6.402, 54.6, 100.8, 9.8),
    io_recorded("flask", "gunicorn-gevent", 499.6, 6.736, 60.9, 121.4, 9.5),
    io_recorded("fastapi", "async-blocking", 18.6, 0.271, 1672.2, 6177.2, 2.7),
    io_recorded("flask", "async-view", 18.1, 0.672, 1776.3, 1779.6, 2.0),
]
IO_ENVIRONMENT: dict[str, Any] = {
    **ENVIRONMENT,
    "upstream": {"latency_ms": 50.0, "command": "env ... upstream.server", "config": "", "cpus": [1]},
    "variants": {
        v.key: {
            "label": v.label,
            "concurrency": v.concurrency,
            "in_flight": v.in_flight(1, 32),
            "note": v.note,
        }
        for v in CATALOGUE
    },
}


def io_summary(measurements: list[Measurement]) -> dict[str, Any]:
    verification = {f"{m.framework}-{m.variant}": VERIFICATION["fastapi-uvicorn"] for m in measurements}
    return build_summary(IO_ENVIRONMENT, verification, MODEL, RATES, measurements)


def test_io_variants_are_data_and_gthread_gets_a_thread_per_user() -> None:
    config = BenchConfig(scenarios=parse_scenarios("predict,io"), users=32, repeats=2)
    io = SCENARIOS["io"]
    assert [v.key for v in config.variants_for(SCENARIOS["predict"])] == list(DEFAULT_VARIANTS)
    assert [v.key for v in config.variants_for(io)] == [v.key for v in CATALOGUE] and not io.equal_load
    assert config.needs_upstream and [v.key for v in config.needed_variants] == [v.key for v in CATALOGUE]
    assert config.run_count == 2 * 2 * 2 + 6 * 2  # predict: capacity and equal load; io: capacity only
    assert not BenchConfig(scenarios=parse_scenarios("predict")).needs_upstream
    gthread, gevent, sync = (variants_by_key([key])[0] for key in IO_VARIANT_KEYS)
    assert (
        gthread.environment(workers=2, users=33)["GUNICORN_THREADS"] == "17" == str(threads_per_worker(33, 2))
    )
    assert (gthread.in_flight(2, 32), gevent.in_flight(2, 32), sync.in_flight(2, 32)) == (32, None, 2)
    with pytest.raises(ValueError, match="unknown server variant"):
        variants_by_key(["flask-tornado"])


IO_VARIANT_KEYS = ("flask-gunicorn-gthread", "flask-gunicorn-gevent", "flask-gunicorn-sync")


def test_io_summary_has_the_bound_and_each_variant_s_share() -> None:
    summary = io_summary(IO_RECORDED)
    assert len(summary["runs"]) == 6
    for run in summary["runs"]:
        assert run["users"] == 32 and run["upstream_latency_ms"] == 50
        assert run["littles_law_bound_rps"] == pytest.approx(640)
        assert run["share_of_bound"] == pytest.approx(run["rps"] / 640)
        assert run["fixed_runs"] == [] and run["equal_load"] is False
        assert run["model_cpu_us_per_request"] == pytest.approx(261.1)
    sync = summary["runs"][0]
    assert (sync["variant"], sync["in_flight"], sync["variant_bound_rps"]) == ("gunicorn-sync", 1, 20)
    assert sync["share_of_variant_bound"] == pytest.approx(18.6 / 20)
    fastapi = summary["runs"][1]
    assert fastapi["in_flight"] is None and fastapi["variant_bound_rps"] == pytest.approx(640)
    assert fastapi["capacity_server_cpu_us_per_request"] == pytest.approx(
        7.664 / IO_RECORDED[1].requests_recorded * 1e6
    )
    json.dumps(summary, allow_nan=False)


def test_io_report_explains_every_variant_below_the_bound(tmp_path: Path) -> None:
    summary = io_summary(IO_RECORDED)
    report_path, printed = write_results(tmp_path, summary)
    report = report_path.read_text()
    assert "## io: waiting on an upstream" in report and "## Headline" not in report
    assert "| Flask (gunicorn-gthread) | 572 | 640 | 89% | all 32 |" in report
    assert "| Flask (gunicorn-sync) | 18.6 | 640 | 3% | 1 (32 users) |" in report
    # Below 80%: one request at a time (bound 1 / 50 ms), the CPU, or queueing; not gthread (89%).
    assert "its own bound is 1 / 50.0 ms = 20.0 requests/s, of which it reached 93%" in report
    assert (
        "FastAPI (uvicorn): 48% of the bound. It holds every user's request, but its CPU was the limit"
        in report
    )
    assert "Flask (gunicorn-gthread): 89%" not in report.split("| Flask (async-view)")[1]
    assert "**Classic mistake**: `async def` calling a blocking client on FastAPI" in report
    assert "**18.6 requests/s** against 310 for FastAPI (uvicorn)" in report
    assert "**18.1 requests/s** against 18.6 for Flask (gunicorn-sync)" in report
    assert (
        "its busiest second reached 9.80 % of one CPU at most" in report and "never the bottleneck" in report
    )
    assert "Waiting on I/O" in " ".join(verdict(summary)) and "io:" in printed
    assert (tmp_path / "io.png").stat().st_size > 1000 and not (tmp_path / "cpu.png").exists()


def test_io_beside_other_scenarios_keeps_them_in_the_headline(tmp_path: Path) -> None:
    summary = build_summary(IO_ENVIRONMENT, VERIFICATION, MODEL, RATES, [*RECORDED, *IO_RECORDED])
    table = headline_table(summary)
    assert "| predict | 970 | 1,731 |" in table and "| io |" not in table
    report = render_report(summary, charts=())
    assert "## Headline" in report and "## io: waiting on an upstream" in report
    assert report.index("## predict") < report.index("## io:") < report.index("## Where the time goes")


def test_an_upstream_or_a_busy_generator_cpu_makes_a_run_not_clean() -> None:
    upstream_bound = replace(IO_RECORDED[1], upstream_cpu_max=95.0)
    assert "upstream-bound, the upstream reached 95%" in problems(upstream_bound)[0]
    shared_cpu = replace(IO_RECORDED[1], generator_side_cpu_max=93.0)
    assert "generator-bound, the generator's 1 CPU(s) were busy" in problems(shared_cpu)[0]
    assert not problems(replace(IO_RECORDED[1], generator_cpu_count=2, generator_side_cpu_max=150.0))
    summary = io_summary([upstream_bound])
    assert summary["runs"][0]["valid"] is False
    assert "≥ 310 ⚠" in render_report(summary, charts=())


# Several Locust processes: each worker's part of the window pooled, every process's CPU counted.


def test_worker_parts_are_pooled_into_one_window(tmp_path: Path) -> None:
    window = tmp_path / "window.json"
    for pid, (start, samples, failures) in {
        11: (100.0, [1.0, 3.0], 0),
        12: (100.2, [2.0, 4.0, 9.0], 1),
    }.items():
        recorder = LatencyRecorder()
        recorder.start(start)
        for sample in samples:
            recorder.record(IO, sample, False)
        recorder.failures = failures
        recorder.stop(start + 5)
        recorder.write(part_path(window, pid), with_samples=True)
    assert part_path(window, 11).name == "window.worker-11.json"
    assert merge_parts(window) == 2 and not list(tmp_path.glob("window.worker-*"))
    pooled = json.loads(window.read_text())
    assert (pooled["requests"], pooled["failures"], pooled["processes"]) == (5, 1, 2)
    assert (pooled["window_start"], pooled["window_end"]) == (100.0, 105.2)
    assert pooled["percentiles_ms"]["50"] == 3.0 and pooled["max_ms"] == 9.0
    assert pooled["by_name"] == {IO: 5}
    assert merge_parts(tmp_path / "none.json") == 0  # a single process wrote its own file


def test_every_locust_process_is_sampled_and_the_busiest_counts() -> None:
    # A master (pid 1) nearly idle, two workers from t=1 s: one at 50% of a CPU, one at 95%.
    samples = [
        Sample(
            at=float(t),
            server_cpu_s=0.0,
            generator_cpu_s=0.05 * t + 1.45 * max(0, t - 1),
            generator_by_process={1: 0.05 * t, **({2: 0.5 * (t - 1), 3: 0.95 * (t - 1)} if t >= 1 else {})},
        )
        for t in range(6)
    ]
    assert generator_processes(samples) == [1, 2, 3]
    assert busiest_process_percent(samples, 1, 5) == pytest.approx(95)
    assert peak_percent(samples, "generator_cpu_s", 1, 5) == pytest.approx(150)
    single = [Sample(at=float(t), server_cpu_s=0.0, generator_cpu_s=0.4 * t) for t in range(4)]
    assert busiest_process_percent(single, 0, 3) == pytest.approx(40)  # records without per-process figures


def test_locust_processes_knob_becomes_processes_option() -> None:
    plan = LoadPlan(SCENARIOS["io"], CAPACITY, 1, 32, 32.0, 2, 8, processes=4)
    command = locust_command(plan, "http://127.0.0.1:1", Path("run"))
    assert command[-3:] == ["--processes", "4", "IoUser"]
    assert "--processes" not in locust_command(replace(plan, processes=1), "http://127.0.0.1:1", Path("run"))


# The io checks: each row's label, and the rows the model misses left out.


def test_io_rows_are_labelled_and_the_model_agrees_with_every_label() -> None:
    rows = labelled_rows()
    assert len(rows) == 342 - len(MODEL_MISSES) and not set(rows) & ({4, 272} | MODEL_MISSES)
    model = load_model(Settings.from_env().model_dir)
    everything = observations()
    predicted = model.predict_many([{f: everything[i][f] for f in PENGUIN_FIELDS} for i in everything])
    wrong = {i for i, p in zip(everything, predicted, strict=True) if p.species != everything[i]["species"]}
    assert wrong == MODEL_MISSES, "update MODEL_MISSES in loadtests/checks.py: the model changed"
    body = {**prediction_body("Adelie"), "penguin_id": 1}
    assert check_penguin_prediction(200, body, 1, "Adelie") is None
    assert "penguin_id 1, expected 2" in str(check_penguin_prediction(200, body, 2, "Adelie"))
    assert "species 'Adelie', expected 'Gentoo'" in str(check_penguin_prediction(200, body, 1, "Gentoo"))
    assert "status 503" in str(check_penguin_prediction(503, {"detail": "x"}, 1, "Adelie"))


def test_readme_results_carry_the_io_table_and_its_chart(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_results(results, io_summary(IO_RECORDED))
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- bench:method -->\n<!-- /bench:method -->\n<!-- bench:results -->\n<!-- /bench:results -->\n"
    )
    update_readme(results, repo=tmp_path)
    text = readme.read_text()
    assert "**Waiting on I/O** (`io`)" in text and "| Flask (gunicorn-gevent) | 500 | 640 | 78% |" in text
    assert "](docs/bench/io-vs-bound.png)" in text and "| scenario | Flask rps |" not in text
    assert (tmp_path / "docs" / "bench" / "io-vs-bound.png").is_file()
    assert not (tmp_path / "docs" / "bench" / "cpu-per-request.png").exists()
    assert "`LOCUST_PROCESSES`" in text and "Little's-law bound" in text
