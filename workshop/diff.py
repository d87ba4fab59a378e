"""`make diff`: a pair or a topic side by side in the terminal, coloured when the output is a terminal."""

import os
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from shared.settings import REPO_ROOT
from workshop.pairs import LABELS, Pair, Row, Side, course_topics, load_pair, paired_files
from workshop.topics import FLASK_FASTAPI, topic_named

MARKS = {"same": " ", "change": "|", "delete": "<", "insert": ">"}
RESET, BOLD, DIM, RED, GREEN = "\033[0m", "\033[1m", "\033[2m", "\033[31m", "\033[32m"
NUMBER_WIDTH = 4


def use_colour(stream: object = sys.stdout) -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    isatty = getattr(stream, "isatty", None)
    return not os.environ.get("NO_COLOR") and callable(isatty) and bool(isatty())


def chunks(text: str, width: int) -> list[str]:
    """A line cut into pieces of `width` characters: code is wrapped, never truncated."""
    text = text.expandtabs(4)
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def cell(side: Side, index: int | None, width: int) -> list[tuple[str, str]]:
    """(line number, text) pieces of one cell; the number only on the first piece."""
    if index is None:
        return [("", "")]
    number = side.numbers[index]
    pieces = chunks(side.lines[index], width)
    return [(str(number) if k == 0 and number else "", piece) for k, piece in enumerate(pieces)]


def render_row(pair: Pair, row: Row, width: int, colour: bool) -> Iterator[str]:
    left, right = cell(pair.left, row.left, width), cell(pair.right, row.right, width)
    blank = ("", "")
    for k in range(max(len(left), len(right))):
        (ln, lt), (rn, rt) = left[k] if k < len(left) else blank, right[k] if k < len(right) else blank
        mark = MARKS[row.kind] if k == 0 else " "
        lt, rt = lt.ljust(width), rt
        if colour and row.kind != "same":
            lt = f"{RED}{lt}{RESET}" if row.left is not None else lt
            rt = f"{GREEN}{rt}{RESET}" if row.right is not None else rt
        if colour:
            ln, rn = f"{DIM}{ln:>{NUMBER_WIDTH}}{RESET}", f"{DIM}{rn:>{NUMBER_WIDTH}}{RESET}"
        else:
            ln, rn = f"{ln:>{NUMBER_WIDTH}}", f"{rn:>{NUMBER_WIDTH}}"
        yield f"{ln} {lt} {mark} {rn} {rt}".rstrip()


def render_pair(pair: Pair, columns: int, colour: bool) -> str:
    width = max(20, (columns - 2 * NUMBER_WIDTH - 5) // 2)
    topic = pair.topic
    title = f" {topic.name}: {topic.title} "
    out = [f"{BOLD}{title:=^{columns}}{RESET}" if colour else f"{title:=^{columns}}"]
    if topic.note:
        out.extend(textwrap.wrap(topic.note, columns))
    for problem in pair.stale:
        out.extend(textwrap.wrap(f"warning: {problem}: tell the instructor (workshop/topics.py)", columns))
    out.append(f"Read more: docs/workshop/{topic.module}")
    out.append("")
    header_left = f"{pair.left.path} ({len(pair.left.lines)} lines shown)"
    header_right = f"{pair.right.path} ({len(pair.right.lines)} lines shown)"
    header = (
        f"{'':>{NUMBER_WIDTH}} {header_left[:width]:<{width}}   {'':>{NUMBER_WIDTH}} {header_right[:width]}"
    )
    out.append(f"{BOLD}{header}{RESET}" if colour else header)
    for row in pair.rows:
        out.extend(render_row(pair, row, width, colour))
    same = sum(row.kind == "same" for row in pair.rows)
    out.append("")
    left, right = pair.labels
    out.append(f"{same} of {len(pair.rows)} rows identical; | changed, < {left} only, > {right} only.")
    return "\n".join(out)


def terminal_columns() -> int:
    # COLUMNS wins (make passes the terminal through; a pipe gets the fallback).
    return shutil.get_terminal_size(fallback=(160, 24)).columns


def diff_text(topic_name: str | None, columns: int, colour: bool, root: Path = REPO_ROOT) -> str:
    """One topic (or pair), or every topic in course order when `topic_name` is None or "all"."""
    topics = course_topics(root)
    chosen = topics if topic_name in (None, "", "all") else [topic_named(topic_name, topics)]
    parts = [render_pair(load_pair(topic, root), columns, colour) for topic in chosen]
    unpaired = paired_files(root)[1]
    if unpaired:
        warning = f"warning: files without a counterpart in another package: {', '.join(unpaired)}"
        parts.append(textwrap.fill(warning, columns))
    if len(chosen) > 1:
        names = ", ".join(topic.name for topic in topics)
        parts.append(textwrap.fill(f"Topics: {names}. One at a time: make diff TOPIC=<name>.", columns))
    return "\n\n".join(parts)


def topic_list(root: Path = REPO_ROOT) -> str:
    lines = ["make diff TOPIC=<name>, in course order:"]
    for topic in course_topics(root):
        scope = topic.file if topic.focus is None else f"{topic.file}, excerpts"
        if topic.packages != FLASK_FASTAPI:
            scope += f"; {' against '.join(LABELS[package] for package in topic.packages)}"
        lines.append(f"  {topic.name:<18} {topic.title} ({scope})")
    lines.append("A file name works too: make diff TOPIC=errors.py")
    return "\n".join(lines)
