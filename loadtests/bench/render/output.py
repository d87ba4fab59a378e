"""Write a run's results: summary.json, the charts, report.md, and the results/latest link (complete runs
only: a partial run's report says first how far it got, results/state.py)."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.render.charts import write_charts
from loadtests.bench.render.report import headline_text, render_report
from loadtests.bench.results.crossover import cards_as_timed
from loadtests.bench.results.records import FormatError, read_measurements
from loadtests.bench.results.state import ended, how_far, read_state
from loadtests.bench.results.summary import build_summary, read_summary


def write_results(results_dir: Path, summary: Mapping[str, Any]) -> tuple[Path, str]:
    """Everything a person reads; returns the report's path and the verdict and ratios to print."""
    (results_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = write_report(results_dir, summary)
    if not summary["environment"].get("interrupted"):
        link_latest(results_dir)
    return report, headline_text(summary)


def write_report(results_dir: Path, summary: Mapping[str, Any]) -> Path:
    charts = write_charts(summary, results_dir)
    report = results_dir / "report.md"
    report.write_text(render_report(summary, charts))
    return report


def link_latest(results_dir: Path) -> None:
    """results/latest -> the newest run, relative so that the results folder can be moved."""
    latest = results_dir.parent / "latest"
    temporary = results_dir.parent / ".latest.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(results_dir.name, target_is_directory=True)
    temporary.replace(latest)


def rebuilt_summary(results_dir: Path) -> dict[str, Any]:
    """The summary analysed afresh from the raw records (measurements.json, and inprocess.json: the model,
    the split and the glue's price), with the run's environment and verification as they were recorded: in
    summary.json, or, for a run that ended before it wrote one, in run.json as of its last slice."""
    state = read_state(results_dir)
    recorded = (
        read_summary(results_dir) if state is None or (results_dir / "summary.json").exists() else state
    )
    if state is not None and not (results_dir / "measurements.json").exists():
        raise FormatError(
            f"{results_dir}: {how_far(state)}: no slice was measured, so there is nothing to report"
        )
    measurements, _ = read_measurements(results_dir / "measurements.json")
    in_process = results_dir / "inprocess.json"
    figures = json.loads(in_process.read_text()) if in_process.exists() else {}
    environment = recorded["environment"]
    if state is not None:  # how it ended, as known now (a run killed outright could not say)
        environment = {
            **environment,
            **ended(state["state"], state["reason"], len(measurements), state["planned"]),
        }
    if "models" in environment:  # the crossover's x axis: the models as the run timed them
        environment = {
            **environment,
            "models": cards_as_timed(environment["models"], figures.get("models", {})),
        }
    return build_summary(
        environment,
        recorded["verification"],
        figures.get("model", recorded["model"]),
        measurements,
        figures.get("split", recorded.get("split_inprocess", [])),
        figures.get("glue", recorded.get("glue", {})),
        figures or recorded.get("in_process_machine", {}),
    )


def rewrite_report(results_dir: Path) -> Path:
    results_dir = results_dir.resolve()
    summary = rebuilt_summary(results_dir)
    (results_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return write_report(results_dir, summary)
