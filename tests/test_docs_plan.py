"""The docs say what each profile measures; the plan decides it. Every page a reader opens (README.md, docs/,
the workshop) is read paragraph by paragraph: each profile it names must exist, each report section it points
to must be one the profiles named beside it write (plan/sections.py), and each server variant it names in
backticks must be one of the catalogue's, measured by a profile named beside it. The run reports under
docs/bench/ (results, servers, crossover, latency, tail) are a run's own words, written by it, and are left
out."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.bench.plan.config import PROFILES
from loadtests.bench.plan.sections import SECTIONS, measured, writes
from loadtests.bench.plan.variants import CATALOGUE
from shared.settings import REPO_ROOT

RUN_REPORTS = {"results.md", "servers.md", "crossover.md", "latency.md", "tail.md"}
PROFILE = re.compile(r"PROFILE=([a-z]+)")
DEFAULT = re.compile(r"`make bench`|\bthe default profile\b|\bits default profile\b|\ba default run\b", re.I)
QUOTED = re.compile(r"[\"“]([^\"”]{3,80})[\"”]")
VARIANT = re.compile(r"`((?:flask|fastapi|flask_openapi)-[a-z0-9-]+)`")


def pages() -> list[Path]:
    found = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    return [path for path in found if not (path.parent.name == "bench" and path.name in RUN_REPORTS)]


def paragraphs(path: Path) -> Iterator[tuple[int, str]]:
    """Each paragraph, and each item of a list, with its first line's number; code blocks and generated tables
    are paragraphs too."""
    start, lines = 1, list[str]()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith(("- ", "* ")) and lines:  # a list's next item: a claim of its own
            yield start, " ".join(lines)
            lines = []
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            yield start, " ".join(lines)
            lines = []
    if lines:
        yield start, " ".join(lines)


def problems(path: Path, text: str) -> list[str]:
    """What a paragraph says that the plan does not do."""
    named = set(PROFILE.findall(text)) | ({"default"} if DEFAULT.search(text) else set())
    found = [
        f"no profile named {name!r} (the profiles: {', '.join(PROFILES)})" for name in named - set(PROFILES)
    ]
    profiles = [PROFILES[name] for name in named if name in PROFILES]
    if not profiles:
        return found
    for section in QUOTED.findall(text):
        if (section in SECTIONS or section.split(":")[0] in SECTIONS) and not any(
            writes(p, section) for p in profiles
        ):
            found.append(f'section "{section}": not written by {", ".join(sorted(named))}')
    keys = {v.key for v in CATALOGUE}
    for key in VARIANT.findall(text):
        if key not in keys:
            found.append(f"`{key}` is no server variant of the catalogue")
        elif not any(key in measured(p) for p in profiles):
            found.append(f"`{key}`: not measured by {', '.join(sorted(named))}")
    return found


def claims() -> list[tuple[str, str]]:
    out = []
    for path in pages():
        for line, text in paragraphs(path):
            for problem in problems(path, text):
                out.append((f"{path.relative_to(REPO_ROOT)}:{line}", problem))
    return out


def test_every_page_says_what_the_plan_does() -> None:
    assert len(pages()) > 10
    assert claims() == []


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        # The sentence docs/deployment.md had when the nginx pair moved to PROFILE=servers.
        (
            "`make bench` measures this deployment beside the direct one: its default profile runs the pair "
            'behind nginx. The report\'s "As deployed in production: behind nginx" section gives the ratios.',
            'section "As deployed in production: behind nginx": not written by default',
        ),
        ('`make bench PROFILE=full` writes "Worker counts".', 'section "Worker counts": not written by full'),
        ("`make bench PROFILE=speedy` is quick.", "no profile named 'speedy'"),
        ("`make bench` measures `flask-granian` too.", "`flask-granian`: not measured by default"),
        ("`make bench PROFILE=full` measures `flask-tornado`.", "`flask-tornado` is no server variant"),
    ],
)
def test_a_page_that_says_more_than_the_plan_fails(text: str, wrong: str) -> None:
    [found] = problems(Path("page.md"), text)
    assert found.startswith(wrong)


def test_what_the_plan_does_passes() -> None:
    assert (
        problems(
            Path("page.md"), '`make bench PROFILE=servers`: its "Worker counts" and `fastapi-uvicorn-nginx`.'
        )
        == []
    )
    assert (
        problems(Path("page.md"), '`make bench PROFILE=latency` writes "Latency against load: batch".') == []
    )
    assert (
        problems(Path("page.md"), 'No profile here, so "Worker counts" and `flask-granian` are not claims.')
        == []
    )
