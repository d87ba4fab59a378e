"""The README's results section and docs/bench/, written from a real run:

- README.md, between its results markers: the verdict, the curve chart, the pair ratios with their
  intervals (and the waterfall, when the run has the split);
- docs/bench/method.md: the method (the same text as every report's), the knobs and the run's hardware;
- docs/bench/results.md: the run's whole report, its charts beside it;
- docs/argument.md, between its markers: the speed point, the glue's price, the io figures and the
  sentences that read them (render/argument.py).

Only the text between the markers changes. When README.md has no markers, the section goes to
loadtests/README-sections.md instead.
"""

import re
import shutil
from pathlib import Path
from typing import Any

from loadtests.bench.render.argument import argument_text
from loadtests.bench.render.markers import replace_between
from loadtests.bench.render.method import method_page
from loadtests.bench.render.reading import origin
from loadtests.bench.render.report import CHARTS, ratios_table, verdict
from loadtests.bench.render.split_report import waterfall_paragraph
from loadtests.bench.results.summary import read_summary
from shared.settings import REPO_ROOT

RESULTS = ("<!-- bench:results -->", "<!-- /bench:results -->")
DOCS_DIR = Path("docs") / "bench"


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
    if argument.exists():
        argument.write_text(argument_text(argument.read_text(), summary))
    return readme
