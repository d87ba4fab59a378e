"""A bench run stopped half-way loses at most the slice it was measuring: each slice is appended to
measurements.json as it ends, with the run's state in run.json (loadtests/bench/results/state.py). Stopped by
SIGTERM, or its process killed outright, it leaves a folder `report` makes a partial report of, saying how far
the run got; results/latest still names the last complete run, and `readme` refuses the folder in one line.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import psutil
import pytest

from loadtests.bench import cli
from loadtests.bench.results.records import Measurement, append_measurement, read_measurements
from loadtests.bench.results.state import (
    COMPLETE,
    INTERRUPTED,
    RUNNING,
    IncompleteRun,
    how_far,
    read_state,
    require_complete,
    write_state,
)
from shared.settings import REPO_ROOT
from tests.test_bench_analysis import capacity

KNOBS = (
    *("--profile", "quick", "--scenarios", "predict", "--variants", "flask-gunicorn-sync,fastapi-uvicorn"),
    *("--rounds", "2", "--duration", "1", "--warmup", "0", "--users", "4", "--rates", "40,80"),
)


def measurement(n: int) -> Measurement:
    return capacity("flask-gunicorn-sync" if n % 2 else "fastapi-uvicorn", 100.0 + n, 1000.0, n)


def test_a_measurements_file_cut_mid_append_reads_up_to_its_last_whole_slice(tmp_path: Path) -> None:
    path = tmp_path / "measurements.json"
    for n in range(3):
        append_measurement(measurement(n), path)
    assert [m.round for m in read_measurements(path)[0]] == [0, 1, 2]
    assert json.loads(path.read_text())["format_version"] == 1  # whole JSON between appends
    whole = path.read_text()
    path.write_text(whole[: whole.rindex('"round"')])  # killed while writing the third
    measured, complete = read_measurements(path)
    assert [m.round for m in measured] == [0, 1] and not complete
    assert asdict(measured[1]) == asdict(measurement(1))


def test_a_run_whose_process_is_gone_is_interrupted_not_running(tmp_path: Path) -> None:
    write_state(tmp_path, RUNNING, 9, 28, {"environment": {}})
    assert (read_state(tmp_path) or {}).get("state") == RUNNING  # this process: alive
    state = json.loads((tmp_path / "run.json").read_text())
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / "run.json").write_text(json.dumps({**state, "pid": int(gone.stdout)}))
    read = read_state(tmp_path)
    assert read is not None and read["state"] == INTERRUPTED
    assert (
        how_far(read)
        == "interrupted by SIGKILL or a crash (its process ended without a word) after 9 of about 28 slices"
    )
    with pytest.raises(IncompleteRun, match=r"not a complete run .*interrupted by SIGKILL"):
        require_complete(tmp_path)
    write_state(tmp_path, COMPLETE, 28, 28, {})
    require_complete(tmp_path)


def start_bench(root: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "loadtests.bench", "run", "--results-dir", str(root), *KNOBS]
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def a_previous_complete_run(root: Path) -> Path:
    """results/latest as a finished run left it."""
    previous = root / "20200101T000000Z"
    previous.mkdir(parents=True)
    (root / "latest").symlink_to(previous.name, target_is_directory=True)
    return previous


def run_folder(root: Path) -> Path:
    (folder,) = [
        p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "20200101T000000Z"
    ]
    return folder


def when_slices_measured(root: Path, bench: subprocess.Popen[str], count: int) -> list[psutil.Process]:
    """Wait until the run has appended `count` slices; its processes then."""
    deadline = time.monotonic() + 180
    while True:
        assert bench.poll() is None and time.monotonic() < deadline, "the bench ended or took too long"
        folders = [p for p in root.iterdir() if (p / "measurements.json").exists()]
        if folders and len(read_measurements(folders[0] / "measurements.json")[0]) >= count:
            return psutil.Process(bench.pid).children(recursive=True)
        time.sleep(0.2)


def none_left(processes: list[psutil.Process], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes):
            return True
        time.sleep(0.1)
    return False


def refused_by_readme(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """`readme` on the folder: its exit code 2 and its one line; the README is never touched."""
    monkeypatch.setattr(cli, "update_readme", lambda results: pytest.fail("readme took an incomplete run"))
    assert cli.main(["readme", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    return err


@pytest.mark.live
def test_sigterm_half_way_leaves_a_partial_report_and_latest_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = a_previous_complete_run(tmp_path)
    bench = start_bench(tmp_path)
    try:
        started = when_slices_measured(tmp_path, bench, 2)
        os.killpg(bench.pid, signal.SIGTERM)
        output, _ = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
    assert bench.returncode == 128 + signal.SIGTERM, output
    assert none_left(started, 5)
    folder = run_folder(tmp_path)
    measured, whole = read_measurements(folder / "measurements.json")
    assert whole and len(measured) >= 2
    state = read_state(folder)
    assert state is not None and (state["state"], state["reason"]) == (INTERRUPTED, "SIGTERM")
    assert f"partial: interrupted by SIGTERM after {len(measured)} of about" in output
    report = (folder / "report.md").read_text()
    assert f"**A partial run**: interrupted by SIGTERM after {len(measured)} of about" in report
    assert (tmp_path / "latest").resolve() == previous.resolve()
    assert "not a complete run (interrupted by SIGTERM" in refused_by_readme(folder, monkeypatch, capsys)


@pytest.mark.live
def test_the_bench_killed_outright_leaves_what_it_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = a_previous_complete_run(tmp_path)
    bench = start_bench(tmp_path)
    try:
        started = when_slices_measured(tmp_path, bench, 1)
        bench.kill()  # no clean-up runs: its servers and Locust end with it (shared/lifecycle.py)
        bench.communicate(timeout=30)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
    assert none_left(started, 20), [p.cmdline() for p in started if p.is_running()]
    folder = run_folder(tmp_path)
    assert not (folder / "summary.json").exists()
    assert cli.main(["report", str(folder)]) == 0
    out = capsys.readouterr().out
    measured = len(read_measurements(folder / "measurements.json")[0])
    assert (
        f"partial: interrupted by SIGKILL or a crash (its process ended without a word) after {measured}"
        in out
    )
    assert "**A partial run**: interrupted by SIGKILL or a crash" in (folder / "report.md").read_text()
    assert (tmp_path / "latest").resolve() == previous.resolve()
    assert "not a complete run" in refused_by_readme(folder, monkeypatch, capsys)
