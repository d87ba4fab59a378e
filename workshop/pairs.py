"""The mirrored pairs of the three services' packages, read from disk and aligned line by line.

A topic names the two packages it sets side by side (Flask's and FastAPI's, unless it says otherwise)."""

import ast
import difflib
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Literal

from shared.settings import REPO_ROOT
from workshop.topics import TOPICS, Topic

PACKAGES = ("flask_service", "fastapi_service", "flask_openapi_service")
# What each side is called in a diff's legend.
LABELS = {"flask_service": "Flask", "fastapi_service": "FastAPI", "flask_openapi_service": "Flask-OpenAPI3"}

Kind = Literal["same", "change", "delete", "insert"]


@dataclass(frozen=True)
class Side:
    path: str  # relative to the repository, for display
    lines: list[str]
    numbers: list[int]  # each shown line's number in the file (an excerpt skips lines)


@dataclass(frozen=True)
class Row:
    kind: Kind
    left: int | None  # index into the left side's lines, None for a blank cell
    right: int | None


@dataclass(frozen=True)
class Pair:
    topic: Topic
    left: Side
    right: Side
    rows: list[Row]
    stale: list[str]  # anchors of the note that are no longer in the code

    @property
    def labels(self) -> tuple[str, str]:
        """What the two sides are called: "Flask" and "FastAPI", for most topics."""
        left, right = self.topic.packages
        return LABELS[left], LABELS[right]


def paired_files(root: Path = REPO_ROOT) -> tuple[list[str], list[str]]:
    """The file names present in every package, and those missing from some (a broken mirror)."""
    listings = [{p.name for p in (root / package).glob("*.py")} for package in PACKAGES]
    everywhere = set.intersection(*listings)
    return sorted(everywhere), sorted(set.union(*listings) - everywhere)


def definition_spans(source: str) -> dict[str, tuple[int, int]]:
    """Top-level functions, classes and assignments by name: first line (decorators included), last line."""
    spans = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans[node.name] = (start, node.end_lineno or node.lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    spans[target.id] = (node.lineno, node.end_lineno or node.lineno)
    return spans


def read_side(root: Path, package: str, file: str, names: tuple[str, ...] | None) -> Side:
    path = root / package / file
    text = path.read_text()
    lines = text.splitlines()
    if not names:
        return Side(f"{package}/{file}", lines, list(range(1, len(lines) + 1)))
    spans = definition_spans(text)
    missing = [name for name in names if name not in spans]
    if missing:
        raise LookupError(f"{package}/{file} no longer defines {', '.join(missing)} (workshop/topics.py)")
    shown: list[str] = []
    numbers: list[int] = []
    for name in names:
        start, end = spans[name]
        if shown:  # a blank line between two excerpts, numbered like nothing in the file
            shown.append("")
            numbers.append(0)
        shown.extend(lines[start - 1 : end])
        numbers.extend(range(start, end + 1))
    return Side(f"{package}/{file}", shown, numbers)


SIMILAR = 0.6  # difflib.Differ pairs lines above 0.75; code lines that differ by a name need less


def one_sided(i: int | None, j: int | None) -> Row:
    return Row("insert" if i is None else "delete" if j is None else "change", i, j)


def pair_block(left: list[str], right: list[str], i1: int, i2: int, j1: int, j2: int) -> list[Row]:
    """A changed block, with its most similar lines facing each other (as difflib.Differ does)."""
    best, best_i, best_j = SIMILAR, -1, -1
    matcher = difflib.SequenceMatcher(autojunk=False)
    for j in range(j1, j2):
        matcher.set_seq2(right[j])
        for i in range(i1, i2):
            matcher.set_seq1(left[i])
            if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best and matcher.ratio() > best:
                best, best_i, best_j = matcher.ratio(), i, j
    if best_i < 0:
        return [one_sided(i, j) for i, j in zip_longest(range(i1, i2), range(j1, j2))]
    return [
        *pair_block(left, right, i1, best_i, j1, best_j),
        Row("change", best_i, best_j),
        *pair_block(left, right, best_i + 1, i2, best_j + 1, j2),
    ]


def without_whitespace(line: str) -> str:
    return "".join(line.split())


def align(left: list[str], right: list[str]) -> list[Row]:
    """Rows of a side-by-side view. Lines are compared without their whitespace, as `diff -w` compares them,
    so a Flask method (one level deeper, in its Resource class) faces the same line of a FastAPI function."""
    rows: list[Row] = []
    keys_left, keys_right = (
        [without_whitespace(line) for line in left],
        [without_whitespace(line) for line in right],
    )
    matcher = difflib.SequenceMatcher(None, keys_left, keys_right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Row("same", i, j) for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
        elif tag == "delete":
            rows.extend(Row("delete", i, None) for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(Row("insert", None, j) for j in range(j1, j2))
        else:
            rows.extend(pair_block(keys_left, keys_right, i1, i2, j1, j2))
    return rows


def stale_anchors(topic: Topic, root: Path = REPO_ROOT) -> list[str]:
    problems: list[str] = []
    for package, anchors in zip(topic.packages, topic.anchors, strict=True):
        text = (root / package / topic.file).read_text()
        problems.extend(
            f"the note on {topic.name!r} mentions {anchor!r}, no longer in {package}/{topic.file}"
            for anchor in anchors
            if anchor not in text
        )
    return problems


def load_pair(topic: Topic, root: Path = REPO_ROOT) -> Pair:
    left_names, right_names = topic.focus or (None, None)
    left = read_side(root, topic.packages[0], topic.file, left_names)
    right = read_side(root, topic.packages[1], topic.file, right_names)
    return Pair(topic, left, right, align(left.lines, right.lines), stale_anchors(topic, root))


def course_topics(root: Path = REPO_ROOT) -> list[Topic]:
    """Every topic, then a plain topic for any pair the course has no note on yet (a newly added file)."""
    covered = {topic.file for topic in TOPICS}
    extra = [
        Topic(file.removesuffix(".py"), f"{file} (no workshop note yet)", file, "README.md", "")
        for file in paired_files(root)[0]
        if file not in covered and file != "__init__.py"
    ]
    return [*TOPICS, *extra]
