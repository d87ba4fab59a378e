"""The README's first screen: the reader's three questions answered in sentences, each from a named run:
which is faster and by how much, and why (a default run: `make bench`), and from what model cost it stops
mattering (a crossover run). No marks, no brackets: a figure the run could not make precise says so in words.
Pure functions of summary.json."""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.config import STACK_COMPARISONS
from loadtests.bench.render.reading import joined, num, ratio_entry
from loadtests.bench.render.verdict import headline_scenarios, lead_generator
from loadtests.bench.results.crossover import WITHIN, model_axis
from shared.model import model_label
from shared.settings import REPO_ROOT

Summary = Mapping[str, Any]
SCENARIO_WORDS = {"predict": "one penguin", "batch": "a batch of 100"}
# What each layer of the waterfall is, for a reader who has not read the method.
LAYER_WORDS = {
    "server_us": "the server and its connection model: gunicorn's sync worker, Flask's default, opens and "
    "closes a connection for every request where uvicorn keeps it open",
    "validation_us": "validation: marshmallow with the glue that gives it pydantic's error vocabulary, "
    "against pydantic",
    "serialization_us": "serialization of the answer",
    "framework_us": "the framework itself (routing, request and response objects, FastAPI's thread pool)",
    "model_us": "the model",
}


def times_words(entry: Mapping[str, Any] | None) -> str | None:
    """'1.60 times' when the figure is precise (within ±5%), else 'about 1.6 times' (how far it is known is
    said once, after the figures: precision_sentence); None without a figure."""
    if not entry or entry.get("ratio") is None:
        return None
    if entry.get("precise"):
        return f"{entry['ratio']:.2f} times"
    return f"about {entry['ratio']:.1f} times"


def lead_entry(summary: Summary, comparison: str, scenario: str) -> Mapping[str, Any] | None:
    """The figure the verdict leads with: the lead generator's; for the third service's two comparisons, which
    wrk does not drive, Locust's, as the verdict's stack sentence quotes them."""
    lead = ratio_entry(summary, scenario, comparison, "rps", lead_generator(summary, scenario))
    if lead is None and comparison in STACK_COMPARISONS:
        return ratio_entry(summary, scenario, comparison, "rps", "locust")
    return lead


def figure(summary: Summary, comparison: str, scenario: str) -> str | None:
    return times_words(lead_entry(summary, comparison, scenario))


# The comparisons the first screen quotes, and on which scenarios (faster_answer, tuning_sentence).
QUOTED = (
    ("default", None),
    ("async-def-form", None),
    ("flask-openapi-over-flask", None),
    ("fastapi-over-flask-openapi", None),
    ("gc-fastapi", "batch"),
    ("gc-flask", "batch"),
    ("default-gc-tuned", "batch"),
)


def precision_sentence(summary: Summary) -> str | None:
    """One sentence for the figures quoted as 'about': how wide their intervals were when the run's budget was
    spent, in words; None when every figure quoted is precise."""
    loose = [
        entry
        for comparison, only in QUOTED
        for scenario in ((only,) if only else headline_scenarios(summary))
        if (entry := lead_entry(summary, comparison, scenario))
        and entry.get("ratio") is not None
        and not entry.get("precise")
    ]
    if not loose:
        return None
    widths = sorted(e["precision"] for e in loose if e.get("precision") is not None)
    budget = summary["environment"].get("precision", {}).get("budget_s")
    spent = f"within the run's {budget / 60:g} minutes" if budget else "within the run's budget"
    if not widths:
        reach = "too few clean pairs for any interval"
    elif len(widths) == 1 or widths[0] == widths[-1]:
        reach = f"the true ratio lies within ±{widths[0]:.0%} of the figure, 95 times in 100"
    else:
        reach = f"the true ratio lies within ±{widths[0]:.0%} to ±{widths[-1]:.0%} of each, 95 times in 100"
    return (
        f'The figures given as "about" could not be made precise to ±5% on this machine {spent}: {reach} '
        "(every interval: docs/bench/results.md)."
    )


def per_scenario(summary: Summary, comparison: str) -> list[tuple[str, str]]:
    """[(scenario in words, '1.60 times'), ...] for the scenarios the run leads with."""
    return [
        (SCENARIO_WORDS.get(scenario, scenario), words)
        for scenario in headline_scenarios(summary)
        if (words := figure(summary, comparison, scenario))
    ]


def as_many(found: Sequence[tuple[str, str]], than: str) -> str:
    """'1.60 times as many requests per second as Flask on one penguin, and 1.64 times on a batch of 100'."""
    (first_scenario, first), *rest = found
    text = f"{first} as many requests per second as {than} on {first_scenario}"
    return text + "".join(f", and {words} on {scenario}" for scenario, words in rest)


def source(summary: Summary) -> str:
    """'(`make bench`, 2026-12-07, commit abc1234; Intel(R) Xeon(R) Processor, 2 cores)'."""
    env = summary["environment"]
    command = env.get("invocation") or env["command"]
    return (
        f"(`{command}`, {str(env['started_at'])[:10]}, commit {env['git']}; {env['cpu_model']}, "
        f"{env['cores']} cores)"
    )


def faster_answer(summary: Summary) -> str:
    """Which is faster and by how much: the defaults, FastAPI's `async def` form, Flask at its best today,
    and the collector's tuning, each a sentence."""
    sentences = []
    if default := per_scenario(summary, "default"):
        sentences.append(
            f"{winner(summary)} Served as each framework's docs serve it, FastAPI (uvicorn, `def` views) "
            "answered " + as_many(default, "Flask (gunicorn, flask-restx, marshmallow)") + "."
        )
    if form := per_scenario(summary, "async-def-form"):
        sentences.append(f"With `async def` views, the model on the event loop: {as_many(form, 'Flask')}.")
    if third := third_sentence(summary):
        sentences.append(third)
    if tuned := tuning_sentence(summary):
        sentences.append(tuned)
    if sentences and (loose := precision_sentence(summary)):
        sentences.append(loose)
    return (
        f"**Which is faster, and by how much?** {' '.join(sentences) or 'Not measured in this run.'} "
        f"{source(summary)}"
    )


def third_sentence(summary: Summary) -> str | None:
    """Flask at its best today against Flask (the stack), then against FastAPI (the framework), each way
    round as measured: where it answered more than FastAPI's `def` views, that is said so, not as a ratio
    below 1."""
    stack = per_scenario(summary, "flask-openapi-over-flask")
    ahead, behind, even = [], [], []
    for scenario in headline_scenarios(summary):
        entry = lead_entry(summary, "fastapi-over-flask-openapi", scenario)
        if not entry or entry.get("ratio") is None:
            continue
        words = SCENARIO_WORDS.get(scenario, scenario)
        if abs(entry["ratio"] - 1) <= WITHIN:
            even.append(words)
        elif entry["ratio"] > 1:
            ahead.append((words, times_words(entry) or ""))
        else:
            behind.append((words, times_words({**entry, "ratio": 1 / entry["ratio"]}) or ""))
    if not stack or not (ahead or behind or even):
        return None
    parts = []
    if ahead:
        parts.append(f"FastAPI answered {as_many(ahead, 'it')}")
    if behind:
        parts.append(f"it answered {as_many(behind, 'FastAPI with `def` views')}")
    if even:
        parts.append(
            "it and FastAPI with `def` views answered about as many requests per second as each other on "
            + joined(even)
        )
    return (
        "Flask with pydantic and OpenAPI 3.1 (flask-openapi3, under the same server as Flask) answered "
        f"{as_many(stack, 'Flask')}; {'; '.join(parts)}."
    )


def winner(summary: Summary) -> str:
    """'FastAPI.' when its default is ahead by more than the band on every scenario, 'Flask.' when behind on
    every one, else 'It depends on the request:'."""
    ratios = [
        entry["ratio"]
        for scenario in headline_scenarios(summary)
        if (entry := ratio_entry(summary, scenario, "default", "rps", lead_generator(summary, scenario)))
        and entry["ratio"] is not None
    ]
    if ratios and all(r > 1 + WITHIN for r in ratios):
        return "FastAPI."
    if ratios and all(r < 1 - WITHIN for r in ratios):
        return "Flask."
    return "It depends on the request:"


def tuning_sentence(summary: Summary) -> str | None:
    effects = [
        (who, words)
        for name, who in (("gc-fastapi", "FastAPI's `def` views"), ("gc-flask", "Flask"))
        for scenario in ("batch",)
        if (words := figure(summary, name, scenario))
    ]
    lead = figure(summary, "default-gc-tuned", "batch")
    if not effects or not lead:
        return None
    return (
        "With the garbage collector tuned on both (`GC_TUNING=1`), "
        + joined([f"{who} answered {words} as many batches per second as untuned" for who, words in effects])
        + f": FastAPI's lead on batches was then {lead}."
    )


def why_answer(summary: Summary) -> str:
    """Why: per scenario, the biggest step of the waterfall (Flask's CPU per request to FastAPI's), in
    words."""
    sentences = []
    for fall in summary.get("waterfall", []):
        extra = fall["flask_us"] - fall["fastapi_us"]
        top = min(fall["steps"], key=lambda step: step["delta_us"])  # where Flask spends the most more
        back = max(fall["steps"], key=lambda step: step["delta_us"])  # where FastAPI does
        if extra <= 0 or top["delta_us"] >= 0:
            continue
        sentence = (
            f"On {SCENARIO_WORDS.get(fall['scenario'], fall['scenario'])}, Flask spent {num(extra)} µs of "
            f"CPU per request more than FastAPI's {num(fall['fastapi_us'])}; the biggest step, "
            f"{num(-top['delta_us'])} µs, is {LAYER_WORDS.get(top['layer'], top['name'])}"
        )
        if back["delta_us"] > 0.1 * extra:  # a step the other way, large enough to change the sum
            sentence += (
                f", while {LAYER_WORDS.get(back['layer'], back['name'])} cost FastAPI "
                f"{num(back['delta_us'])} µs more than Flask"
            )
        sentences.append(sentence + ".")
    if not sentences:
        return "**Why?** This run has no in-process split to say (make bench measures it)."
    return (
        f"**Why?** {' '.join(sentences)} Each layer is timed in-process, the server's share under load "
        f"{source(summary)}."
    )


def ms(us: float) -> str:
    return f"{us / 1000:.2g} ms" if us < 10_000 else f"{us / 1000:.0f} ms"


COMPARISON_WORDS = {
    "default": "FastAPI's `def` views over Flask",
    "async-def-form": "FastAPI's `async def` views over Flask",
    "same-server": "the two frameworks under one server (Granian)",
}


def when_answer(summary: Summary) -> str:
    """From what model cost the framework stops mattering (N), or what keeps every comparison from evening
    out, and why, from a crossover run."""
    axis = model_axis(summary.get("crossover") or [])
    if not axis:
        return "**Does it matter for my model?** Not measured yet: `make bench PROFILE=crossover`."
    n = summary.get("crossover_n_us")
    costs = sorted({e["model_cpu_us"] for e in axis})
    span = f"from a {ms(costs[0])} model to a {ms(costs[-1])} one"
    if n is not None:
        text = (
            f"Above {ms(n)} of model CPU per request, no: every comparison's requests/s was then within "
            f"±{WITHIN:.0%}, on one penguin and on batches ({span})."
        )
    else:
        text = f"It depends on what you send, {span}: " + blocking(summary, axis) + "."
    return (
        f"**Does it matter for my model?** {text} With a dear model what decides is how the server runs it "
        "(its worker count, `def` or `async def` views), not the framework: `make bench PROFILE=servers`. "
        "Ask about your own pipeline: `make bench PROFILE=crossover MODEL_PATH=...`. "
        f"{source(summary)}"
    )


def blocking(summary: Summary, axis: Sequence[Mapping[str, Any]]) -> str:
    """Per comparison and scenario: from what cost it stays within the band, or, at the dearest model, how
    far it is and the CPU per request behind it."""
    parts = []
    for entry in summary.get("crossover_n_by") or []:
        what = f"{COMPARISON_WORDS.get(entry['comparison'], entry['comparison'])} on " + SCENARIO_WORDS.get(
            entry["scenario"], entry["scenario"]
        )
        if entry["n_us"] is not None:
            parts.append(f"{what} within ±{WITHIN:.0%} from {ms(entry['n_us'])} up")
            continue
        model, cost, ratio = entry["ratios"][-1]
        cpu = next(
            (
                e["ratio"]
                for e in summary["crossover"]
                if (e["model"], e["scenario"], e["comparison"], e["metric"])
                == (model, entry["scenario"], entry["comparison"], "cpu_per_request_ratio")
                and e["batch_size"] in {None, 100}
            ),
            None,
        )
        text = f"{what} {ratio:.2f}x at the {ms(cost)} {model_label(model)}"
        if cpu is not None and ratio < 1 - WITHIN and cpu > 1 + WITHIN:
            text += f", each request costing FastAPI {cpu:.2f}x Flask's CPU"
            text += " (many requests interleaved on one CPU)"
        elif entry["scenario"] == "batch" and ratio > 1 + WITHIN:
            text += " (validating a batch costs Flask the same whatever the model)"
        parts.append(text)
    return "; ".join(parts)


def choose_section(summary: Summary) -> str:
    """docs/argument.md's "Which should I choose": for each reader's situation, the choice and the measured
    figure behind it, from a default run (the dear model's line comes from a crossover run: choose_dear)."""

    def at(comparison: str, scenario: str) -> str:
        return figure(summary, comparison, scenario) or "not measured in this run"

    lines = [f"From {source(summary)[1:-1]}:", ""]
    form = figure(summary, "async-def-form", "predict")
    lines.append(
        f"- **A cheap model, one prediction per request**: FastAPI. It answered {at('default', 'predict')} "
        "as many requests per second as Flask with `def` views"
        + (f", {form} with `async def`" if form else "")
        + "; most of the gap is gunicorn's sync worker opening a connection per request (the README's "
        '"Why?"), so behind nginx, as deployed, it narrows ([bench/servers.md](bench/servers.md)).'
    )
    lines.append(
        f"- **Batches, validation-heavy**: FastAPI, or Flask with pydantic. FastAPI answered "
        f"{at('default', 'batch')} Flask's batches per second; Flask with flask-openapi3 "
        f"{at('flask-openapi-over-flask', 'batch')}: marshmallow and its glue are most of Flask's cost there."
    )
    lines.append(
        "- **A team on Flask already**: Flask with flask-openapi3. Pydantic validation and an OpenAPI 3.1 "
        f"spec without leaving Flask; it answered {at('flask-openapi-over-flask', 'predict')} Flask's "
        f"requests per second on one penguin, FastAPI {at('fastapi-over-flask-openapi', 'predict')} its. Its "
        f"glue to this project's shared contract is {glue_lines('flask_openapi_service')} lines against "
        f"Flask's {glue_lines('flask_service')} and FastAPI's {glue_lines('fastapi_service')} (the table "
        "above); without a contract to share, it needs none."
    )
    lines.append(
        "- **A typed client generated from the spec**: FastAPI or Flask with flask-openapi3 (4.x). Both "
        "write OpenAPI 3.1, from which openapi-python-client makes one client that drives every service "
        "alike; flask-restx writes Swagger 2.0, which it refuses (the table's second row)."
    )
    lines.append(
        "- **An I/O-bound route** (waiting on another service): either, with the right worker, not the right "
        "framework: gunicorn's gthread or gevent workers overlap Flask's waits with no code change, "
        "FastAPI's `async def` views with an async client; a sync worker holds one request while it waits "
        "(`make bench SCENARIOS=io`, the Async row above)."
    )
    return "\n".join(lines)


def glue_lines(package: str) -> int:
    """The lines of a service's contract.py: its glue to the shared contract, counted as the argument does."""
    return len((REPO_ROOT / package / "contract.py").read_text().splitlines())


def choose_dear(summary: Summary) -> str:
    """The dear model's line of "Which should I choose", from a crossover run."""
    axis = model_axis(summary.get("crossover") or [])
    if not axis:
        return "- **A dear model**: `make bench PROFILE=crossover` measures it; no run is published yet."
    n = summary.get("crossover_n_us")
    if n is not None:
        told = f"above {ms(n)} of model CPU per request every comparison was within ±{WITHIN:.0%}"
    else:
        told = blocking(summary, axis)
    return (
        f"- **A dear model** (from {source(summary)[1:-1]}): whichever your team knows; {told}. What decides "
        "then is how the server runs the model: its worker count and `def` or `async def` views "
        '([bench/servers.md](bench/servers.md), "Worker counts", from `make bench PROFILE=servers`). Try '
        "your own pipeline: `make bench PROFILE=crossover MODEL_PATH=...`."
    )
