"""The README's first screen: the three questions answered in sentences from named runs, no marks or
brackets, a figure not made precise said so in words; the other published runs beside the one quoted; the
front page's shape. Made-up slices and runs; no server starts here."""

import json
import re
from pathlib import Path
from typing import Any

from loadtests.bench.render.answers import choose_dear, choose_section, faster_answer, when_answer, why_answer
from loadtests.bench.render.published import others_sentence, update
from loadtests.bench.render.readme import ANSWER_FASTER, ANSWER_OTHERS, ANSWER_WHEN, ANSWER_WHY, update_readme
from shared.settings import REPO_ROOT
from tests.test_bench_analysis import PAIRS, TIGHT, summary_of
from tests.test_bench_crossover import crossover_summary
from tests.test_bench_gc_tuning import MEASURED, batch_rounds
from tests.test_split import SPLIT

MARKS = re.compile(r"⚠|\[\d|coverage|±\d+(\.\d+)?% interval")
THIRD = "flask_openapi-gunicorn-sync"


def test_which_is_faster_in_words_each_figure_precise_or_said_not_to_be() -> None:
    summary = summary_of(TIGHT + batch_rounds({**MEASURED, THIRD: 300.0}))
    said = faster_answer(summary)
    assert said.startswith("**Which is faster, and by how much?** FastAPI. Served as each framework's docs")
    assert (
        "answered 1.50 times as many requests per second as Flask (gunicorn, flask-restx, marshmallow) on "
        "one penguin, and 1.64 times on a batch of 100" in said
    )
    assert (
        "flask-openapi3, under the same server as Flask) answered 1.39 times as many requests per second as "
        "Flask on a batch of 100; FastAPI answered 1.18 times as many requests per second as it on a batch"
        in said
    )
    # Where Flask with pydantic answered more than FastAPI's `def` views, the sentence says so that way round.
    ahead = faster_answer(summary_of(TIGHT + batch_rounds({**MEASURED, THIRD: 400.0})))
    assert (
        "it answered 1.13 times as many requests per second as FastAPI with `def` views on a batch" in ahead
    )
    assert "as many requests per second as it" not in ahead
    even = faster_answer(summary_of(TIGHT + batch_rounds({**MEASURED, THIRD: 360.0})))  # 355 / 360
    assert (
        "it and FastAPI with `def` views answered about as many requests per second as each other on a"
        in even
    )
    assert "FastAPI's lead on batches was then 2.59 times" in said
    assert "(`make bench`, 2026-12-02, commit 97b2d32; Intel(R) Xeon(R) Processor, 2 cores)" in said
    assert not MARKS.search(said)
    loose = faster_answer(summary_of(PAIRS))  # four pairs spread by ±7%: about ±11%
    assert "about 1.5 times as many requests per second" in loose
    assert "could not be made precise to ±5% on this machine" in loose
    assert "the true ratio lies within ±11% of the figure, 95 times in 100" in loose
    assert "could not be made precise" not in said  # every figure of the tight run is
    assert not MARKS.search(loose)


def test_why_in_words_from_the_waterfalls_biggest_step() -> None:
    said = why_answer(summary_of(PAIRS, SPLIT))
    assert said.startswith(
        "**Why?** On one penguin, Flask spent 400 µs of CPU per request more than FastAPI's 700"
    )
    assert "the biggest step, 381 µs, is the server and its connection model: gunicorn's sync worker" in said
    assert not MARKS.search(said)
    assert "no in-process split" in why_answer(summary_of(PAIRS))
    # A step the other way, larger than the difference itself: said, so the parts add up for the reader.
    fall = {
        "scenario": "predict",
        "flask_us": 2590.0,
        "fastapi_us": 2250.0,
        "steps": [
            {"layer": "server_us", "name": "server", "delta_us": -610.0},
            {"layer": "framework_us", "name": "framework", "delta_us": 331.0},
            {"layer": "validation_us", "name": "validation", "delta_us": -61.0},
        ],
    }
    said = why_answer({**summary_of(PAIRS), "waterfall": [fall]})
    assert "Flask spent 340 µs of CPU per request more than FastAPI's 2,250; the biggest step, 610 µs" in said
    assert (
        "while the framework itself (routing, request and response objects, FastAPI's thread pool) cost "
        "FastAPI 331 µs more than Flask." in said
    )


def test_when_it_stops_mattering_gives_n_or_what_keeps_each_comparison_apart() -> None:
    summary = crossover_summary()
    said = when_answer(summary)
    assert said.startswith("**Does it matter for my model?** Above 20 ms of model CPU per request, no:")
    assert "MODEL_PATH=..." in said and not MARKS.search(said)
    blocked = {**summary, "crossover_n_us": None}
    blocked["crossover_n_by"] = [
        {"comparison": "default", "scenario": "batch", "n_us": None, "ratios": [["cheap", 299.0, 1.25]]},
        {"comparison": "default", "scenario": "predict", "n_us": 20000.0, "ratios": [["dear", 20000.0, 1.0]]},
    ]
    said = when_answer(blocked)
    assert "It depends on what you send" in said
    assert "FastAPI's `def` views over Flask on a batch of 100 1.25x at the 0.3 ms cheap" in said
    assert "(validating a batch costs Flask the same whatever the model)" in said
    assert "on one penguin within ±5% from 20 ms up" in said
    assert "dear model" in choose_dear(summary) and "MODEL_PATH" in choose_dear(summary)
    assert "- **A team on Flask already**: Flask with flask-openapi3" in choose_section(summary_of(TIGHT))


def test_each_run_writes_its_own_answers_and_the_others_are_said_beside_them(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    text = "\n\n".join(
        f"{start}\n{end}" for start, end in (ANSWER_FASTER, ANSWER_WHY, ANSWER_WHEN, ANSWER_OTHERS)
    )
    (tmp_path / "README.md").write_text(f"# T\n\n{text}\n")
    for name, summary in (("default", summary_of(TIGHT, SPLIT)), ("crossover", crossover_summary())):
        run = tmp_path / name
        run.mkdir()
        (run / "summary.json").write_text(json.dumps(summary))
        (run / "report.md").write_text(f"# {name}\n")
        update_readme(run, tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert (
        "**Which is faster" in readme
        and "**Why?**" in readme
        and "**Does it matter for my model?**" in readme
    )
    registry = json.loads((tmp_path / "docs" / "bench" / "runs.json").read_text())
    assert (
        set(registry) == {"default", "crossover"}
        and registry["default"]["figures"]["default/predict"]["pairs"] == 4
    )
    assert (
        "The same two defaults in the other published runs: on one penguin, 1.50 times above (under locust), "
        "1.40 times "
        "(under locust, `make bench`" in readme
    )
    assert others_sentence({"default": registry["default"]}) == ""  # no other run: nothing to say
    assert (tmp_path / "docs" / "bench" / "results.md").read_text() == "# default\n"
    assert (tmp_path / "docs" / "bench" / "crossover.md").read_text() == "# crossover\n"
    assert update(tmp_path, crossover_summary())["crossover"]["git"] == "97b2d32"


def test_the_front_page_answers_first_and_stays_short() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    first = "\n".join(lines[:40])
    for start, _ in (ANSWER_FASTER, ANSWER_WHY, ANSWER_WHEN):
        assert start in first
    assert not MARKS.search(first)
    assert "make bench" in "\n".join(lines) and "make test" in "\n".join(lines)


def test_the_runs_published_before_the_quoted_one_are_kept_and_said(tmp_path: Path) -> None:
    """One figure per comparison, and the spread across runs beside it: each publication of a profile keeps
    the run it replaces among its `earlier` (at most four, a run published twice kept once)."""
    runs = []
    for day, pairs in (("01", PAIRS), ("02", TIGHT), ("03", PAIRS)):
        summary = summary_of(pairs)
        summary["environment"] = {**summary["environment"], "started_at": f"2026-12-{day}T00:00:00+00:00"}
        runs.append(summary)
    for summary in [*runs, runs[-1]]:  # the last published twice
        registry = update(tmp_path, summary)
    quoted = registry["default"]
    assert quoted["started_at"].startswith("2026-12-03")
    assert [run["started_at"][:10] for run in quoted["earlier"]] == ["2026-12-02", "2026-12-01"]
    assert all("earlier" not in run for run in quoted["earlier"])
    tight, loose = (default_rps_of(s) for s in (runs[1], runs[0]))
    said = others_sentence(registry)
    assert (
        f"The default 2 runs published before it, oldest first, gave {loose:.2f} and {tight:.2f} times on "
        "one penguin (`make bench`, commit 97b2d32)." in said
    )
    for _ in range(5):
        runs[0]["environment"]["started_at"] += "x"  # five more, each its own
        registry = update(tmp_path, runs[0])
    assert len(registry["default"]["earlier"]) == 4


def default_rps_of(summary: dict[str, Any]) -> float:
    (entry,) = [
        e
        for e in summary["ratios"]
        if (e["scenario"], e["comparison"], e["metric"], e["generator"])
        == ("predict", "default", "rps", "locust")
    ]
    return float(entry["ratio"])
