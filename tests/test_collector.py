"""shared/collector.py: each worker's start-up heap frozen, its collections recorded when asked, and the bench
reading them back into a slice. Whatever freezes runs in a subprocess: freezing pytest's own heap is not
wanted."""

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests.bench.load.locust import read_figures
from loadtests.bench.load.sampling import Sample, Sampler
from loadtests.bench.results.figures import curve_points, variant_figures
from loadtests.bench.results.records import load_measurements, save_measurements
from loadtests.recorder import LatencyRecorder
from loadtests.scenarios import PREDICT
from shared.collector import GcPauses, pauses_between
from shared.settings import REPO_ROOT
from tests.test_bench_analysis import capacity, point


def python(code: str, **env: str) -> str:
    """Run `code` in a fresh interpreter at the repository's root, with none of the collector's variables
    unless given; its standard output."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GC_") and k != "SWITCH_INTERVAL_MS"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env={**environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_each_collection_is_one_line_in_the_processs_own_file(tmp_path: Path) -> None:
    before = time.time()
    out = python(
        """
        import gc, time
        from shared import collector
        collector.install()
        collector.install()  # as a second app built in one process does
        gc.collect(); gc.collect(); gc.collect(); gc.collect(0)
        print(sum(isinstance(c, collector.PauseRecorder) for c in gc.callbacks), time.time())
        """,
        GC_PAUSES_DIR=str(tmp_path / "gc"),
    )
    after = time.time()
    recorders, asked = out.split()
    assert recorders == "1"
    (log,) = (tmp_path / "gc").glob("gc-*.log")
    lines = [line.split() for line in log.read_text().splitlines()]
    assert all(len(line) == 3 for line in lines)
    # The interpreter collects on its own too (young generations as it allocates, a full one at exit); until
    # the script's last collection, the three full ones asked for are there once each.
    generations = [int(g) for at, _, g in lines if float(at) <= float(asked)]
    assert generations.count(2) == 3 and generations[-1] == 0
    assert all(float(ms) >= 0 for _, ms, _ in lines)
    assert all(before <= float(at) <= after for at, _, _ in lines)


def test_a_forked_child_records_into_its_own_file(tmp_path: Path) -> None:
    out = python(
        """
        import gc, os
        from shared import collector
        collector.install()
        gc.collect()
        child = os.fork()
        if child == 0:
            gc.collect(); gc.collect()
            os._exit(0)
        os.waitpid(child, 0)
        print(child)
        """,
        GC_PAUSES_DIR=str(tmp_path),
    )
    child = int(out)
    files = {path.name: path.read_text().splitlines() for path in tmp_path.glob("gc-*.log")}
    assert len(files) == 2 and len(files[f"gc-{child}.log"]) >= 2


def test_pauses_are_counted_within_the_window_from_every_process(tmp_path: Path) -> None:
    (tmp_path / "gc-11.log").write_text("99.5 40.0 2\n100.0 1.5 0\n101.0 12.0 2\n102.5 80.0 2\n")
    # Killed in the middle of its last write: that line has no newline and is not counted.
    (tmp_path / "gc-12.log").write_text("100.5 0.5 1\n102.0 3.0 0\n102.1 9")
    (tmp_path / "other.log").write_text("101.0 500.0 2\n")
    assert pauses_between(tmp_path, 100.0, 102.0) == GcPauses(count=4, max_ms=12.0, total_ms=17.0, full=1)
    assert pauses_between(tmp_path, 200.0, 300.0) == GcPauses(count=0, max_ms=0.0, total_ms=0.0, full=0)
    assert pauses_between(tmp_path / "missing", 100.0, 102.0) is None


SETTLED = """
    import gc
    from shared.collector import settle_after_startup
    print(gc.get_freeze_count(), gc.get_threshold()[0])
    settle_after_startup()
    print(gc.get_freeze_count(), gc.get_threshold()[0])
    """


@pytest.mark.parametrize(
    ("env", "frozen", "young"),
    [
        # Served as each framework's docs serve it: the interpreter's collector.
        ({}, False, 700),
        ({"GC_TUNING": "0"}, False, 700),
        # The tuning: both halves.
        ({"GC_TUNING": "1"}, True, 10_000),
        # Either half alone, over the tuning or without it (the tail experiments).
        ({"GC_TUNING": "1", "GC_FREEZE": "0"}, False, 10_000),
        ({"GC_TUNING": "1", "GC_THRESHOLD": "700"}, True, 700),
        ({"GC_FREEZE": "1"}, True, 700),
        ({"GC_THRESHOLD": "5000"}, False, 5000),
    ],
)
def test_the_interpreters_collector_unless_tuned(env: dict[str, str], frozen: bool, young: int) -> None:
    before, after = (line.split() for line in python(SETTLED, **env).splitlines())
    assert before == ["0", "700"]
    assert (int(after[0]) > 0, int(after[1])) == (frozen, young)


@pytest.mark.parametrize("tuning", ["0", "1"])
@pytest.mark.parametrize("package", ["flask_service", "flask_openapi_service"])
def test_flask_settles_when_its_app_is_built(tuning: str, package: str) -> None:
    """Both Flask services settle the collector where their factory ends, the model and client made."""
    out = python(
        f"""
        import gc
        import {package}.app
        print(gc.get_freeze_count() > 0, gc.get_threshold()[0])
        """,
        GC_TUNING=tuning,
    )
    assert out.split() == (["True", "10000"] if tuning == "1" else ["False", "700"])


@pytest.mark.parametrize("tuning", ["0", "1"])
def test_fastapi_settles_in_its_lifespan_after_the_model(tuning: str) -> None:
    out = python(
        """
        import gc
        from fastapi.testclient import TestClient
        from fastapi_service.app import app
        print(gc.get_freeze_count() > 0, gc.get_threshold()[0])
        with TestClient(app):
            print(gc.get_freeze_count() > 0, gc.get_threshold()[0])
        """,
        GC_TUNING=tuning,
    )
    imported, started = out.splitlines()
    assert imported.split() == ["False", "700"]
    assert started.split() == (["True", "10000"] if tuning == "1" else ["False", "700"])


def synthetic_slice(run_dir: Path, start: float, end: float) -> None:
    recorder = LatencyRecorder()
    recorder.start(start)
    for i in range(10):
        recorder.record(PREDICT, 2.0 + i, False, start + 0.2 * i + 0.1)
    recorder.stop(end)
    recorder.write(run_dir / "window.json")


def test_a_slice_carries_the_servers_pauses_over_its_window(tmp_path: Path) -> None:
    start, end = 1000.0, 1002.0
    synthetic_slice(tmp_path, start, end)
    gc_dir = tmp_path / "gc"
    gc_dir.mkdir()
    (gc_dir / "gc-7.log").write_text("999.0 100.0 2\n1000.5 2.5 0\n1001.0 30.0 2\n")
    (gc_dir / "gc-8.log").write_text("1001.5 4.0 1\n1003.0 90.0 2\n")
    sampler = Sampler(os.getpid(), os.getpid())  # never started: its readings are the test's
    sampler.samples += [Sample(999.0, 0.0, 0.0), Sample(1003.0, 3.0, 0.5)]
    figures = read_figures(tmp_path, sampler, gc_dir=gc_dir)
    m = replace(capacity("fastapi-uvicorn", 1.0, 1.0, 1), **figures)
    assert (m.gc_pauses, m.gc_pause_max_ms, m.gc_pause_total_ms, m.gc_full_collections) == (3, 30.0, 36.5, 1)
    (entry,) = variant_figures([m])
    assert entry["gc_pauses_per_s"] == pytest.approx(1.5) and entry["gc_pause_max_ms"] == 30.0
    # Without a folder (an attached server), nothing was recorded: None, not zero.
    assert read_figures(tmp_path, sampler)["gc_pauses"] is None
    # measurements.json written before these fields existed still loads, of the same format_version.
    path = tmp_path / "measurements.json"
    save_measurements([m], path)
    record = json.loads(path.read_text())
    record["measurements"] = [
        {k: v for k, v in e.items() if not k.startswith("gc_")} for e in record["measurements"]
    ]
    path.write_text(json.dumps(record))
    assert load_measurements(path)[0].gc_pauses is None


def test_each_point_of_the_curve_carries_its_pauses() -> None:
    m = replace(point("flask-gunicorn-sync", 120.0, 120.0, 30.0), gc_pauses=12, gc_pause_max_ms=95.0)
    (curved,) = curve_points([m])
    assert (curved["gc_pauses"], curved["gc_pause_max_ms"]) == (12, 95.0)
