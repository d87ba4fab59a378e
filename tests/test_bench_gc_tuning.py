"""Defaults first, the collector's tuning beside them: the bench's tuned variants, the ratios that name each
side's collector, the verdict's line, and the pages that recommend the tuning with its figures. Made-up
slices; no server starts here."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests.bench import tail
from loadtests.bench.plan.variants import CATALOGUE, GC_TUNED_VARIANTS
from loadtests.bench.render.readme import ANSWER_FASTER, COLLECTOR, update_readme
from loadtests.bench.render.verdict import collector_sentence, verdict
from loadtests.bench.results.records import Measurement
from tests.test_bench_analysis import CURVE, capacity, point, summary_of

FLASK, DEF, ASYNC = "flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"
TUNED = "-gc-tuned"


def batch_rounds(rps: dict[str, float], rounds: int = 4) -> list[Measurement]:
    """Every variant once per round on batch, requests/s as given (±1% alternately), CPU its inverse."""
    return [
        replace(capacity(key, value * (1.01 if index % 2 else 0.99), 1e6 / value, index), scenario="batch")
        for index in range(1, rounds + 1)
        for key, value in rps.items()
    ]


MEASURED = {
    FLASK: 216.0,
    DEF: 355.0,
    ASYNC: 606.0,
    FLASK + TUNED: 217.0,
    DEF + TUNED: 561.0,
    ASYNC + TUNED: 678.0,
}


def test_each_variant_states_its_collector_whatever_the_environment_says() -> None:
    known = {v.key: v for v in CATALOGUE}
    assert known[FLASK].environment(3, 32)["GC_TUNING"] == "0"  # the interpreter's, said out loud
    assert [v.key for v in GC_TUNED_VARIANTS] == [FLASK + TUNED, DEF + TUNED, ASYNC + TUNED]
    tuned = known[DEF + TUNED]
    assert tuned.environment(1, 32)["GC_TUNING"] == "1" and tuned.collector == "tuned"
    assert tuned.label == "FastAPI (uvicorn, collector tuned)"
    assert (tuned.module, tuned.workers_rule) == (
        known[DEF].module,
        known[DEF].workers_rule,
    )  # all else alike


def test_every_ratio_names_its_sides_collector_and_the_verdict_gives_the_tunings_effect() -> None:
    summary = summary_of(batch_rounds(MEASURED))
    by_name = {e["comparison"]: e for e in summary["ratios"] if e["metric"] == "rps"}
    assert by_name["default"]["collector"] == {"numerator": "interpreter", "denominator": "interpreter"}
    assert by_name["gc-fastapi"]["collector"] == {"numerator": "tuned", "denominator": "interpreter"}
    assert by_name["default-gc-tuned"]["collector"] == {"numerator": "tuned", "denominator": "tuned"}
    assert by_name["gc-fastapi"]["ratio"] == pytest.approx(561 / 355, rel=1e-3)
    assert by_name["default-gc-tuned"]["ratio"] == pytest.approx(561 / 217, rel=1e-3)
    said = collector_sentence(summary) or ""
    assert said.startswith("**The collector tuned** (`GC_TUNING=1` on both services")
    assert (
        "on batch Flask 1.00x" in said
        and "FastAPI `def` 1.58x" in said
        and "FastAPI `async def` 1.12x" in said
    )
    assert "FastAPI over Flask then 2.59x" in said and "(`def`)" in said and "against 1.64x" in said
    assert said in verdict(summary)
    assert collector_sentence(summary_of(batch_rounds({FLASK: 216.0, DEF: 355.0}))) is None  # not measured


def test_a_default_run_writes_the_tunings_throughput_into_the_deployment_page(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary_of(batch_rounds(MEASURED))))
    (run / "report.md").write_text("# report\n")
    (tmp_path / "docs").mkdir()
    deployment = tmp_path / "docs" / "deployment.md"
    deployment.write_text(f"# Deployment\n\nhand-written\n\n{COLLECTOR[0]}\nold\n{COLLECTOR[1]}\n\nafter\n")
    (tmp_path / "README.md").write_text("\n".join(ANSWER_FASTER))
    update_readme(run, tmp_path)
    page = deployment.read_text()
    assert "hand-written" in page and page.endswith("after\n") and "\nold\n" not in page
    assert "| batch | FastAPI (uvicorn) | 355 → 561 | 1.58x [" in page
    assert "**The collector tuned**" in page and "[bench/tail.md](bench/tail.md)" in page


def test_the_tail_run_writes_its_p99s_where_the_deployment_page_recommends_the_tuning(tmp_path: Path) -> None:
    experiments = {e.name: e for e in tail.EXPERIMENTS}
    rows = [
        tail.row(
            experiments["fastapi-def-off"],
            120.0,
            replace(point(DEF, 120, 119.0, 167.0), gc_full_collections=14),
        ),
        tail.row(
            experiments["fastapi-def"], 120.0, replace(point(DEF, 120, 119.0, 19.5), gc_full_collections=0)
        ),
        tail.row(
            experiments["flask-off"], 120.0, replace(point(FLASK, 120, 119.0, 60.0), gc_full_collections=0)
        ),
    ]
    summary = {
        "command": "python -m loadtests.bench.tail --docs",
        "started_at": "2026-12-07T01:00:00+00:00",
        "environment": {"cpu_model": "Intel(R) Xeon(R) Processor", "cores": 2, "git": "abc1234"},
        "scenario": "batch",
        "seconds": 20,
        "rows": rows,
    }
    deployment = tmp_path / "deployment.md"
    deployment.write_text(f"intro\n{tail.DEPLOYMENT_MARKERS[0]}\n{tail.DEPLOYMENT_MARKERS[1]}\nend\n")
    tail.write_docs(summary, tmp_path / "bench" / "tail.md", deployment)
    written = deployment.read_text()
    assert "commit abc1234" in written and "- At 120 requests/s, FastAPI `def` as served" in written
    assert "its p99 was 167 ms; tuned, its longest pause" in written and "p99 19.5 ms" in written
    assert (tmp_path / "bench" / "tail.md").read_text().startswith("# The tail, one cause at a time")


def test_a_latency_run_writes_only_its_own_part(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    summary = summary_of(CURVE)
    summary["environment"]["profile"] = "latency"
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "report.md").write_text("# latency report\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"{ANSWER_FASTER[0]}\nHEADLINE\n{ANSWER_FASTER[1]}\n")
    update_readme(run, tmp_path)
    assert readme.read_text() == f"{ANSWER_FASTER[0]}\nHEADLINE\n{ANSWER_FASTER[1]}\n"
    assert (tmp_path / "docs" / "bench" / "latency.md").read_text() == "# latency report\n"


def test_flask_at_its_best_splits_fastapis_lead_into_the_stack_and_the_framework() -> None:
    """FastAPI 1.6x Flask; the third service (Flask with pydantic) 1.2x Flask: the stack is log 1.2 / log 1.6
    of the lead, 39%."""
    slices = batch_rounds({FLASK: 500.0, DEF: 800.0, "flask_openapi-gunicorn-sync": 600.0})
    said = next(
        line for line in verdict(summary_of(slices)) if line.startswith("**Flask at its best today**")
    )
    assert (
        "FastAPI (uvicorn) over it batch 1.33x" in said
        and "it over Flask (flask-restx, marshmallow) batch 1.20x" in said
    )
    assert "the stack is 39% on batch" in said
