"""The verdict on recorded-shaped data: both FastAPI forms beside Flask, the generator that kept both servers
busy, the capacity at the objective per variant with the collector's pauses, and the tail experiments'
table. Synthetic slices, so every figure is known in advance; no timing."""

import json
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests.bench import tail
from loadtests.bench.plan.slices import WRK
from loadtests.bench.plan.variants import CATALOGUE, FASTAPI_UVICORN, FLASK_SYNC
from loadtests.bench.render.readme import ANSWER_FASTER, FORMS, update_readme
from loadtests.bench.render.verdict import forms_paragraph, generator_sentence, verdict
from loadtests.bench.results.records import Measurement
from tests.test_bench_analysis import PAIRS, capacity, point, rounds, summary_of

FLASK, DEF, ASYNC = "flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"


def forms(flask: list[float], async_def: list[float]) -> list[Measurement]:
    """PAIRS with an `async def` slice beside each round's Flask one (same round, so they pair)."""
    return PAIRS + [capacity(ASYNC, rps, 600.0, index) for index, rps in enumerate(async_def, start=1)]


def test_both_fastapi_forms_stand_beside_flask_in_the_verdict_and_in_summary_json() -> None:
    summary = summary_of(forms([881, 812, 799, 786], [1500, 1550, 1450, 1520]))
    per_form = {
        e["comparison"]: e
        for e in summary["ratios"]
        if e["metric"] == "rps" and e["comparison"] in {"default", "async-def-form"}
    }
    assert (per_form["default"]["numerator"], per_form["async-def-form"]["numerator"]) == (DEF, ASYNC)
    assert per_form["async-def-form"]["denominator"] == FLASK
    ratios = [b / a for a, b in zip([881, 812, 799, 786], [1500, 1550, 1450, 1520], strict=True)]
    assert per_form["async-def-form"]["ratio"] == pytest.approx(statistics.geometric_mean(ratios))
    lines = verdict(summary)
    assert lines[0].startswith("**FastAPI (uvicorn) against Flask (gunicorn-sync)**")
    assert lines[1].startswith("**FastAPI (async-def) against Flask (gunicorn-sync)**")
    assert "predict 1.8" in lines[1]  # 1500/881 .. 1550/812: their geometric mean is 1.84


def busy(slices: list[Measurement], key: str, generator: str, percent: float) -> list[Measurement]:
    return [
        replace(m, server_cpu_percent=percent) if (m.key, m.generator) == (key, generator) else m
        for m in slices
    ]


def test_the_verdict_leads_with_the_generator_that_kept_both_servers_busy() -> None:
    # wrk finds Flask 40% faster, and only under wrk was Flask's CPU busy: Locust measured itself.
    wrk = [
        replace(m, rps=m.rps * 1.4, server_cpu_s=m.server_cpu_s * 1.4) if m.framework == "flask" else m
        for m in rounds([881, 812, 799, 786], [1254, 1298, 1196, 1288], WRK)
    ]
    slices = busy(busy(PAIRS + wrk, FLASK, "locust", 90.0), FLASK, WRK, 99.0)
    summary = summary_of(slices)
    [check] = summary["crosscheck"]
    assert check["differ"] and check["saturated"] == [WRK]
    lines = verdict(summary)
    assert "predict under wrk 1.1" in lines[0]  # 1.52 / 1.4: wrk's figure leads, and says so
    said = generator_sentence(summary) or ""
    assert "only wrk kept every server 97% busy" in said and "under Locust 90" in said
    assert "each request also cost" not in said  # CPU per request the same under both here
    # FastAPI's requests cost 1.3x the CPU under Locust: the sentence says so too.
    dearer = [
        replace(m, server_cpu_s=m.server_cpu_s * 1.3) if (m.key, m.generator) == (DEF, "locust") else m
        for m in slices
    ]
    assert "under Locust each request also cost FastAPI (uvicorn) 1.30x the CPU" in (
        generator_sentence(summary_of(dearer)) or ""
    )
    # Both busy under both and within 10%: they agree, and the verdict reads Locust's figure.
    agree = summary_of(
        busy(PAIRS + rounds([881, 812, 799, 786], [1254, 1298, 1196, 1288], WRK), DEF, WRK, 99)
    )
    assert agree["crosscheck"][0]["saturated"] == ["locust", WRK]
    assert "agree within 10%" in (generator_sentence(agree) or "")
    assert "under wrk" not in verdict(agree)[0]


def test_without_wrk_the_verdict_says_the_cross_check_did_not_run_and_how_to_get_it() -> None:
    summary = summary_of(PAIRS)
    summary["environment"].update(wrk=False, wrk_planned=True)
    said = generator_sentence(summary) or ""
    assert "Not cross-checked" in said and "apt-get install wrk" in said
    assert said in verdict(summary)
    summary["environment"].update(wrk_planned=False)  # a profile with no cross-check: nothing to say
    assert generator_sentence(summary) is None


def test_capacity_at_the_objective_is_per_variant_with_the_collectors_pauses_beside_it() -> None:
    curve = [
        replace(point(FLASK, 400, 399, 20.0, samples=1200), gc_pauses=30, gc_pause_max_ms=0.2),
        replace(point(FLASK, 520, 430, 900.0, samples=1300), gc_pauses=35, gc_pause_max_ms=0.3),
        replace(point(DEF, 600, 598, 95.0, samples=1200), gc_pauses=800, gc_pause_max_ms=104.0),
        replace(point(ASYNC, 650, 649, 12.0, samples=1300), gc_pauses=700, gc_pause_max_ms=3.0),
        replace(point(ASYNC, 840, 838, 30.0, samples=1700), gc_pauses=900, gc_pause_max_ms=4.5),
    ]
    summary = summary_of(forms([881, 812, 799, 786], [1500, 1550, 1450, 1520]) + curve)
    slo = summary["capacity_at_slo"]
    # Flask: met at 400, fell behind at 520 (nothing read past it); `def`: missed at its only rate;
    # `async def`: met at both, so its highest is a lower bound.
    assert (slo[f"{FLASK}/predict"], slo[f"{DEF}/predict"], slo[f"{ASYNC}/predict"]) == (400, None, 840)
    assert slo["bounded"] == [f"{ASYNC}/predict"]
    assert slo["answers"] == {f"{FLASK}/predict": 1200, f"{DEF}/predict": 1200, f"{ASYNC}/predict": 1700}
    [line] = [line for line in verdict(summary) if line.startswith("**Capacity at p99 < 50 ms**")]
    assert "Flask (gunicorn-sync) 400 (GC ≤ 0.30 ms)" in line  # the longest pause at any of its rates
    assert "FastAPI (uvicorn) none (GC ≤ 104 ms)" in line
    assert "FastAPI (async-def) ≥ 840 (GC ≤ 4.50 ms)" in line
    table = forms_paragraph(summary)
    assert "| predict |" in table and "| 400 / none / ≥ 840 |" in table


def test_a_default_run_writes_the_forms_table_and_a_servers_run_only_its_own_part(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    markers = "\n".join([*FORMS, ""])
    (tmp_path / "docs" / "reading-the-diff.md").write_text(f"# Reading\n\n{markers}")
    (tmp_path / "README.md").write_text("\n".join(ANSWER_FASTER))
    run = tmp_path / "run"
    run.mkdir()
    summary = summary_of(forms([881, 812, 799, 786], [1500, 1550, 1450, 1520]))
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "report.md").write_text("# report\n")
    update_readme(run, tmp_path)
    diff = (tmp_path / "docs" / "reading-the-diff.md").read_text()
    assert "| predict | 1.54x [1.39-1.70] ⚠ | 1.84x" in diff and "`async def` / `def` |\n" in diff
    assert "at the objective" not in diff  # no curve in this run: the latency profile's
    readme = (tmp_path / "README.md").read_text()
    assert "With `async def` views, the model on the event loop: about 1.8 times" in readme
    # A servers run writes its own page, and leaves the answers and the forms as the default run wrote them.
    summary["environment"]["profile"] = "servers"
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "report.md").write_text("# servers report\n")
    update_readme(run, tmp_path)
    assert (tmp_path / "README.md").read_text() == readme
    assert (tmp_path / "docs" / "bench" / "servers.md").read_text() == "# servers report\n"
    assert (tmp_path / "docs" / "reading-the-diff.md").read_text() == diff


def test_gunicorns_sync_worker_runs_as_many_workers_as_its_docs_advise() -> None:
    assert (FLASK_SYNC.workers(1), FLASK_SYNC.workers(2)) == (3, 5)  # 2 x CPUs + 1
    assert (FASTAPI_UVICORN.workers(1), FASTAPI_UVICORN.workers(2)) == (1, 2)
    behind = next(v for v in CATALOGUE if v.key == "flask-gunicorn-sync-nginx")
    assert behind.workers(1) == 3  # the same gunicorn behind nginx
    assert FLASK_SYNC.in_flight(FLASK_SYNC.workers(1), 32) == 3


def test_locust_looks_up_a_numeric_host_in_its_loop_and_a_name_as_before() -> None:
    """In a subprocess: importing the Locust file patches the interpreter (gevent)."""
    code = (
        "from loadtests.locustfile import numeric_host as n;"
        "print(n('http://127.0.0.1:8001'), n('http://[::1]:80'), n('http://flask:8001'), n(''))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "False", "False"]


def test_the_tail_table_puts_each_p99_beside_the_collections_behind_it() -> None:
    fastapi = next(e for e in tail.EXPERIMENTS if e.name == "fastapi-def-off")
    slice_ = replace(
        point(DEF, 120, 119.6, 161.0, samples=2400),
        corrected_latency_ms={"50": 10.1, "99": 161.0, "99.9": 184.0},
        max_ms=191.0,
        gc_pauses=3290,
        gc_full_collections=14,
        gc_pause_max_ms=108.7,
        gc_pause_total_ms=1600.0,
    )
    row = tail.row(fastapi, 120.0, slice_)
    assert (row["p99_ms"], row["gc_full_collections"], row["keeps_up"], row["env"]) == (
        161.0,
        14,
        True,
        {"GC_TUNING": "0"},  # the interpreter's collector, whatever the caller's environment says
    )
    failed = tail.row(fastapi, 60.0, None, "did not start")
    table = tail.table([row, failed])
    lines = table.splitlines()
    assert lines[2].startswith("| 60.0 |") and "did not start" in lines[2]  # lowest rate first
    assert "| 161 | 191 | 3290 (14) | 109 |" in lines[3]
    with pytest.raises(SystemExit, match="unknown experiment"):
        tail.chosen("fastapi-def,nope")
    assert [e.name for e in tail.chosen("flask,fastapi-def")] == ["flask", "fastapi-def"]
    assert {e.variant for e in tail.EXPERIMENTS} <= {v.key for v in CATALOGUE}


def test_the_tail_page_is_written_again_from_its_figures_alone(tmp_path: Path) -> None:
    experiment = next(e for e in tail.EXPERIMENTS if e.name == "fastapi-def")
    slice_ = replace(point(DEF, 60, 60.0, 15.7, samples=1200), gc_pauses=0, gc_full_collections=0)
    summary = {
        "command": "python -m loadtests.bench.tail --docs",
        "started_at": "2026-12-06T11:27:53+00:00",
        "environment": {"cpu_model": "Intel(R) Xeon(R) Processor", "cores": 2, "git": "35a2d1f"},
        "scenario": "batch",
        "seconds": 20,
        "rows": [tail.row(experiment, 60.0, slice_)],
    }
    source = tmp_path / "tail.json"
    source.write_text(json.dumps(summary))
    assert tail.main(["--from", str(source)]) == 0
    written = (tmp_path / "tail.md").read_text()
    assert "commit 35a2d1f" in written and "| 60.0 | FastAPI `def` tuned" in written
    assert "Why one framework's tail" in written
