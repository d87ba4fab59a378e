"""`make diff-html`: every topic side by side on one self-contained HTML page, highlighted with Pygments.

The page loads nothing (inline CSS, no script, no web font), so it opens offline from a USB stick.
"""

import datetime
import html
import subprocess
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from shared.settings import REPO_ROOT
from workshop.pairs import Pair, Side, course_topics, load_pair, paired_files

DEFAULT_OUT = REPO_ROOT / "build" / "workshop-diff.html"

PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; }
.note { max-width: 70rem; line-height: 1.45; } .stale { color: #b35900; font-weight: bold; }
.meta { color: #59636e; font-size: 0.9rem; }
table.diff { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 12.5px; }
table.diff col.n { width: 3.2em; } table.diff th { text-align: left; background: #f6f8fa; padding: 4px; }
table.diff td { vertical-align: top; padding: 0 4px; font-family: ui-monospace, Menlo, Consolas, monospace; }
td.code { white-space: pre-wrap; overflow-wrap: anywhere; }
td.n { color: #8c959f; text-align: right; user-select: none; }
tr.change td.l, tr.delete td.l { background: #ffebe9; }
tr.change td.r, tr.insert td.r { background: #e6ffec; }
td.empty { background: #f6f8fa; }
"""


def highlighted_lines(side: Side) -> list[str]:
    """Each shown line as HTML. Pygments closes its spans at every newline, so lines split cleanly."""
    source = "\n".join(side.lines) + "\n"
    rendered = highlight(source, PythonLexer(stripnl=False, ensurenl=True), HtmlFormatter(nowrap=True))
    lines: list[str] = rendered.split("\n")
    return lines[: len(side.lines)]


def cells(side: Side, lines: list[str], index: int | None, css: str) -> str:
    if index is None:
        return f'<td class="n empty"></td><td class="code {css} empty"></td>'
    number = side.numbers[index] or ""
    return f'<td class="n">{number}</td><td class="code {css}">{lines[index] or " "}</td>'


def pair_section(pair: Pair) -> str:
    topic = pair.topic
    left, right = highlighted_lines(pair.left), highlighted_lines(pair.right)
    rows = "\n".join(
        f'<tr class="{row.kind}">{cells(pair.left, left, row.left, "l")}'
        f"{cells(pair.right, right, row.right, 'r')}</tr>"
        for row in pair.rows
    )
    stale = "".join(f'<p class="stale">Warning: {html.escape(p)}.</p>' for p in pair.stale)
    same = sum(row.kind == "same" for row in pair.rows)
    return f"""
<section id="{topic.name}">
<h2>{html.escape(topic.title)}</h2>
<p class="note">{html.escape(topic.note)}</p>{stale}
<p class="meta">Module: docs/workshop/{topic.module}.
In the terminal: <code>make diff TOPIC={topic.name}</code>. {same} of {len(pair.rows)} rows identical.</p>
<table class="diff">
<colgroup><col class="n"><col><col class="n"><col></colgroup>
<tr><th colspan="2">{pair.left.path}</th><th colspan="2">{pair.right.path}</th></tr>
{rows}
</table>
</section>"""


def source_revision(root: Path) -> str:
    """The commit the page was made from, marked when the working tree has changes; '' without git."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty=+changes"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return ""
    return described.stdout.strip() if described.returncode == 0 else ""


def page(root: Path = REPO_ROOT) -> str:
    pairs = [load_pair(topic, root) for topic in course_topics(root)]
    contents = "\n".join(
        f'<li><a href="#{p.topic.name}">{html.escape(p.topic.title)}</a> ({p.topic.file})</li>' for p in pairs
    )
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    revision = source_revision(root)
    unpaired = paired_files(root)[1]
    warning = (
        f'<p class="stale">Files without a counterpart: {html.escape(", ".join(unpaired))}.</p>'
        if unpaired
        else ""
    )
    styles = HtmlFormatter().get_style_defs("td.code")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flask vs FastAPI, side by side</title>
<style>{PAGE_CSS}
{styles}</style>
</head>
<body>
<h1>Flask vs FastAPI, side by side</h1>
<p class="meta">flask_service/ on the left, fastapi_service/ on the right (the last topics set
flask_openapi_service/ beside one of them, as each says), read from the code on {made}
{f"at {html.escape(revision)}" if revision else ""}: run <code>make diff-html</code> again after a change.
Lines are compared without their indentation. Red: only in or changed on the left side; green: the right
side.</p>{warning}
<ol>
{contents}
</ol>
{"".join(pair_section(p) for p in pairs)}
</body>
</html>
"""


def write_page(out: Path = DEFAULT_OUT, root: Path = REPO_ROOT) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page(root), encoding="utf-8")
    return out
