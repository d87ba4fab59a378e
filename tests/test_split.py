"""Where the CPU per request goes: the in-process split of every app (loadtests/bench/inprocess/split.py), and
the waterfall the analysis builds from it and the load's figures, on recorded data."""

import json
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.inprocess.microbench import run_microbench
from loadtests.bench.inprocess.split import (
    SCENARIOS,
    checked,
    finished,
    flask_openapi_layers,
    measure_split,
    payload,
)
from loadtests.bench.render.readme import update_readme
from loadtests.bench.render.report import render_report
from loadtests.bench.render.split_report import waterfall_paragraph
from loadtests.bench.render.verdict import verdict
from loadtests.bench.results.waterfall import completed_split, waterfall
from loadtests.scenarios import BATCH_SIZE
from shared.settings import Settings
from tests.test_bench_analysis import PAIRS, capacity, summary_of


@pytest.fixture(scope="module")
def measured() -> list[dict[str, Any]]:
    """A short split of every app, every layer's answer checked."""
    model = run_microbench()
    return measure_split(("predict", "invalid"), model, concurrency=4, repeats=3, target_s=0.02, rounds=1)


def test_every_app_is_split_into_its_layers(measured: list[dict[str, Any]]) -> None:
    assert [(e["framework"], e["scenario"]) for e in measured] == [
        ("flask", "predict"),
        ("fastapi", "predict"),
        ("flask_openapi", "predict"),
        ("flask", "invalid"),
        ("fastapi", "invalid"),
        ("flask_openapi", "invalid"),
    ]
    for entry in measured:
        assert entry["app_us"] > entry["validation_us"] > 0
        if entry["scenario"] == "predict":
            assert entry["app_us"] > entry["model_us"] > 0 and entry["serialization_us"] > 0
        else:
            assert entry["model_us"] == 0 and entry["serialization_us"] is None


def test_the_third_service_s_layers_answer_what_its_app_answers() -> None:
    """Its validation layer's 422 is its app's (the callback located at the body), and its serialization's
    bytes are what its view and Flask write."""
    from flask_openapi_service.app import create_app

    layers = {
        scenario: flask_openapi_layers(scenario, Settings(), stack := ExitStack()) for scenario in SCENARIOS
    }
    try:
        status, body = layers["invalid"]["app"]()
        assert (status, json.loads(layers["invalid"]["validation"]())) == (422, json.loads(body))
        client = create_app().test_client()
        served = client.post("/predict", json=payload("predict")).get_data()
        assert layers["predict"]["serialization"]() == served
        assert len(json.loads(layers["batch"]["serialization"]())["predictions"]) == BATCH_SIZE
    finally:
        stack.close()


def test_a_layer_that_answers_wrong_cannot_be_timed() -> None:
    with pytest.raises(AssertionError, match="predict app: unexpected answer"):
        checked(lambda: (500, b'{"detail": "Internal Server Error"}'), "predict", "app")
    answers = iter([(200, b'{"species": "Gentoo"}'), (200, b'{"species": "Adelie"}')])
    again = checked(lambda: next(answers), "predict", "app")
    with pytest.raises(AssertionError, match="changed while timing"):
        again()


def test_a_handler_that_never_waits_is_run_without_a_loop() -> None:
    async def handler() -> int:
        return 422

    assert finished(handler()) == 422


# The split completed with the load's figures, and the waterfall, on recorded data.

SPLIT = [
    {"framework": "flask", "scenario": "predict", "model_us": 272.0, "app_us": 505.0, "validation_us": 16.1,
     "serialization_us": 14.6},
    {"framework": "fastapi", "scenario": "predict", "model_us": 272.0, "app_us": 486.0, "validation_us": 1.9,
     "serialization_us": 3.1},
    {"framework": "flask", "scenario": "invalid", "model_us": 0.0, "app_us": 260.0, "validation_us": 66.9,
     "serialization_us": None},
]  # fmt: skip
GRANIAN = [
    replace(capacity(key, rps, cpu, index), run_dir=f"runs/{index}-{key}")
    for index in (1, 2, 3, 4)
    for key, rps, cpu in (("fastapi-granian", 1495.0, 640.0), ("flask-granian", 1456.0, 680.0))
]
KEYS = {"flask": "flask-gunicorn-sync", "fastapi": "fastapi-uvicorn"}


def test_the_server_s_share_is_the_load_s_cpu_less_the_app_s() -> None:
    completed = completed_split(SPLIT, PAIRS, KEYS)
    flask = completed[0]
    assert flask["server_cpu_us"] == pytest.approx(1100) and flask["server_us"] == pytest.approx(1100 - 505)
    assert flask["framework_us"] == pytest.approx(505 - 272 - 16.1 - 14.6)
    assert completed[1]["server_us"] == pytest.approx(700 - 486) and completed[1]["variant"] == "uvicorn"
    assert completed[2]["server_us"] is None  # invalid was not measured under load
    fall = waterfall(completed, "predict")
    assert fall is not None and (fall["flask_us"], fall["fastapi_us"]) == (
        pytest.approx(1100),
        pytest.approx(700),
    )
    assert sum(step["delta_us"] for step in fall["steps"]) == pytest.approx(700 - 1100)
    assert fall["steps"][0]["layer"] == "server_us"  # the biggest step first
    assert waterfall(completed, "invalid") is None


def test_the_report_and_the_readme_say_where_the_difference_comes_from(tmp_path: Path) -> None:
    summary = summary_of(PAIRS + GRANIAN, SPLIT)
    fall = summary["waterfall"][0]
    assert fall["control"]["cpu_ratio"] == pytest.approx(640 / 680) and fall["control"]["pairs"] == 4
    paragraph = waterfall_paragraph(summary)
    assert paragraph is not None and "the biggest step is **server and connection model, -381**" in paragraph
    assert "Under one server (Granian) the two frameworks differ by 0.94x" in paragraph
    report = render_report(summary, ["waterfall.png"])
    assert paragraph in report and "| the app, in-process | 505 | 486 | -19.0 |" in report
    assert any("server and connection model -381 µs" in line for line in verdict(summary))
    results = tmp_path / "results"
    results.mkdir()
    (results / "summary.json").write_text(json.dumps(summary))
    (results / "report.md").write_text(report)
    (tmp_path / "README.md").write_text("<!-- bench:answer-why -->\n<!-- /bench:answer-why -->\n")
    update_readme(results, repo=tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert "the biggest step, 381 µs, is the server and its connection model" in readme
    assert paragraph in (tmp_path / "docs" / "bench" / "results.md").read_text()


def test_a_split_timed_on_a_busy_machine_or_gone_negative_says_not_to_trust_it() -> None:
    from loadtests.bench.results.summary import build_summary

    recorded = summary_of(PAIRS)
    costly = [{**SPLIT[1], "app_us": 900.0}, SPLIT[0]]  # FastAPI's app over its 700 µs under load
    summary = build_summary(
        recorded["environment"], recorded["verification"], recorded["model"], PAIRS, costly, {},
        {"others_pct": 35.0, "steal_pct": 0.0},
    )  # fmt: skip
    assert summary["in_process_machine"] == {
        "others_pct": 35.0,
        "steal_pct": 0.0,
        "spread_pct": None,
        "disturbed": True,
    }
    paragraph = waterfall_paragraph(summary) or ""
    assert "Other processes took 35.0% of the servers' CPU" in paragraph
    assert "A server's share came out negative" in paragraph
    calm = summary_of(PAIRS, SPLIT)
    assert "not to be trusted" not in (waterfall_paragraph(calm) or "")


THIRD = {"framework": "flask_openapi", "scenario": "predict", "model_us": 272.0, "app_us": 420.0,
         "validation_us": 1.8, "serialization_us": 6.0}  # fmt: skip
THIRD_SLICES = [capacity("flask_openapi-gunicorn-sync", 1000.0, 900.0, index) for index in (1, 2, 3, 4)]


def test_flask_at_its_best_today_is_the_waterfalls_middle_stop(tmp_path: Path) -> None:
    """Flask (1,100 µs) to Flask-OpenAPI3 (900 µs, the same server: the stack) to FastAPI (700 µs: the
    framework and its server): each leg's steps add up to the difference between its stops."""
    summary = summary_of(PAIRS + THIRD_SLICES, [*SPLIT, THIRD])
    [fall] = summary["waterfall"]
    via = fall["via"]
    assert (via["framework"], via["variant"]) == ("flask_openapi", "gunicorn-sync")
    assert via["cpu_us"] == pytest.approx(900.0)
    assert sum(s["delta_us"] for s in via["stack_steps"]) == pytest.approx(900 - 1100)
    assert sum(s["delta_us"] for s in via["framework_steps"]) == pytest.approx(700 - 900)
    stack = {s["layer"]: s["delta_us"] for s in via["stack_steps"]}
    assert stack["validation_us"] == pytest.approx(1.8 - 16.1)  # pydantic's, as FastAPI's
    paragraph = waterfall_paragraph(summary) or ""
    assert (
        "Flask at its best today (Flask-OpenAPI3 (gunicorn-sync)) stands at 900 µs between them" in paragraph
    )
    report = render_report(summary, ["waterfall.png"])
    heads = (
        "| Flask (gunicorn-sync) | Flask-OpenAPI3 (gunicorn-sync) | FastAPI (uvicorn) | FastAPI less Flask |"
    )
    assert heads in report
    assert "| the app, in-process | 505 | 420 | 486 | -19.0 |" in report
    from loadtests.bench.render.split_report import waterfall_chart

    assert waterfall_chart(summary, tmp_path / "w.png") and (tmp_path / "w.png").stat().st_size > 1000
    assert summary_of(PAIRS, SPLIT)["waterfall"][0]["via"] is None  # without the third: two stops
