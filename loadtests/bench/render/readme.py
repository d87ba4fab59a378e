"""The README's first screen and docs/, written from real runs, each part by the run that measured it:

- a default run (make bench): the README's answers to "which is faster, and by how much" and "why", with the
  waterfall chart; docs/bench/results.md (its whole report, the notation explained at its top, every table),
  docs/bench/method.md; docs/argument.md's speed point, the glue's price and the io figures
  (render/argument.py); both FastAPI forms in docs/reading-the-diff.md (`bench:forms`); the collector's
  tuning in docs/deployment.md (`bench:collector`);
- a crossover run (PROFILE=crossover): the README's answer to "does it matter for my model", docs/bench/
  crossover.md and its chart, docs/argument.md's crossover part and /health under load in
  docs/reading-the-diff.md (`bench:forms-health`);
- a servers run (PROFILE=servers): docs/bench/servers.md (Granian, nginx, the worker sweep);
- a latency run (PROFILE=latency): docs/bench/latency.md and the curve chart.

Every run also records its figures for the comparisons several profiles share in docs/bench/runs.json
(render/published.py), and the README says how far the other published runs lay from the one it quotes.
Only the text between markers changes; each part says which run it comes from. When README.md has no
markers, the sections go to loadtests/README-sections.md instead.
"""

import re
import shutil
from pathlib import Path
from typing import Any

from loadtests.bench.render import published
from loadtests.bench.render.answers import choose_dear, choose_section, faster_answer, when_answer, why_answer
from loadtests.bench.render.argument import argument_text, glue_text
from loadtests.bench.render.crossover import CHART as CROSSOVER_CHART
from loadtests.bench.render.crossover import has_crossover, health_table, n_sentence
from loadtests.bench.render.markers import replace_between
from loadtests.bench.render.method import method_page
from loadtests.bench.render.reading import origin
from loadtests.bench.render.report import CHARTS
from loadtests.bench.render.verdict import collector_sentence, collector_table, forms_paragraph
from loadtests.bench.results.crossover import PREDICT_P99
from loadtests.bench.results.summary import read_summary
from shared.settings import REPO_ROOT


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->")


ANSWER_FASTER, ANSWER_WHY, ANSWER_WHEN, ANSWER_OTHERS = (
    markers(name) for name in ("answer-faster", "answer-why", "answer-when", "answer-others")
)
FORMS = markers("forms")
FORMS_HEALTH = markers("forms-health")
COLLECTOR = markers("collector")
CROSSOVER = markers("crossover")
CHOOSE, CHOOSE_DEAR = markers("choose"), markers("choose-dear")
DOCS_DIR = Path("docs") / "bench"
# Where each profile's report is published (the default's and the others the README's first screen quotes).
PAGES = {"servers": "servers.md", "latency": "latency.md", "crossover": "crossover.md"}


def published_report(results_dir: Path) -> str:
    """The run's report.md: it links its slices' raw files, which stay in results/ (not committed): here,
    only their names."""
    return re.sub(r"\[([^\]]+)\]\(runs/[^)]*\)", r"\1", (results_dir / "report.md").read_text())


def write_readme_section(repo: Path, markers: tuple[str, str], section: str, fallback: bool = True) -> Path:
    """The section between README.md's markers; without them, in loadtests/README-sections.md (unless not
    `fallback`: a part derived from others, left out). Returns the file written."""
    readme = repo / "README.md"
    updated = replace_between(readme.read_text() if readme.exists() else "", markers, section)
    if updated is not None:
        readme.write_text(updated)
        return readme
    if not fallback:
        return readme
    spare = repo / "loadtests" / "README-sections.md"
    spare.parent.mkdir(parents=True, exist_ok=True)
    kept = spare.read_text() if spare.exists() else ""
    added = f"{kept}{markers[0]}\n{section.strip()}\n{markers[1]}\n"
    spare.write_text(replace_between(kept, markers, section) or added)
    return spare


def write_between(path: Path, where: tuple[str, str], text: str) -> None:
    """Between a doc page's markers, when the page and its markers exist."""
    if path.exists() and (updated := replace_between(path.read_text(), where, text)):
        path.write_text(updated)


def update_readme(results_dir: Path, repo: Path = REPO_ROOT) -> Path:
    """Every part the run measured, and the other published runs' sentence; returns the README written."""
    results_dir = results_dir.resolve()
    summary = read_summary(results_dir)
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    registry = published.update(repo, summary)
    profile = summary["environment"].get("profile", "default")
    if has_crossover(summary):
        readme = update_crossover(results_dir, summary, repo)
    elif profile in PAGES:
        (docs / PAGES[profile]).write_text(published_report(results_dir))
        argument = repo / "docs" / "argument.md"
        if argument.exists():  # the glue's price, where the run measured it (PROFILE=servers)
            argument.write_text(glue_text(argument.read_text(), summary))
        if profile == "latency" and (results_dir / "curve.png").exists():
            shutil.copyfile(results_dir / "curve.png", docs / "curve.png")
        readme = repo / "README.md"
    else:
        readme = update_headline(results_dir, summary, repo)
    write_readme_section(repo, ANSWER_OTHERS, published.others_sentence(registry), fallback=False)
    return readme


def update_headline(results_dir: Path, summary: dict[str, Any], repo: Path) -> Path:
    """A default run's part: the first two answers and the chart, its report and method, and the docs'
    figures it measured."""
    docs = repo / DOCS_DIR
    charts = [name for name in CHARTS if (results_dir / name).exists()]
    for name in charts:
        shutil.copyfile(results_dir / name, docs / name)
    (docs / "method.md").write_text(method_page(summary))
    (docs / "results.md").write_text(published_report(results_dir))
    readme = write_readme_section(repo, ANSWER_FASTER, faster_answer(summary))
    why = why_answer(summary)
    if "waterfall.png" in charts:
        why += f"\n\n![{CHARTS['waterfall.png']}]({DOCS_DIR.as_posix()}/waterfall.png)"
    write_readme_section(repo, ANSWER_WHY, why)
    argument = repo / "docs" / "argument.md"
    if argument.exists():
        argument.write_text(argument_text(argument.read_text(), summary))
    write_between(repo / "docs" / "reading-the-diff.md", FORMS, forms_paragraph(summary))
    write_between(repo / "docs" / "argument.md", CHOOSE, choose_section(summary))
    if tuning := collector_section(summary):
        write_between(repo / "docs" / "deployment.md", COLLECTOR, tuning)
    return readme


def collector_section(summary: dict[str, Any]) -> str | None:
    """docs/deployment.md's measured effect of the collector's tuning on throughput, from a default run."""
    sentence = collector_sentence(summary)
    if sentence is None:
        return None
    env = summary["environment"]
    return "\n".join(
        [
            f"From {origin(summary)} ({env['cpu_model']}, {env['cores']} cores), each server at capacity:",
            "",
            collector_table(summary),
            "",
            sentence,
            "",
            "What it does to the p99 at a steady load, one cause at a time: [bench/tail.md](bench/tail.md).",
        ]
    )


def argument_crossover(summary: dict[str, Any]) -> str:
    """docs/argument.md's part of the speed point: the sentence and the chart, the tables one link away."""
    return "\n".join(
        [
            n_sentence(summary),
            "",
            f"![FastAPI/Flask requests/s against the model's CPU per request](bench/{CROSSOVER_CHART})",
            "",
            "Each model's ratios with their intervals, and /health under the mixed load: "
            "[bench/crossover.md](bench/crossover.md).",
        ]
    )


def update_crossover(results_dir: Path, summary: dict[str, Any], repo: Path) -> Path:
    """A crossover run's part: the README's third answer, its chart and report, docs/argument.md's part and
    /health under load in docs/reading-the-diff.md."""
    docs = repo / DOCS_DIR
    chart = results_dir / CROSSOVER_CHART
    if chart.exists():
        shutil.copyfile(chart, docs / CROSSOVER_CHART)
    (docs / "crossover.md").write_text(published_report(results_dir))
    readme = write_readme_section(repo, ANSWER_WHEN, when_answer(summary))
    write_between(repo / "docs" / "argument.md", CROSSOVER, argument_crossover(summary))
    write_between(repo / "docs" / "argument.md", CHOOSE_DEAR, choose_dear(summary))
    health = "\n".join(
        [
            f"From {origin(summary)}, under the mixed load (batches beside single predictions and health "
            "checks), per model: /health's p99,",
            "",
            health_table(summary),
            "",
            "and one penguin's prediction's p99:",
            "",
            health_table(summary, PREDICT_P99),
        ]
    )
    write_between(repo / "docs" / "reading-the-diff.md", FORMS_HEALTH, health)
    return readme
