"""The bench's own logic without load: checks, CPU and host accounting, knobs and profiles, the plan, the
server variants, the wrk scripts, io's bound, the results folder and the README's section.

The figures below come from real `make bench` runs on the project's 2-core machine; no server starts here.
"""

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.inprocess.microbench import model_cpu_us, time_call
from loadtests.bench.load.locust import LoadPlan, failure_messages, locust_command, locust_totals
from loadtests.bench.load.sampling import (
    Sample,
    busiest_process_percent,
    cpu_seconds_between,
    generator_processes,
    mean_percent,
    others_percent,
    peak_percent,
    steal_percent,
    value_at,
)
from loadtests.bench.load.wrk import parse_output, scenario_requests, unexpected_non_2xx, wrk_script
from loadtests.bench.machine.environment import git_revision
from loadtests.bench.machine.host import Ticks, parse_stat, summed
from loadtests.bench.plan.config import (
    PROFILES,
    BenchConfig,
    curve_rates,
    parse_rates,
    parse_scenarios,
    parse_variants,
)
from loadtests.bench.plan.slices import (
    CAPACITY,
    FIXED,
    capacity_rounds,
    capacity_slices,
    curve_slices,
    curve_variants,
    curve_window_s,
    describe,
    estimate_s,
    in_process_s,
    server_starts,
    whole_plan,
)
from loadtests.bench.plan.variants import CATALOGUE, FLASK_GRANIAN, threads_per_worker, variants_by_key
from loadtests.bench.render.markers import replace_between
from loadtests.bench.render.output import link_latest, write_results
from loadtests.bench.render.readme import ANSWER_FASTER, update_readme
from loadtests.bench.render.report import render_report
from loadtests.bench.results.records import Measurement, load_measurements, save_measurements
from loadtests.bench.results.summary import build_summary
from loadtests.bench.results.trust import problems
from loadtests.bench.targets import processes
from loadtests.checks import (
    MODEL_MISSES,
    check_batch,
    check_health,
    check_invalid,
    check_penguin_prediction,
    check_prediction,
    labelled_rows,
)
from loadtests.scenarios import BATCH, HEALTH, INVALID, IO, PREDICT, SCENARIOS
from shared.examples import INVALID_PENGUIN, INVALID_PENGUIN_ERRORS, KNOWN_PENGUINS
from shared.limits import PENGUIN_FIELDS
from shared.model import load_model
from shared.observations import observations
from shared.settings import Settings
from tests.test_bench_analysis import CROSSCHECKED, CURVE, capacity, summary_of

MODEL = {"predict_one": {"cpu_us": 261.1}, "predict_many_100": {"cpu_us": 497.4}}


def prediction_body(species: str) -> dict[str, Any]:
    probabilities = {"Adelie": 0.01, "Chinstrap": 0.01, "Gentoo": 0.01, species: 0.98}
    return {"species": species, "probabilities": probabilities, "model_version": "1.0.0"}


# Response checks: a wrong answer is a failure.


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
    assert "status 503" in str(check_penguin_prediction(503, {"detail": "x"}, 1, "Adelie"))


# CPU, stolen time and other processes, from the processes' counters and /proc/stat.

SAMPLES = [
    Sample(
        at=float(t),
        server_cpu_s=0.5 * t,
        generator_cpu_s=0.2 * t if t < 3 else 0.6 + t - 3,
        server_steal=10.0 * t,  # 10 ticks a second of 100: 10% stolen
        server_ticks=100.0 * t,
        server_busy=80.0 * t,  # busy 80%, the server's own 50%: others took 30%
    )
    for t in range(7)
]


def test_cpu_is_interpolated_at_the_window_edges() -> None:
    assert value_at(SAMPLES, "server_cpu_s", 2.5) == pytest.approx(1.25)
    assert cpu_seconds_between(SAMPLES, "server_cpu_s", 0.5, 4.5) == pytest.approx(2.0)
    assert mean_percent(SAMPLES, "server_cpu_s", 1, 5) == pytest.approx(50)
    # Locust at 20% for three seconds, then at 100%: the busiest second is the one that counts.
    assert peak_percent(SAMPLES, "generator_cpu_s", 0, 6) == pytest.approx(100)


def test_steal_and_other_processes_are_shares_of_the_server_cpus_time() -> None:
    assert steal_percent(SAMPLES, "server", 1, 5) == pytest.approx(10)
    assert others_percent(SAMPLES, "server", 1, 5) == pytest.approx(30)
    assert steal_percent(SAMPLES, "generator", 1, 5) is None  # no ticks recorded: not Linux
    # Unpinned (the compose bench): the whole machine, less everything the bench knows it runs.
    unpinned = [replace(sample, generator_cpu_s=0.25 * sample.at, pinned=False) for sample in SAMPLES]
    assert others_percent(unpinned, "server", 1, 5) == pytest.approx(5)
    assert others_percent(unpinned, "generator", 1, 5) is None
    # Busy: user, nice and system; not idle, I/O wait, stolen, nor the interrupts' (irq 1 and softirq 2 on
    # cpu0: the traffic's own packets, nobody's process).
    stat = "cpu  10 0 5 78 1 1 2 3 0 0\ncpu0 4 0 2 38 1 1 2 2 0 0\ncpu1 6 0 3 40 0 0 0 1 0 0\nintr 1 2\n"
    ticks = parse_stat(stat)
    assert ticks["cpu0"] == Ticks(steal=2, total=50, busy=6)
    assert summed(ticks, [0, 1]) == Ticks(3, 100, 15) and summed(ticks, []) == ticks["cpu"]


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


def test_a_failed_or_slow_slice_is_not_clean() -> None:
    slice_ = capacity("flask-gunicorn-sync", 800, 1100, 1)
    failed = replace(slice_, failures=3, failure_messages=["POST /predict: species 'Adelie' (3x)"])
    assert "3 of 2400 requests failed: POST /predict" in problems(failed)[0]
    slow = replace(slice_, kind=FIXED, target_rate=900.0)
    assert "reached 800 of the 900 requests/s offered" in problems(slow)[0]
    assert problems(replace(slice_, error="Locust did not finish"))[0].endswith("Locust did not finish")
    upstream_bound = replace(slice_, upstream_cpu_max=95.0)
    assert "upstream-bound, the upstream reached 95%" in problems(upstream_bound)[0]
    shared_cpu = replace(slice_, generator_cpu_count=1, generator_side_cpu_max=93.0)
    assert "generator-bound, the generator's 1 CPU(s) were busy" in problems(shared_cpu)[0]


# Knobs, profiles and the plan.


def config_of(profile: str = "default", **changes: Any) -> BenchConfig:
    chosen = PROFILES[profile]
    config = BenchConfig(
        profile=chosen,
        scenarios=parse_scenarios("", chosen),
        rounds=chosen.rounds,
        duration_s=chosen.duration_s,
        warmup_s=chosen.warmup_s,
    )
    return replace(config, **changes)


def test_knobs_parse() -> None:
    default = PROFILES["default"]
    assert [s.name for s in parse_scenarios("", default)] == ["predict", "batch"]
    assert [s.name for s in parse_scenarios("all", default)] == list(SCENARIOS)
    assert [s.name for s in parse_scenarios("predict, batch,predict", default)] == ["predict", "batch"]
    with pytest.raises(ValueError, match="unknown scenario"):
        parse_scenarios("predict,nope", default)
    assert parse_variants("flask-granian, fastapi-granian") == ("flask-granian", "fastapi-granian")
    with pytest.raises(ValueError, match="unknown server variant"):
        parse_variants("flask-tornado")
    assert parse_rates("auto") == () and parse_rates("300, 100") == (100.0, 300.0)
    with pytest.raises(ValueError):
        parse_rates("-1")
    # The curve's rates: the grid's shares of the faster capacity, two significant digits.
    assert curve_rates((0.2, 0.45, 1.1), 1287.0) == [250.0, 570.0, 1400.0]
    assert curve_rates((0.2,), 1287.0, (100.0,)) == [100.0]


def test_each_profile_compares_what_it_says() -> None:
    default = config_of()
    predict, batch, io = SCENARIOS["predict"], SCENARIOS["batch"], SCENARIOS["io"]
    verdict = ["flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"]
    tuned = [f"{key}-gc-tuned" for key in verdict]
    # Flask beside both FastAPI forms and Flask at its best today; on batch the collector's tuning too.
    third = "flask_openapi-gunicorn-sync"
    assert [v.key for v in default.variants_for(predict)] == [*verdict, third]
    assert [v.key for v in default.variants_for(batch)] == [*verdict, third, *tuned]
    assert {v.collector for v in default.variants_for(batch)} == {"interpreter", "tuned"}
    # The budget goes to the precision rule: the curve is PROFILE=latency's.
    assert not default.curve_for(predict) and not default.curve_for(batch)
    assert default.wrk_for(predict) and not default.wrk_for(batch)
    assert default.profile.budget_s == 360 and {"default", "async-def-form", "gc-fastapi"} <= set(
        default.profile.lead
    )
    latency = config_of("latency")
    assert latency.curve_for(predict) and latency.curve_for(batch)  # capacity at the objective on both
    assert [v.key for v in latency.variants_for(batch)] == verdict
    servers = config_of("servers")
    assert [v.key for v in servers.variants_for(predict)] == [
        "flask-gunicorn-sync",
        "fastapi-uvicorn",
        "fastapi-granian",
        "flask-granian",
        "flask-gunicorn-sync-nginx",
        "fastapi-uvicorn-nginx",
    ]
    full = config_of("full")
    assert len(full.variants_for(batch)) == 11 and all(full.curve_for(s) for s in full.scenarios if s.curve)
    assert "fastapi-async-blocking" in [v.key for v in full.variants_for(io)] and not io.curve
    assert "fastapi-async-blocking" not in [v.key for v in full.variants_for(batch)]  # io only
    chosen = config_of(variant_keys=("flask-granian", "fastapi-granian"))
    assert [v.key for v in chosen.variants_for(predict)] == ["flask-granian", "fastapi-granian"]


def test_rounds_alternate_so_each_pair_runs_side_by_side() -> None:
    config = config_of("quick", rounds=4, scenarios=(SCENARIOS["batch"],))
    slices = capacity_slices(config, SCENARIOS["batch"])
    assert [s.variant[:5] for s in slices] == ["flask", "fasta", "fasta", "flask"] * 2
    assert [s.round for s in slices] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert server_starts(s.server for s in slices) == 2  # each server started once and kept


def test_scenarios_run_together_share_each_start_of_a_server_each_pair_side_by_side() -> None:
    config = config_of(rounds=2)
    slices = capacity_rounds(config, [SCENARIOS["predict"], SCENARIOS["batch"]])
    assert [(s.variant.split("-", 1)[1][:9], s.scenario[:2], s.generator[:1]) for s in slices[:13]] == [
        ("gunicorn-", "pr", "l"),  # scenario by scenario, every variant under Locust, then wrk's pair
        ("uvicorn", "pr", "l"),
        ("async-def", "pr", "l"),
        ("gunicorn-", "pr", "l"),  # flask_openapi's
        ("gunicorn-", "pr", "w"),  # the default pair under wrk too, on predict only
        ("uvicorn", "pr", "w"),
        ("gunicorn-", "ba", "l"),
        ("uvicorn", "ba", "l"),
        ("async-def", "ba", "l"),
        ("gunicorn-", "ba", "l"),
        ("gunicorn-", "ba", "l"),  # the three with the collector tuned, on batch only
        ("uvicorn-g", "ba", "l"),
        ("async-def", "ba", "l"),
    ]
    # Round 1: four variants on both scenarios, three tuned ones on batch, the default pair under wrk.
    assert [s.round for s in slices] == [1] * 13 + [2] * 13
    assert server_starts(s.server for s in slices) == 7  # each server started once and kept
    assert [s.variant for s in slices[13:14]] == ["flask_openapi-gunicorn-sync"]  # round 2 reversed


def test_each_curve_variant_runs_at_its_own_rates_with_windows_for_its_p99() -> None:
    config = config_of("latency")  # curve_answers 1000, 2 s windows
    assert curve_variants(["flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"]) == [
        "flask-gunicorn-sync",
        "fastapi-uvicorn",
        "fastapi-async-def",
    ]
    assert curve_variants(["flask-granian", "fastapi-granian"]) == ["flask-granian", "fastapi-granian"]
    curve = curve_slices(
        config, SCENARIOS["batch"], {"flask-gunicorn-sync": [70.0, 90.0], "fastapi-uvicorn": [600.0]}
    )
    assert [(s.variant[:5], s.rate, s.kind, s.duration_s) for s in curve] == [
        ("flask", 70.0, FIXED, 15),  # 1,000 answers at 70/s would take 15 s: the cap
        ("flask", 90.0, FIXED, 12),  # ceil(1000 / 90)
        ("fasta", 600.0, FIXED, 2),  # the profile's window already holds 1,200
    ]
    assert curve_window_s(config_of("quick"), 50.0) == 2  # quick counts no answers


def test_the_default_profile_fits_its_budget_and_says_so() -> None:
    default, quick = config_of(budget_s=360), config_of("quick")
    in_process = in_process_s(default, 2)  # the split of predict and batch, the glue
    rounds = estimate_s(default, whole_plan(default)) + in_process
    # The profile's rounds leave the precision rule at least a minute and a half of its six.
    assert rounds < default.budget_s - 90
    assert 40 < estimate_s(quick, whole_plan(quick)) + in_process_s(quick, 0) < 75  # about a minute
    text = describe(default, whole_plan(default), in_process)
    assert "predict: 4 variant(s) x 4 round(s) (the default pair under wrk too): 24 slice(s)" in text
    assert "batch: 7 variant(s) x 4 round(s): 28 slice(s)" in text and "7 server starts" in text
    assert "then the precision rule: rounds added until default, async-def-form, fastapi-over-flask" in text
    assert "the whole run at most 6 min (BUDGET_S)" in text
    assert "precision rule" not in describe(quick, whole_plan(quick))


def test_cpu_plan_pins_servers_and_locust_apart() -> None:
    two = processes.plan_cpus([0, 1], taskset=True)
    assert (two.server, two.generator, two.pinned) == ((0,), (1,), True)
    assert processes.plan_cpus([0, 1, 2, 3], taskset=True).server == (0, 1)
    assert not processes.plan_cpus([0], taskset=True).pinned
    assert "not pinned" in processes.plan_cpus(None, taskset=False).note
    assert processes.pinned(["python"], (0,)) == ["taskset", "-c", "0", "python"]


def test_locust_processes_knob_becomes_processes_option() -> None:
    plan = LoadPlan(SCENARIOS["io"], CAPACITY, 1, 32, 32.0, 2, 8, processes=4)
    command = locust_command(plan, "http://127.0.0.1:1", Path("run"))
    assert command[-3:] == ["--processes", "4", "IoUser"]
    assert "--processes" not in locust_command(replace(plan, processes=1), "http://127.0.0.1:1", Path("run"))
    fixed = locust_command(replace(plan, kind=FIXED, rate=250.0), "http://127.0.0.1:1", Path("run"))
    assert fixed[fixed.index("--rate") + 1] == "250"


# The server variants.


def test_variants_are_data_and_gthread_gets_a_thread_per_user() -> None:
    gthread, gevent, sync = (variants_by_key([key])[0] for key in IO_VARIANT_KEYS)
    assert (
        gthread.environment(workers=2, users=33)["GUNICORN_THREADS"] == "17" == str(threads_per_worker(33, 2))
    )
    assert (gthread.in_flight(2, 32), gevent.in_flight(2, 32), sync.in_flight(2, 32)) == (32, None, 2)
    assert not sync.keeps_alive and gthread.keeps_alive
    assert FLASK_GRANIAN.arguments("127.0.0.1", 8011, 2) == [
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        "8011",
        "--workers",
        "2",
        "--no-ws",
        "flask_service.app:app",
    ]
    assert len({v.key for v in CATALOGUE}) == len(CATALOGUE)
    with pytest.raises(ValueError, match="unknown server variant"):
        variants_by_key(["flask-tornado"])


IO_VARIANT_KEYS = ("flask-gunicorn-gthread", "flask-gunicorn-gevent", "flask-gunicorn-sync")


# wrk: the same requests as Locust's users, its output read.


def test_wrk_sends_what_the_locust_users_send() -> None:
    script = wrk_script("predict")
    for penguin in KNOWN_PENGUINS.values():
        assert f'{{"POST", "/predict", [[{json.dumps(penguin)}]]}}' in script
    assert '["Content-Type"] = "application/json"' in script
    assert '{"GET", "/health", nil}' in wrk_script("health")
    mixed = scenario_requests("mixed")
    assert len(mixed) == 100 and sum(r[1] == "/predict/batch" for r in mixed) == 5
    assert sum(r[2] == json.dumps(INVALID_PENGUIN) for r in mixed) == 10
    assert all(r[1].startswith("/penguins/") for r in scenario_requests("io"))


def test_wrk_output_and_the_422s_it_should_get() -> None:
    output = (
        "Running 3s test @ http://127.0.0.1:1/predict\n  1 threads and 32 connections\n"
        "  2913 requests in 3.00s, 1.01MB read\n  Non-2xx or 3xx responses: 291\nRequests/sec:    970.52\n"
    )
    assert parse_output(output) == {"requests": 2913, "rps": 970.52, "non_2xx": 291, "socket_errors": None}
    assert unexpected_non_2xx("mixed", 2913, 291) == 0  # its 10% invalid penguins
    assert unexpected_non_2xx("invalid", 2913, 2913) == 0
    assert unexpected_non_2xx("predict", 2913, 291) == 291


# io: the Little's-law bound and the report's explanations.


def io_slice(key: str, rps: float, cpu_us: float, p50: float, round_: int = 1) -> Measurement:
    return replace(
        capacity(key, rps, cpu_us, round_),
        scenario="io",
        by_name={IO: round(rps * 3)},
        latency_ms={"50": p50, "90": p50, "95": p50, "99": p50 * 1.1, "99.9": p50 * 1.2},
        mean_ms=p50,
        upstream_latency_ms=50.0,
        upstream_cpu_percent=6.0,
        upstream_cpu_max=9.8,
        generator_cpu_count=1,
        generator_side_cpu_max=25.0,
        server_cpu_percent=40.0 if "fastapi" not in key else 99.0,
    )


IO_SLICES = [
    io_slice("flask-gunicorn-sync", 18.6, 22_000, 1718.4),
    io_slice("fastapi-uvicorn", 309.5, 24_700, 83.5),
    io_slice("flask-gunicorn-gthread", 571.8, 11_200, 54.6),
    io_slice("flask-gunicorn-gevent", 499.6, 13_500, 60.9),
]


def io_summary(slices: list[Measurement]) -> dict[str, Any]:
    summary = summary_of(slices)
    environment = {
        **summary["environment"],
        "upstream": {"latency_ms": 50.0, "command": "env ... upstream.server", "config": "", "cpus": [1]},
        "variants": {v.key: {"in_flight": v.in_flight(1, 32), "note": v.note} for v in CATALOGUE},
    }
    return build_summary(environment, summary["verification"], summary["model"], slices)


def test_io_has_the_bound_and_each_variant_s_share(tmp_path: Path) -> None:
    summary = io_summary(IO_SLICES)
    entries = {f"{e['framework']}-{e['variant']}": e for e in summary["variants"]}
    for entry in entries.values():
        assert entry["littles_law_bound_rps"] == pytest.approx(640)
        assert entry["share_of_bound"] == pytest.approx(entry["rps"] / 640)
    sync = entries["flask-gunicorn-sync"]
    assert (sync["in_flight"], sync["variant_bound_rps"]) == (1, 20)
    report = render_report(summary, charts=())
    assert "## io: waiting on an upstream" in report
    assert "| Flask (gunicorn-gthread) | 572 | 640 | 89% | all 32 |" in report
    assert "its own bound is 1 / 50.0 ms = 20.0 requests/s, of which it reached 93%" in report
    assert (
        "FastAPI (uvicorn): 48% of the bound. It holds every user's request, but its CPU was the limit"
        in report
    )
    assert "never the bottleneck" in report
    write_results(tmp_path, summary)
    assert (tmp_path / "io.png").stat().st_size > 1000


# The results folder and the README's section.


def test_measurements_round_trip(tmp_path: Path) -> None:
    save_measurements(CROSSCHECKED, tmp_path / "measurements.json")
    assert load_measurements(tmp_path / "measurements.json") == CROSSCHECKED


def test_latest_points_at_the_newest_run(tmp_path: Path) -> None:
    for name in ("20260101T000000Z", "20260102T000000Z"):
        (tmp_path / name).mkdir()
        link_latest(tmp_path / name)
    assert (tmp_path / "latest").resolve() == (tmp_path / "20260102T000000Z").resolve()


def test_readme_results_are_replaced_between_their_markers(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    write_results(results, summary_of(CROSSCHECKED + CURVE))
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n<!-- bench:answer-faster -->\nold numbers\n<!-- /bench:answer-faster -->\n\n## Running\n"
    )
    argument = tmp_path / "docs" / "argument.md"
    argument.parent.mkdir()
    argument.write_text("| table |\n\n<!-- bench:speed -->\nPLACEHOLDER\n<!-- /bench:speed -->\n\n## Next\n")
    assert update_readme(results, repo=tmp_path) == readme
    speed = argument.read_text()
    assert "PLACEHOLDER" not in speed and speed.endswith("## Next\n")
    assert "- predict, each server direct: requests/s 1.5" in speed and "CPU per request 0.64x" in speed
    text = readme.read_text()
    assert "old" not in text and text.startswith("# Title") and text.endswith("## Running\n")
    assert "**Which is faster, and by how much?** FastAPI." in text
    docs = tmp_path / "docs" / "bench"
    assert (docs / "curve.png").stat().st_size > 1000  # the run's charts beside its report
    assert "# Benchmark method" in (docs / "method.md").read_text()
    results_page = (docs / "results.md").read_text()
    assert "## Pair ratios" in results_page and "](runs/" not in results_page
    assert replace_between("no markers", ANSWER_FASTER, "x") is None
    (tmp_path / "README.md").write_text("# No markers yet\n")
    assert update_readme(results, repo=tmp_path) == tmp_path / "loadtests" / "README-sections.md"


def test_the_commit_measured_is_marked_changed_by_code_not_by_the_pages_the_bench_writes(
    tmp_path: Path,
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs").mkdir()
    for name in ("code.py", "README.md", "docs/results.md"):
        (tmp_path / name).write_text("first\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    commit = git_revision(tmp_path)
    assert len(commit) >= 7 and "+" not in commit
    (tmp_path / "README.md").write_text("published\n")
    (tmp_path / "docs" / "results.md").write_text("published\n")
    assert git_revision(tmp_path) == commit  # a run published, not yet committed: the same code
    (tmp_path / "code.py").write_text("changed\n")
    assert git_revision(tmp_path) == f"{commit}+changes"
