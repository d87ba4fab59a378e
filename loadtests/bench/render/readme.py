"""The README's results section and docs/bench/, written from a real run:

- README.md, between its results markers: the verdict, the curve chart, the pair ratios with their
  intervals (and the waterfall, when the run has the split);
- docs/bench/method.md: the method (the same text as every report's), the knobs and the run's hardware;
- docs/bench/results.md: the run's whole report, its charts beside it;
- docs/argument.md, between its speed markers: the headline ratios, for the article's speed point.

Only the text between the markers changes. When README.md has no markers, the section goes to
loadtests/README-sections.md instead.
"""

import re
import shutil
from pathlib import Path
from typing import Any

from loadtests.bench.render.method import method_page
from loadtests.bench.render.reading import ratio_entry, ratio_text, scenarios
from loadtests.bench.render.report import CHARTS, ratios_table, verdict
from loadtests.bench.render.split_report import waterfall_paragraph
from loadtests.bench.results.summary import read_summary
from shared.settings import REPO_ROOT

RESULTS = ("<!-- bench:results -->", "<!-- /bench:results -->")
SPEED = ("<!-- bench:speed -->", "<!-- /bench:speed -->")
DOCS_DIR = Path("docs") / "bench"


def origin(summary: dict[str, Any]) -> str:
    """Which run the figures come from: "`make bench` on 2026-12-06, commit 424dae6"."""
    env = summary["environment"]
    command = env.get("invocation") or env["command"]
    return f"`{command}` on {str(env['started_at'])[:10]}, commit {env['git']}"


def results_section(summary: dict[str, Any], charts: list[str]) -> str:
    env = summary["environment"]
    parts = [
        f"From {origin(summary)} ({env['cpu_model']}, {env['cores']} cores); the whole report, with every "
        "table and the reasons for each ⚠, is "
        f"[docs/bench/results.md]({DOCS_DIR.as_posix()}/results.md), the method "
        f"[docs/bench/method.md]({DOCS_DIR.as_posix()}/method.md).",
        "",
        *[f"{line}\n" for line in verdict(summary)],
    ]
    if "curve.png" in charts:
        parts += [f"![{CHARTS['curve.png']}]({DOCS_DIR.as_posix()}/curve.png)", ""]
    parts += [ratios_table(summary), ""]
    if paragraph := waterfall_paragraph(summary):
        parts += [paragraph, ""]
    if "waterfall.png" in charts:
        parts += [f"![{CHARTS['waterfall.png']}]({DOCS_DIR.as_posix()}/waterfall.png)", ""]
    return "\n".join(parts)


def speed_section(summary: dict[str, Any]) -> str:
    """The speed point of docs/argument.md: per CPU scenario, the two defaults' ratios and the same-server
    pair's, each with its interval, and where the run came from."""
    lines = [
        f"Speed, measured by {origin(summary)} ({summary['environment']['cores']} cores; FastAPI over Flask, "
        "the median of the pair ratios with its interval; ⚠: too few clean pairs or too wide to quote as a "
        "finding):",
        "",
    ]
    for scenario in scenarios(summary):
        for comparison, what in (("default", "as deployed"), ("same-server", "both under Granian")):
            rps = ratio_entry(summary, scenario, comparison, "rps")
            if rps is None:
                continue
            cpu = ratio_entry(summary, scenario, comparison, "cpu_us_per_request")
            lines.append(
                f"- {scenario}, {what}: requests/s {ratio_text(rps)}; CPU per request {ratio_text(cpu)}"
            )
    lines += [
        "",
        "Where the difference comes from: the README's headline and [bench/results.md](bench/results.md).",
    ]
    return "\n".join(lines)


def replace_between(text: str, markers: tuple[str, str], body: str) -> str | None:
    start, end = markers
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def update_readme(results_dir: Path, repo: Path = REPO_ROOT) -> Path:
    results_dir = results_dir.resolve()
    summary = read_summary(results_dir)
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    charts = [name for name in CHARTS if (results_dir / name).exists()]
    for name in charts:
        shutil.copyfile(results_dir / name, docs / name)
    (docs / "method.md").write_text(method_page(summary))
    report = (results_dir / "report.md").read_text()
    # The report links its slices' raw files, which stay in results/ (not committed): here, only their names.
    (docs / "results.md").write_text(re.sub(r"\[([^\]]+)\]\(runs/[^)]*\)", r"\1", report))
    section = results_section(summary, charts)
    readme = repo / "README.md"
    text = readme.read_text() if readme.exists() else ""
    updated = replace_between(text, RESULTS, section)
    if updated is None:
        fallback = repo / "loadtests" / "README-sections.md"
        fallback.write_text(f"{RESULTS[0]}\n{section.strip()}\n{RESULTS[1]}\n")
        return fallback
    readme.write_text(updated)
    argument = repo / "docs" / "argument.md"
    if argument.exists() and (speed := replace_between(argument.read_text(), SPEED, speed_section(summary))):
        argument.write_text(speed)
    return readme
