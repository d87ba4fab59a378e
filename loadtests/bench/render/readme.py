"""The README's results section and docs/bench/, written from a real run:

- README.md, between its results markers: the verdict, the curve chart, the pair ratios with their
  intervals (and the waterfall, when the run has the split);
- docs/bench/method.md: the method (the same text as every report's), the knobs and the run's hardware;
- docs/bench/results.md: the run's whole report, its charts beside it;
- docs/argument.md, between its markers: the speed point, the glue's price, the io figures and the
  sentences that read them (render/argument.py).

A servers run (make bench PROFILE=servers) writes only its own part: the Granian and nginx pairs, their
ratios and the waterfall between the `bench:servers` markers of README.md, its report as
docs/bench/servers.md. A default run also writes both FastAPI forms' figures between the `bench:forms`
markers of docs/reading-the-diff.md.

A crossover run (make bench PROFILE=crossover) writes only its own part: the crossover chart and sentence
between the `bench:crossover` markers of README.md (under the headline) and of docs/argument.md (the speed
point), docs/bench/crossover.png and its whole report as docs/bench/crossover.md; the headline run's
sections stay as they were. Any other run leaves the last crossover's sections as they are: each part comes
from the run that measured it, and says which.

Only the text between the markers changes. When README.md has no markers, the section goes to
loadtests/README-sections.md instead.
"""

import re
import shutil
from pathlib import Path
from typing import Any

from loadtests.bench.render.argument import argument_text
from loadtests.bench.render.crossover import CHART as CROSSOVER_CHART
from loadtests.bench.render.crossover import crossover_section, has_crossover, health_table, n_sentence
from loadtests.bench.render.markers import replace_between
from loadtests.bench.render.method import method_page
from loadtests.bench.render.nginx_report import nginx_sentence
from loadtests.bench.render.reading import origin
from loadtests.bench.render.report import CHARTS, ratios_table
from loadtests.bench.render.split_report import waterfall_paragraph
from loadtests.bench.render.sweep_report import sweep_sentence
from loadtests.bench.render.verdict import (
    collector_sentence,
    collector_table,
    forms_paragraph,
    same_server_sentence,
    slo_sentence,
    verdict,
)
from loadtests.bench.results.crossover import PREDICT_P99
from loadtests.bench.results.summary import read_summary
from shared.settings import REPO_ROOT

RESULTS = ("<!-- bench:results -->", "<!-- /bench:results -->")
SERVERS = ("<!-- bench:servers -->", "<!-- /bench:servers -->")
FORMS = ("<!-- bench:forms -->", "<!-- /bench:forms -->")
FORMS_HEALTH = ("<!-- bench:forms-health -->", "<!-- /bench:forms-health -->")
COLLECTOR = ("<!-- bench:collector -->", "<!-- /bench:collector -->")
LATENCY = ("<!-- bench:latency -->", "<!-- /bench:latency -->")
CROSSOVER = ("<!-- bench:crossover -->", "<!-- /bench:crossover -->")
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


def published_report(results_dir: Path) -> str:
    """The run's report.md: it links its slices' raw files, which stay in results/ (not committed): here,
    only their names."""
    return re.sub(r"\[([^\]]+)\]\(runs/[^)]*\)", r"\1", (results_dir / "report.md").read_text())


def write_readme_section(repo: Path, markers: tuple[str, str], section: str) -> Path:
    """The section between README.md's markers; without them, in loadtests/README-sections.md. Returns the
    file written."""
    readme = repo / "README.md"
    updated = replace_between(readme.read_text() if readme.exists() else "", markers, section)
    if updated is None:
        fallback = repo / "loadtests" / "README-sections.md"
        fallback.write_text(f"{markers[0]}\n{section.strip()}\n{markers[1]}\n")
        return fallback
    readme.write_text(updated)
    return readme


def update_readme(results_dir: Path, repo: Path = REPO_ROOT) -> Path:
    results_dir = results_dir.resolve()
    summary = read_summary(results_dir)
    if has_crossover(summary):
        return update_crossover(results_dir, summary, repo)
    if summary["environment"].get("profile") == "servers":
        return update_servers(results_dir, summary, repo)
    if summary["environment"].get("profile") == "latency":
        return update_latency(results_dir, summary, repo)
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    charts = [name for name in CHARTS if (results_dir / name).exists()]
    for name in charts:
        shutil.copyfile(results_dir / name, docs / name)
    (docs / "method.md").write_text(method_page(summary))
    (docs / "results.md").write_text(published_report(results_dir))
    readme = write_readme_section(repo, RESULTS, results_section(summary, charts))
    if readme.name != "README.md":
        return readme
    argument = repo / "docs" / "argument.md"
    if argument.exists():
        argument.write_text(argument_text(argument.read_text(), summary))
    diff = repo / "docs" / "reading-the-diff.md"
    if diff.exists() and (text := replace_between(diff.read_text(), FORMS, forms_paragraph(summary))):
        diff.write_text(text)
    deployment = repo / "docs" / "deployment.md"
    tuning = collector_section(summary)
    if (
        tuning
        and deployment.exists()
        and (text := replace_between(deployment.read_text(), COLLECTOR, tuning))
    ):
        deployment.write_text(text)
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


def servers_section(summary: dict[str, Any]) -> str:
    """make bench PROFILE=servers: where the difference comes from (the same server for both) and the pair
    as deployed (behind nginx), its ratios and the waterfall."""
    env = summary["environment"]
    parts = [
        "### Where the difference comes from, and as deployed",
        "",
        f"From {origin(summary)} ({env['cpu_model']}, {env['cores']} cores): the default pair beside the "
        "same server for both "
        "(Granian) and both behind the same nginx; the whole run: "
        f"[{DOCS_DIR.as_posix()}/servers.md]({DOCS_DIR.as_posix()}/servers.md).",
        "",
    ]
    sentences = (nginx_sentence(summary), same_server_sentence(summary), sweep_sentence(summary))
    parts += [f"{line}\n" for line in sentences if line]
    parts += [ratios_table(summary), ""]
    if paragraph := waterfall_paragraph(summary):
        parts += [paragraph, ""]
    return "\n".join(parts)


def update_servers(results_dir: Path, summary: dict[str, Any], repo: Path) -> Path:
    """A servers run's part only: its report as docs/bench/servers.md and its section between the servers
    markers; the verdict's sections stay as the default run wrote them."""
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "servers.md").write_text(published_report(results_dir))
    return write_readme_section(repo, SERVERS, servers_section(summary))


def update_latency(results_dir: Path, summary: dict[str, Any], repo: Path) -> Path:
    """A latency run's part only (make bench PROFILE=latency): its report as docs/bench/latency.md, its curve
    chart, and the capacity at the objective between the latency markers of README.md."""
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    chart = results_dir / "curve.png"
    if chart.exists():
        shutil.copyfile(chart, docs / "curve.png")
    (docs / "latency.md").write_text(published_report(results_dir))
    env = summary["environment"]
    lines = [
        f"From {origin(summary)} ({env['cpu_model']}, {env['cores']} cores); the whole run: "
        f"[{DOCS_DIR.as_posix()}/latency.md]({DOCS_DIR.as_posix()}/latency.md).",
        "",
        slo_sentence(summary) or "No latency curve in this run.",
        "",
    ]
    if chart.exists():
        lines += [f"![{CHARTS['curve.png']}]({DOCS_DIR.as_posix()}/curve.png)", ""]
    return write_readme_section(repo, LATENCY, "\n".join(lines))


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
    """A crossover run's part only: its chart, its report, and its sections between the crossover markers."""
    docs = repo / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    chart = results_dir / CROSSOVER_CHART
    if chart.exists():
        shutil.copyfile(chart, docs / CROSSOVER_CHART)
    (docs / "crossover.md").write_text(published_report(results_dir))
    shown = f"{DOCS_DIR.as_posix()}/{CROSSOVER_CHART}" if chart.exists() else None
    section = "\n".join(
        [
            *crossover_section(summary, shown, heading="### Does the framework matter for my model?"),
            f"The whole run: [{DOCS_DIR.as_posix()}/crossover.md]({DOCS_DIR.as_posix()}/crossover.md).",
        ]
    )
    readme = write_readme_section(repo, CROSSOVER, section)
    if readme.name != "README.md":
        return readme
    argument = repo / "docs" / "argument.md"
    if argument.exists() and (
        text := replace_between(argument.read_text(), CROSSOVER, argument_crossover(summary))
    ):
        argument.write_text(text)
    diff = repo / "docs" / "reading-the-diff.md"
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
    if diff.exists() and (text := replace_between(diff.read_text(), FORMS_HEALTH, health)):
        diff.write_text(text)
    return readme
