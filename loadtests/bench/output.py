"""Write a run's results: summary.json, the charts, report.md, and the results/latest link."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.charts import write_charts
from loadtests.bench.reading import scenarios
from loadtests.bench.report import headline_notes, headline_table, render_report
from loadtests.bench.report_io import io_table


def write_results(results_dir: Path, summary: Mapping[str, Any]) -> tuple[Path, str]:
    """Everything a person reads; returns the report's path and the headline tables to print."""
    (results_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = write_report(results_dir, summary)
    link_latest(results_dir)
    printed = []
    if scenarios(summary) or not scenarios(summary, io=True):
        printed.append(headline_table(summary) + "\n\n" + headline_notes(summary))
    if scenarios(summary, io=True):
        printed.append("io:\n\n" + io_table(summary))
    return report, "\n\n".join(printed)


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


def rewrite_report(results_dir: Path) -> Path:
    summary = json.loads((results_dir / "summary.json").read_text())
    return write_report(results_dir.resolve(), summary)
