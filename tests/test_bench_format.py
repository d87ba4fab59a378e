"""A run's result files say their format_version, and `python -m loadtests.bench report|readme` on a folder
of another version (or none, or no run at all) says so in one line and exits non-zero, before reading any
further. Recorded data only: no server starts."""

import json
from pathlib import Path

import pytest

from loadtests.bench import cli
from loadtests.bench.render.output import write_results
from loadtests.bench.results import records, summary
from loadtests.bench.results.records import load_measurements, save_measurements
from tests.test_bench_analysis import CROSSCHECKED, summary_of


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A bench run's folder as the runner leaves it: measurements.json, summary.json, report.md."""
    save_measurements(CROSSCHECKED, tmp_path / "measurements.json")
    write_results(tmp_path, summary_of(CROSSCHECKED))
    return tmp_path


def test_both_result_files_carry_their_format_version(run: Path) -> None:
    assert json.loads((run / "measurements.json").read_text())["format_version"] == records.FORMAT_VERSION
    assert json.loads((run / "summary.json").read_text())["format_version"] == summary.FORMAT_VERSION
    assert load_measurements(run / "measurements.json") == CROSSCHECKED
    assert cli.main(["report", str(run)]) == 0


def rewrite(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **changes}))


def one_line_refusal(capsys: pytest.CaptureFixture[str], command: str, run: Path) -> str:
    code = cli.main([command, str(run)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and err.startswith(f"python -m loadtests.bench {command}: "), err
    return err


@pytest.mark.parametrize("command", ["report", "readme"])
def test_a_summary_of_another_version_is_refused_in_one_line(
    run: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite(run / "summary.json", format_version=summary.FORMAT_VERSION + 1)
    before = (run / "report.md").read_text()
    err = one_line_refusal(capsys, command, run)
    assert f"summary.json: format_version {summary.FORMAT_VERSION + 1}, written at commit" in err
    assert f"this bench reads format_version {summary.FORMAT_VERSION}" in err
    assert (run / "report.md").read_text() == before  # nothing rewritten


def test_an_older_run_without_a_version_is_refused_in_one_line(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before format_version, measurements.json was a bare list of slices."""
    raw = json.loads((run / "measurements.json").read_text())["measurements"]
    (run / "measurements.json").write_text(json.dumps(raw))
    err = one_line_refusal(capsys, "report", run)
    assert "measurements.json: no format_version (an older bench)" in err


def test_a_folder_that_is_no_run_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_refusal(capsys, "report", tmp_path)
    assert "summary.json: no such file" in err
