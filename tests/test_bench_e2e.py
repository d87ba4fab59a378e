"""A short `make bench`, end to end: both servers started, verified and measured; summary and report agree."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import REPO_ROOT

pytestmark = pytest.mark.live

SCENARIOS = ["predict", "invalid"]
VARIANTS = {("flask", "gunicorn-sync"), ("fastapi", "uvicorn")}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    command = [
        *(sys.executable, "-m", "loadtests.bench", "run", "--scenarios", ",".join(SCENARIOS)),
        *("--duration", "1", "--warmup", "1", "--users", "8", "--results-dir", str(root)),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"report: {root}" in done.stdout and "| scenario |" in done.stdout
    return (root / "latest").resolve()


@pytest.fixture(scope="module")
def summary(results: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((results / "summary.json").read_text())
    return loaded


def test_both_services_were_verified_then_measured(summary: dict[str, Any]) -> None:
    assert all(v["passed"] for v in summary["verification"].values())
    measured = {(run["framework"], run["variant"], run["scenario"]) for run in summary["runs"]}
    assert measured == {(f, v, s) for f, v in VARIANTS for s in SCENARIOS}
    environment = summary["environment"]
    assert {"cpu_model", "cores", "os", "python", "packages", "server_commands"} <= set(environment)
    assert "taskset" in environment["locust_command"] or "not pinned" in environment["cpu_plan"]["note"]
    assert {"gunicorn", "uvicorn", "locust", "flask", "fastapi"} <= set(environment["packages"])


def test_every_run_answered_right_at_the_rate_asked(summary: dict[str, Any]) -> None:
    for run in summary["runs"]:
        assert run["failures"] == 0 and run["fixed_failures"] == 0, run
        assert run["requests"] > 0 and run["rps"] > 0
        assert 0 < run["rate"] < run["rps"]
        assert run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"]
        assert run["server_cpu_us_per_request"] > 0
        assert run["model_cpu_us_per_request"] == (
            pytest.approx(summary["model"]["predict_one"]["cpu_us"]) if run["scenario"] == "predict" else 0
        )


def test_the_files_of_every_run_are_there(results: Path, summary: dict[str, Any]) -> None:
    records = [r for run in summary["runs"] for r in run["capacity_runs"] + run["fixed_runs"]]
    assert len(records) == len(SCENARIOS) * len(VARIANTS) * 2
    for record in records:
        run_dir = results / record["run_dir"]
        for name in ("locust_stats.csv", "report.html", "stats.json", "window.json", "locust.log"):
            assert (run_dir / name).is_file(), run_dir / name
    assert len(list((results / "logs").glob("*.log"))) == len(VARIANTS)


def test_report_matches_the_summary(results: Path, summary: dict[str, Any]) -> None:
    report = (results / "report.md").read_text()
    for run in summary["runs"]:
        assert f"## {run['scenario']}" in report
        for record in run["capacity_runs"] + run["fixed_runs"]:
            assert f"[{record['run_dir']}]" in report
    for chart in ("throughput.png", "latency.png", "cpu.png"):
        assert (results / chart).is_file() and f"]({chart})" in report
    measured = json.loads((results / "measurements.json").read_text())
    assert sum(m["requests"] for m in measured) == sum(
        run["requests"] + run["fixed_requests"] for run in summary["runs"]
    )


# io: the upstream started by the bench, and every server variant that io compares.
IO_VARIANTS = {
    ("flask", "gunicorn-sync"),
    ("fastapi", "uvicorn"),
    ("flask", "gunicorn-gthread"),
    ("flask", "gunicorn-gevent"),
    ("fastapi", "async-blocking"),
    ("flask", "async-view"),
}


@pytest.fixture(scope="module")
def io_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("io-results")
    command = [
        *(sys.executable, "-m", "loadtests.bench", "run", "--scenarios", "io"),
        *("--duration", "1", "--warmup", "1", "--users", "8", "--upstream-latency-ms", "20"),
        *("--results-dir", str(root)),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "io:" in done.stdout and "| server |" in done.stdout
    return (root / "latest").resolve()


def test_io_runs_every_variant_against_the_bench_upstream(io_results: Path) -> None:
    summary = json.loads((io_results / "summary.json").read_text())
    environment = summary["environment"]
    assert environment["upstream"]["latency_ms"] == 20
    assert "upstream.server" in environment["upstream"]["command"]
    assert all(v["passed"] for v in summary["verification"].values())
    checks = summary["verification"]["fastapi-uvicorn"]["checks"]
    assert any(check["name"].startswith("GET /penguins/") for check in checks)
    assert {(run["framework"], run["variant"]) for run in summary["runs"]} == IO_VARIANTS
    for run in summary["runs"]:
        assert run["failures"] == 0 and run["requests"] > 0, run
        assert run["users"] == 8 and run["upstream_latency_ms"] == 20
        assert run["littles_law_bound_rps"] == pytest.approx(400)
        assert run["share_of_bound"] == pytest.approx(run["rps"] / 400)
        assert run["fixed_runs"] == [] and run["upstream_cpu_max"] is not None
        assert [r["generator_processes"] for r in run["capacity_runs"]] == [1]
    assert (io_results / "io.png").is_file() and "](io.png)" in (io_results / "report.md").read_text()
    assert (io_results / "logs" / "upstream.log").is_file()
