"""docs/argument.md: its line counts are the repository's, and its measured figures and the sentences that
read them are generated from one run (loadtests/bench/render/argument.py). Recorded and synthetic
summaries only; the arithmetic and the choice of sentence are checked, never a host's figure."""

import ast
import difflib
import re
from pathlib import Path
from typing import Any

import pytest

from loadtests.bench.render import argument
from loadtests.bench.render.readme import CHOOSE, CHOOSE_DEAR, update_readme
from loadtests.bench.results.records import save_measurements
from tests import hostile, test_parity
from tests.test_bench_analysis import CROSSCHECKED, summary_of

REPO = Path(__file__).resolve().parent.parent
ARGUMENT = REPO / "docs" / "argument.md"


def lines(path: str) -> int:
    return len((REPO / path).read_text().splitlines())


def lines_not_in(path: str, other: str = "fastapi_service/schemas.py") -> int:
    """The lines of `path` that are not lines of `other`, in order (difflib's matching blocks)."""
    ours, theirs = ((REPO / p).read_text().splitlines() for p in (path, other))
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    return len(ours) - sum(block.size for block in matcher.get_matching_blocks())


def restx_start(path: str) -> int:
    """The line of the first top-level statement that uses flask-restx's Model or fields."""
    tree = ast.parse((REPO / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & {"Model", "fields"}:
            return node.lineno
    raise AssertionError(f"no restx model in {path}")


def test_the_line_counts_are_the_repositorys() -> None:
    text = ARGUMENT.read_text()
    flask_schemas, start = lines("flask_service/schemas.py"), restx_start("flask_service/schemas.py")
    docs = [
        lines(f"{package}/docs.py")
        for package in ("flask_service", "fastapi_service", "flask_openapi_service")
    ]
    assert f"`docs.py` {docs[0]} / {docs[1]} / {docs[2]} lines" in text
    assert f"Flask's `schemas.py` ends in {flask_schemas - start + 1} lines of restx models" in text
    assert f"Flask `schemas.py` {start - 1} lines of marshmallow before its restx models" in text
    assert f"FastAPI `schemas.py` {lines('fastapi_service/schemas.py')} lines that also document" in text
    flask_glue, fastapi_glue = lines("flask_service/contract.py"), lines("fastapi_service/contract.py")
    third_glue = lines("flask_openapi_service/contract.py")
    assert (
        f"**{flask_glue} lines on Flask, {fastapi_glue} on FastAPI, {third_glue} on Flask-OpenAPI3**" in text
    )
    own, not_fastapis = (
        lines("flask_openapi_service/schemas.py"),
        lines_not_in("flask_openapi_service/schemas.py"),
    )
    assert f"Flask-OpenAPI3 `schemas.py` {own} lines, of which {not_fastapis} are not FastAPI's" in text
    assert f"for {len(test_parity.CORPUS)} requests (`tests/test_parity.py`)" in text
    assert f"and {len(hostile.CORPUS)} hostile ones (`tests/hostile.py`)" in text


def test_every_measured_figure_sits_between_markers() -> None:
    """Outside the markers, no figure of a run: no ratio (1.23x), no µs, no requests/s."""
    text = ARGUMENT.read_text()
    for start, end in (argument.SPEED, argument.FINDINGS, argument.GLUE, argument.ASYNC, CHOOSE, CHOOSE_DEAR):
        assert text.count(start) == text.count(end) == 1
        head, rest = text.split(start)
        text = head + rest.split(end)[1]
    assert re.findall(r"\d\.\d+x|µs|\d requests/s", text) == []


LAYERS = {"model_us": 258.0, "serialization_us": 10.0}
SPLIT = [
    {"framework": "flask", "scenario": "batch", "validation_us": 2060.0, "app_us": 4544.0, **LAYERS},
    {"framework": "fastapi", "scenario": "batch", "validation_us": 154.0, "app_us": 1874.0, **LAYERS},
    {"framework": "flask", "scenario": "predict", "validation_us": 18.8, "app_us": 527.0, **LAYERS},
    {"framework": "fastapi", "scenario": "predict", "validation_us": 2.4, "app_us": 567.0, **LAYERS},
]
CPU = {"service_cpu_us": 100.0, "reference_cpu_us": 95.0}
GLUE = {
    "flask": {
        "health": {"ratio": 1.07, "ratio_min": 1.06, "ratio_max": 1.08, "pairs": 3, **CPU},
        "predict": {"ratio": 1.02, "ratio_min": 1.01, "ratio_max": 1.03, "pairs": 3, **CPU},
    },
    "fastapi": {
        "health": {"ratio": 1.03, "ratio_min": 0.94, "ratio_max": 1.04, "pairs": 3, **CPU},
        "predict": {"ratio": 0.68, "ratio_min": 0.64, "ratio_max": 1.06, "pairs": 3, **CPU},
    },
}
ENVIRONMENT = {
    "command": "python -m loadtests.bench run",
    "started_at": "2026-12-06T03:08:03",
    "git": "abc1234",
}


def summary(**parts: Any) -> dict[str, Any]:
    return {"environment": ENVIRONMENT, "glue": {}, "variants": [], "split": [], "waterfall": [], **parts}


def test_validation_is_read_from_the_split_where_the_two_differ_most() -> None:
    sentence = argument.validation_finding(summary(split=SPLIT))
    assert sentence.startswith("- **Validation costs Flask CPU as well as code.**")
    # batch: 2,060 - 154 = 1,906 µs more, 1,906 / 4,544 = 41.9% of Flask's app.
    assert "On batch, marshmallow with that glue takes 2,060 µs" in sentence and "pydantic 154 µs" in sentence
    assert "1,906 µs more, 41.9% of Flask's app in-process (4,544 µs" in sentence
    assert "Elsewhere: predict 18.8 against 2.40 µs." in sentence


def test_the_third_stack_s_validation_is_read_beside_the_other_two() -> None:
    third = {**SPLIT[1], "framework": "flask_openapi", "validation_us": 171.0}
    sentence = argument.validation_finding(summary(split=[*SPLIT, third]))
    assert (
        "Flask with pydantic (flask-openapi3) and its glue takes 171 µs on batch, near pydantic's" in sentence
    )
    slow = {**third, "validation_us": 1900.0}
    assert "1,900 µs on batch, nearer marshmallow's" in argument.validation_finding(
        summary(split=[*SPLIT, slow])
    )
    assert "flask-openapi3" not in argument.validation_finding(summary(split=SPLIT))


def test_validation_within_a_tenth_of_the_app_costs_code_not_cpu() -> None:
    close = [{**e, "validation_us": 500.0 if e["framework"] == "flask" else 100.0} for e in SPLIT[:2]]
    sentence = argument.validation_finding(summary(split=close))
    assert sentence.startswith("- **Validation costs Flask code, not CPU.**")
    assert "400 µs more, 8.80% of Flask's app" in sentence  # 400 / 4,544, under COSTS_CPU


def test_the_glue_s_price_is_quoted_with_its_range_and_its_run() -> None:
    cell = argument.glue_cell(summary(glue=GLUE))
    assert "the median of 3 alternated pairs" in cell
    assert "Flask 1.07x [1.06-1.08] on `/health`, 1.02x [1.01-1.03] on `/predict`" in cell
    assert "FastAPI 1.03x [0.94-1.04] on `/health`, 0.68x [0.64-1.06] on `/predict`" in cell
    assert "commit abc1234" in cell
    sentence = argument.validation_finding(summary(split=SPLIT, glue=GLUE))
    assert "own stack (`/health` and `/predict`): Flask 1.02-1.07x; FastAPI 0.68-1.03x." in sentence


def io_variant(framework: str, variant: str, rps: float, users: int = 32) -> dict[str, Any]:
    bound = users / 0.05
    return {
        "scenario": "io",
        "framework": framework,
        "variant": variant,
        "rps": rps,
        "clean": True,
        "users": users,
        "upstream_latency_ms": 50.0,
        "littles_law_bound_rps": bound,
        "share_of_bound": rps / bound,
    }


IO = [
    io_variant("flask", "gunicorn-sync", 18.2),
    io_variant("fastapi", "uvicorn", 559.0),
    io_variant("flask", "gunicorn-gthread", 516.0),
    io_variant("flask", "gunicorn-gevent", 476.0),
    io_variant("fastapi", "async-blocking", 17.3),
    io_variant("flask", "async-view", 17.8),
]


def test_async_is_read_from_the_io_run() -> None:
    cell = argument.async_cell(summary(variants=IO))
    assert "32 users, 50 ms upstream, bound 640 requests/s" in cell
    assert "Flask (gunicorn-gthread) 516" in cell and "FastAPI (async-blocking) (a mistake) 17.3" in cell
    sentence = argument.async_finding(summary(variants=IO))
    # The best Flask worker that is neither the sync default nor a mistake: gthread, 516 / 559 = 0.92x.
    assert sentence.startswith("- **Async is mostly the worker model.**")
    assert "Flask under gunicorn-gthread reaches 0.92x FastAPI's requests/s (516 against 559)" in sentence
    assert (
        "the sync worker, one request at a time, reaches 3% of the Little's-law bound" in sentence
    )  # 18.2/640
    slow = [
        io_variant("flask", "gunicorn-gthread", 300.0) if e["variant"] == "gunicorn-gthread" else e
        for e in IO
    ]
    slow = [e for e in slow if e["variant"] != "gunicorn-gevent"]
    assert argument.async_finding(summary(variants=slow)).startswith(
        "- **Async is more than the worker model.**"
    )


def test_the_cpu_bound_gap_is_read_from_the_waterfall() -> None:
    fall = {
        "scenario": "predict",
        "flask_us": 1001.0,
        "fastapi_us": 784.0,
        "steps": [{"name": "server and connection model", "delta_us": -257.0}],
        "control": {"cpu_ratio": 0.94},
    }
    sentence = argument.gap_finding(summary(waterfall=[fall]))
    assert sentence == (
        "- **Where the CPU-bound gap comes from.** On predict, of -217 µs of CPU per request from Flask to "
        "FastAPI, the biggest step is server and connection model (-257), and under one server (Granian) the "
        "frameworks differ by 0.94x."
    )


def test_a_split_without_clean_load_figures_gives_no_gap() -> None:
    sentence = argument.gap_finding(summary(split=SPLIT))
    assert "split each app but measured no clean pair of servers" in sentence and "µs" not in sentence


@pytest.mark.parametrize(
    "finding", [argument.validation_finding, argument.async_finding, argument.gap_finding]
)
def test_a_run_without_the_figure_names_the_command_and_quotes_no_number(finding: Any) -> None:
    sentence = finding(summary())
    assert "make bench" in sentence and not re.search(r"\d", sentence.replace("SCENARIOS=io", ""))


def test_readme_writes_every_part_of_the_argument_from_one_run(tmp_path: Path) -> None:
    """On a recorded run: the markers' contents are replaced, the table rows stay one line, the rest stays."""
    run = tmp_path / "run"
    run.mkdir()
    save_measurements(CROSSCHECKED, run / "measurements.json")
    recorded = summary_of(CROSSCHECKED, split=SPLIT)
    recorded["glue"] = GLUE
    from loadtests.bench.render.output import write_results

    write_results(run, recorded)
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "README.md").write_text("<!-- bench:answer-faster -->\n<!-- /bench:answer-faster -->\n")
    page = ARGUMENT.read_text()
    (docs / "argument.md").write_text(page)
    update_readme(run, repo=tmp_path)
    written = (docs / "argument.md").read_text()
    assert "Validation costs Flask CPU as well as code." in written
    assert "Flask 1.07x [1.06-1.08] on `/health`" in written
    rows = [line for line in written.splitlines() if line.startswith("| **")]
    assert len(rows) == len([line for line in page.splitlines() if line.startswith("| **")])
    assert any(argument.GLUE[0] in row and argument.GLUE[1] in row for row in rows)
    assert (
        written.split(argument.SPEED[0])[0].split("| point |")[0]
        == page.split(argument.SPEED[0])[0].split("| point |")[0]
    )
    assert written.split("## Reproduce")[1] == page.split("## Reproduce")[1]


def test_running_md_quotes_the_glue_s_lines() -> None:
    """docs/running.md's section on the third service gives its glue's length beside the other two."""
    text = (REPO / "docs" / "running.md").read_text()
    flask, fastapi = lines("flask_service/contract.py"), lines("fastapi_service/contract.py")
    third = lines("flask_openapi_service/contract.py")
    glue = f"({third} lines,\nagainst Flask's {flask} and FastAPI's {fastapi};"
    assert f"`flask_openapi_service/contract.py` {glue}" in text
