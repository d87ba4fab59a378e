"""docs/argument.md's measured figures, and the sentences that read them, from one run's summary.json:

- the speed point (between its `bench:speed` markers): the pair ratios with their intervals;
- the table's glue row and async row (inline `bench:glue` and `bench:async` markers, in their cells): the
  glue's price and the io scenario's requests/s, when the run measured them;
- "What the table says" (`bench:findings`): validation, async and where the CPU-bound gap comes from, each
  sentence chosen by the figures it quotes, so that the two cannot disagree.

A figure the run did not measure is not copied from another run: the text names the command that measures
it. The line counts in the table are the repository's, checked by tests/test_argument.py.
"""

from collections.abc import Mapping
from typing import Any

from loadtests.bench.render.markers import replace_between, replace_inline
from loadtests.bench.render.reading import (
    BOUND,
    label,
    num,
    origin,
    ratio_entry,
    ratio_text,
    scenarios,
    times,
)
from loadtests.bench.render.report_io import MISTAKES, find, io_runs, share
from loadtests.bench.render.split_report import signed

SPEED = ("<!-- bench:speed -->", "<!-- /bench:speed -->")
GLUE = ("<!-- bench:glue -->", "<!-- /bench:glue -->")  # inline, in a table cell
ASYNC = ("<!-- bench:async -->", "<!-- /bench:async -->")  # inline, in a table cell
FINDINGS = ("<!-- bench:findings -->", "<!-- /bench:findings -->")
GLUE_COMMAND = "python -m loadtests.bench.inprocess.glue"
IO_COMMAND = "make bench SCENARIOS=io"
# Validation "costs CPU" when Flask's (marshmallow and the glue) exceeds FastAPI's (pydantic) by more than
# this share of Flask's whole app in-process; below it, the difference is in the code, not the CPU.
COSTS_CPU = 0.10
# Async "is mostly the worker model" when Flask, with a worker that overlaps waits and no code change,
# reaches at least this share of FastAPI's requests/s on the io scenario.
MOSTLY = 0.80

Summary = Mapping[str, Any]


def speed_section(summary: Summary) -> str:
    """The speed point: per CPU scenario, the two defaults' ratios (each server direct, and both behind nginx)
    and the same-server pair's, each with its interval, and where the run came from."""
    lines = [
        f"Speed, measured by {origin(summary)} ({summary['environment']['cores']} cores; FastAPI over Flask, "
        "the median of the pair ratios with its interval; ⚠: too few clean pairs or too wide to quote as a "
        "finding):",
        "",
    ]
    for scenario in scenarios(summary):
        for comparison, what in (
            ("default", "each server direct"),
            ("async-def-form", "FastAPI's `async def` form, each server direct"),
            ("nginx", "as deployed, both behind nginx"),
            ("same-server", "both under Granian"),
        ):
            rps = ratio_entry(summary, scenario, comparison, "rps")
            if rps is None:
                continue
            cpu = ratio_entry(summary, scenario, comparison, "cpu_us_per_request")
            lines.append(
                f"- {scenario}, {what}: requests/s {ratio_text(rps)}; CPU per request {ratio_text(cpu)}"
            )
    lines += [
        "",
        "Where the difference comes from: the README's answers and [bench/results.md](bench/results.md); "
        "both under one server (Granian), both behind nginx and each server's worker count: `make bench "
        "PROFILE=servers`, [bench/servers.md](bench/servers.md).",
    ]
    return "\n".join(lines)


def glue_cell(summary: Summary) -> str:
    """The glue row's figure: each service's CPU per request over its stack's reference app."""
    glue = summary.get("glue") or {}
    if not glue:
        return (
            f"in-process CPU per request, service / reference: not in the run quoted here; `{GLUE_COMMAND}` "
            "measures it (and `make bench PROFILE=servers`)"
        )
    parts = []
    for framework, by_endpoint in glue.items():
        cells = ", ".join(
            f"{times(f['ratio'])} [{f['ratio_min']:.2f}-{f['ratio_max']:.2f}] on `/{endpoint}`"
            for endpoint, f in by_endpoint.items()
        )
        parts.append(f"{framework_name(framework)} {cells}")
    pairs = max(f["pairs"] for by_endpoint in glue.values() for f in by_endpoint.values())
    return (
        f"in-process CPU per request, service / reference, the median of {pairs} alternated pairs [their "
        f"range]: {'; '.join(parts)} (from {origin(summary)}; `{GLUE_COMMAND}` measures it alone)"
    )


def async_cell(summary: Summary) -> str:
    """The async row's figure: each io variant's requests/s against the Little's-law bound."""
    runs = io_runs(summary)
    if not runs:
        return (
            f"not in the run quoted here: `{IO_COMMAND}` measures each server's requests/s against the "
            "Little's-law bound (users / upstream latency)"
        )
    first = runs[0]
    figures = "; ".join(
        f"{label(run)}{' (a mistake)' if (run['framework'], run['variant']) in MISTAKES else ''} "
        f"{num(run['rps'])}{'' if run['clean'] else ' ' + BOUND}"
        for run in runs
    )
    return (
        f"`{IO_COMMAND}`, {first['users']} users, {first['upstream_latency_ms']:g} ms upstream, bound "
        f"{num(first['littles_law_bound_rps'])} requests/s ({origin(summary)}), requests/s: {figures}"
    )


def framework_name(framework: str) -> str:
    return label({"framework": framework, "variant": ""}).removesuffix(" ()")


def validation_finding(summary: Summary) -> str:
    """Whether validation costs Flask CPU or only code: the in-process split's validation layer, on the
    scenario where the two differ most, against Flask's whole app."""
    by_scenario: dict[str, dict[str, Mapping[str, Any]]] = {}
    for entry in summary.get("split") or []:
        if entry.get("validation_us") is not None:
            by_scenario.setdefault(entry["scenario"], {})[entry["framework"]] = entry
    compared = {s: e for s, e in by_scenario.items() if {"flask", "fastapi"} <= set(e)}
    if not compared:
        return (
            "- **Validation**: the run quoted here did not time each app's layers; `make bench` (its default "
            "profile) does, and says here whether marshmallow with its glue costs Flask CPU or only code."
        )

    def difference(scenario: str) -> float:
        both = compared[scenario]
        return float(both["flask"]["validation_us"] - both["fastapi"]["validation_us"])

    scenario = max(compared, key=difference)
    flask, fastapi = compared[scenario]["flask"], compared[scenario]["fastapi"]
    app = flask.get("app_us")
    part = 100 * difference(scenario) / app if app else None
    costs = part is not None and part > 100 * COSTS_CPU
    head = "Validation costs Flask CPU as well as code." if costs else "Validation costs Flask code, not CPU."
    sentence = (
        f"- **{head}** marshmallow validates as well as pydantic; making its errors say what pydantic says "
        "is the glue of `flask_service/contract.py` (the table counts its lines). "
        f"On {scenario}, marshmallow with that glue takes "
        f"{num(flask['validation_us'])} µs of CPU per request in-process, pydantic "
        f"{num(fastapi['validation_us'])} µs: {num(difference(scenario))} µs more, {num(part, '%')} of "
        f"Flask's app in-process ({num(app)} µs; above {COSTS_CPU:.0%}, this page counts it as CPU)."
    )
    others = [
        f"{other} {num(e['flask']['validation_us'])} against {num(e['fastapi']['validation_us'])} µs"
        for other, e in compared.items()
        if other != scenario
    ]
    if others:
        sentence += f" Elsewhere: {'; '.join(others)}."
    if (third := compared[scenario].get("flask_openapi")) is not None:
        sentence += " " + third_stack_sentence(scenario, flask, fastapi, third)
    if glue := summary.get("glue"):
        ratios = {
            framework_name(framework): [f["ratio"] for f in by_endpoint.values()]
            for framework, by_endpoint in glue.items()
        }
        spans = "; ".join(f"{name} {min(r):.2f}-{max(r):.2f}x" for name, r in ratios.items())
        sentence += (
            " Answering the shared contract costs each service, in CPU per request over a minimal app of its "
            f"own stack (`/health` and `/predict`): {spans}. A project that does not need two frameworks to "
            "answer alike pays none of it."
        )
    return sentence


def third_stack_sentence(
    scenario: str, flask: Mapping[str, Any], fastapi: Mapping[str, Any], third: Mapping[str, Any]
) -> str:
    """Flask with pydantic (flask-openapi3): whose validation cost it has, Flask's or pydantic's."""
    own = third["validation_us"]
    nearer = abs(own - fastapi["validation_us"]) < abs(own - flask["validation_us"])
    whose = (
        "near pydantic's on FastAPI: that cost is the validation library's, not the framework's"
        if nearer
        else "nearer marshmallow's on Flask than pydantic's on FastAPI"
    )
    return f"Flask with pydantic (flask-openapi3) and its glue takes {num(own)} µs on {scenario}, {whose}."


def async_finding(summary: Summary) -> str:
    """Whether the io gap is the worker model: Flask with a worker that overlaps waits, against FastAPI."""
    runs = io_runs(summary)
    fastapi = find(summary, "io", ("fastapi", "uvicorn"))
    flask = [
        run
        for run in runs
        if run["framework"] == "flask"
        and (run["framework"], run["variant"]) not in MISTAKES
        and run["variant"] != "gunicorn-sync"
    ]
    if not runs or fastapi is None or not fastapi.get("rps") or not flask:
        return (
            "- **Async**: whether the I/O-bound gap is the framework or the worker model is for "
            f"`{IO_COMMAND}` to say; the run quoted here did not measure it."
        )
    best = max(flask, key=lambda run: run["rps"] or 0)
    reached = (best["rps"] or 0) / fastapi["rps"]
    head = (
        "Async is mostly the worker model." if reached >= MOSTLY else "Async is more than the worker model."
    )
    sentence = (
        f"- **{head}** Waiting on a {fastapi['upstream_latency_ms']:g} ms upstream, Flask under "
        f"{best['variant']} reaches {times(reached)} FastAPI's requests/s ({num(best['rps'])} against "
        f"{num(fastapi['rps'])}) with no code change"
    )
    if (sync := find(summary, "io", ("flask", "gunicorn-sync"))) is not None:
        sentence += (
            f"; the sync worker, one request at a time, reaches {share(sync['share_of_bound'])} of the "
            "Little's-law bound"
        )
    return sentence + f" (from {MOSTLY:.0%} of FastAPI's, this page calls it mostly the worker model)."


def gap_finding(summary: Summary) -> str:
    """Where the CPU-bound gap comes from: per scenario, the waterfall's biggest step, and the same-server
    pair's difference as its control."""
    parts = []
    for fall in summary.get("waterfall") or []:
        top = fall["steps"][0]
        total = signed(fall["fastapi_us"] - fall["flask_us"])
        part = (
            f"on {fall['scenario']}, of {total} µs of CPU per request from Flask to FastAPI, the biggest "
            f"step is {top['name'].split(':')[0]} ({signed(top['delta_us'])})"
        )
        control = fall.get("control") or {}
        if control.get("cpu_ratio") is not None:
            part += f", and under one server (Granian) the frameworks differ by {times(control['cpu_ratio'])}"
        parts.append(part)
    if not parts:
        why = (
            "split each app but measured no clean pair of servers to complete the split with"
            if summary.get("split")
            else "did not split the apps"
        )
        return (
            "- **The CPU-bound gap**: how much of it is the server rather than the framework is for "
            f"`make bench` (its default profile splits each app) to say; the run quoted here {why}."
        )
    text = "; ".join(parts)
    return f"- **Where the CPU-bound gap comes from.** {text[0].upper()}{text[1:]}."


def findings(summary: Summary) -> str:
    return "\n".join([validation_finding(summary), async_finding(summary), gap_finding(summary)])


def argument_text(text: str, summary: Summary) -> str:
    """docs/argument.md with every generated part rewritten from `summary`; markers it lacks are skipped."""
    parts = [(SPEED, speed_section(summary), replace_between), (FINDINGS, findings(summary), replace_between)]
    # The glue's price and the io figures come from the runs that measure them (PROFILE=servers, and
    # SCENARIOS=io): a run without them leaves the last one's in place.
    if summary.get("glue"):
        parts.append((GLUE, glue_cell(summary), replace_inline))
    if io_runs(summary):
        parts.append((ASYNC, async_cell(summary), replace_inline))
    for markers, body, replace in parts:
        text = replace(text, markers, body) or text
    return text


def glue_text(text: str, summary: Summary) -> str:
    """docs/argument.md with the glue's price rewritten, from a run that measured it (PROFILE=servers)."""
    if not summary.get("glue"):
        return text
    return replace_inline(text, GLUE, glue_cell(summary)) or text
