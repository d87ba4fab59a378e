"""A short `make bench`, end to end: servers started in turn, verified, measured in pairs and on a curve;
summary.json has what it promises and the report agrees with it. Then io, with every variant it compares.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import REPO_ROOT

pytestmark = pytest.mark.live

# The default pair and the same-server pair: Flask and FastAPI both under Granian.
VARIANTS = ("flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-granian", "flask-granian")
RATES = (150.0, 300.0)


def bench(root: Path, *knobs: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "loadtests.bench", "run", "--results-dir", str(root), *knobs]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    done = bench(
        root,
        *("--profile", "quick", "--scenarios", "predict", "--variants", ",".join(VARIANTS)),
        *("--rounds", "2", "--duration", "1", "--warmup", "0", "--users", "8"),
        *("--rates", ",".join(f"{r:g}" for r in RATES)),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"report: {root}" in done.stdout and "| scenario | comparison |" in done.stdout
    assert "left]" in done.stdout  # progress, with the time left
    return (root / "latest").resolve()


@pytest.fixture(scope="module")
def summary(results: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((results / "summary.json").read_text())
    return loaded


def test_every_variant_was_verified_then_measured_in_alternating_rounds(summary: dict[str, Any]) -> None:
    assert set(summary["verification"]) == set(VARIANTS)
    assert all(v["passed"] for v in summary["verification"].values())
    capacity = [r for r in summary["runs"] if r["phase"] == "capacity"]
    order = [f"{r['framework']}-{r['variant']}" for r in capacity]
    assert order == [*VARIANTS, *reversed(VARIANTS)]
    assert "granian" in summary["verification"]["flask-granian"]["command"]
    environment = summary["environment"]
    assert "taskset" in environment["locust_command"] or "not pinned" in environment["cpu_plan"]["note"]
    # Each server started once, the first time its turn came, and kept for its later slices; each start
    # timed to its first healthy answer, and each slice's backlog drained before the next was timed.
    starts = environment["server_starts"]
    measured = [f"{r['framework']}-{r['variant']}" for r in summary["runs"]]
    assert [s["variant"] for s in starts] == list(dict.fromkeys(measured)) == list(VARIANTS)
    assert all(0 < s["startup_s"] < 30 for s in starts)
    assert {
        r["server_start"] for r in summary["runs"] if r["framework"] + r["variant"] == "fastapigranian"
    } == {3}
    assert all(r["drained_s"] is not None and 0 <= r["drained_s"] <= 5 for r in summary["runs"])


def test_every_slice_answered_right_and_records_the_machine(summary: dict[str, Any]) -> None:
    for run in summary["runs"]:
        assert run["failures"] == 0 and run["samples"] == run["requests"] > 0, run["run_dir"]
        assert run["server_cpu_us_per_request"] > 0
        assert {"steal_pct", "generator_steal_pct", "others_pct"} <= set(run)
        assert run["rss_mib"] > 20 and run["uss_mib"] > 5 and run["startup_s"] > 0
        assert isinstance(run["per_second"], list)  # whole seconds of a 1 s window: maybe none


def test_the_pairs_give_ratios_with_intervals(summary: dict[str, Any]) -> None:
    names = {(e["comparison"], e["metric"]) for e in summary["ratios"]}
    assert {("default", "rps"), ("default", "cpu_us_per_request"), ("same-server", "rps")} <= names
    for entry in summary["ratios"]:
        assert entry["pairs"] + entry["dropped"] == 2, entry
        if entry["pairs"]:
            assert entry["low"] is None or entry["low"] <= entry["ratio"] <= entry["high"]


def test_the_curve_is_corrected_and_read_for_the_objective(summary: dict[str, Any]) -> None:
    # Each curve climbs the rates in order and ends early only after a rate its service did not keep up
    # with (a busy host can make that the first): the shape, not how far a host lets it go.
    for framework in ("flask", "fastapi"):
        own = [p for p in summary["curve"] if p["framework"] == framework]
        assert [p["offered_rps"] for p in own] == list(RATES[: len(own)]) and own
        assert len(own) == len(RATES) or not own[-1]["keeps_up"]
    assert all(p["corrected"] and p["samples"] > 0 and p["p99_ms"] > 0 for p in summary["curve"])
    slo = summary["capacity_at_slo"]
    assert slo["slo_ms"] == 50 and {"flask-gunicorn-sync/predict", "fastapi-uvicorn/predict"} <= set(slo)


def test_the_cross_check_ran_where_wrk_is_installed(summary: dict[str, Any]) -> None:
    # The quick profile cross-checks nothing; the report says what there is.
    assert summary["crosscheck"] == []
    assert summary["environment"]["wrk"] == (shutil.which("wrk") is not None)


def test_the_report_matches_the_summary(results: Path, summary: dict[str, Any]) -> None:
    report = (results / "report.md").read_text()
    verdict = report.split("## Verdict")[1].split("![")[0].strip().split("\n\n")
    assert 1 <= len(verdict) <= 6
    assert report.index("## Verdict") < report.index("](curve.png)") < report.index("## Pair ratios")
    for run in summary["runs"]:
        assert run["run_dir"].removeprefix("runs/") in report
    for chart in ("curve.png", "ratios.png"):
        assert (results / chart).stat().st_size > 1000
    measured = json.loads((results / "measurements.json").read_text())["measurements"]
    assert [m["requests"] for m in measured] == [r["requests"] for r in summary["runs"]]
    assert all(m["histogram"] for m in measured)  # the raw record keeps what the analysis reads


# io: the upstream started by the bench, and every server variant that io compares, one round.
IO_VARIANTS = (
    "flask-gunicorn-sync",
    "fastapi-uvicorn",
    "flask-gunicorn-gthread",
    "flask-gunicorn-gevent",
    "fastapi-async-blocking",
    "flask-async-view",
)


def test_io_runs_every_variant_against_the_bench_upstream(tmp_path: Path) -> None:
    done = bench(
        tmp_path,
        # The quick profile: no in-process split or glue price, which this test does not read (17 s of it).
        *("--profile", "quick", "--scenarios", "io", "--variants", ",".join(IO_VARIANTS), "--rounds", "1"),
        *("--duration", "1", "--warmup", "0", "--users", "8", "--upstream-latency-ms", "20"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = (tmp_path / "latest").resolve()
    summary = json.loads((results / "summary.json").read_text())
    assert summary["environment"]["upstream"]["latency_ms"] == 20
    assert all(v["passed"] for v in summary["verification"].values())
    checks = summary["verification"]["fastapi-uvicorn"]["checks"]
    assert any(check["name"].startswith("GET /penguins/") for check in checks)
    assert [f"{e['framework']}-{e['variant']}" for e in summary["variants"]] == list(IO_VARIANTS)
    for entry in summary["variants"]:
        assert entry["failures"] == 0 and entry["requests"] > 0, entry
        assert entry["littles_law_bound_rps"] == pytest.approx(400)
        assert entry["share_of_bound"] == pytest.approx(entry["rps"] / 400)
        assert entry["upstream_cpu_max"] is not None
    assert summary["curve"] == []  # io has no latency curve
    assert (results / "io.png").is_file() and "](io.png)" in (results / "report.md").read_text()
    assert (results / "logs" / "upstream.log").is_file()
