"""The benchmark method, written once: report.md's "Method" section and docs/bench/method.md both come from
here, with the settings, limits and hardware of the run they describe.
"""

from collections.abc import Mapping
from typing import Any

from loadtests.bench.plan.config import PROFILES
from loadtests.bench.results.crossover import WITHIN
from loadtests.bench.results.figures import AGREEMENT, BUSY_LIMIT
from loadtests.bench.results.pairs import CONFIDENCE, MIN_PAIRS, PRECISION
from loadtests.bench.results.precision import coverage_table
from loadtests.bench.results.trust import (
    GENERATOR_LIMIT,
    OTHERS_LIMIT,
    RATE_TOLERANCE,
    STEAL_LIMIT,
    UNEVEN_LIMIT,
)
from loadtests.recorder import TAIL_SAMPLES
from loadtests.scenarios import SCENARIOS

CONNECTION_MODEL = (
    "gunicorn's sync worker closes the connection after every response (it is meant to sit behind a "
    "buffering proxy such as nginx), so each Flask request under it includes a new TCP connection; uvicorn "
    "and Granian keep connections alive, and so does gunicorn's gthread worker. That is how each is served "
    "by default here, and it is part of what the headline measures: the same-server pair (both under "
    "Granian, `make bench PROFILE=servers`) and Flask under gthread (`PROFILE=full`) show how much of the "
    "difference it is."
)

BEHIND_NGINX = (
    "The pair behind nginx (`flask-gunicorn-sync-nginx`, `fastapi-uvicorn-nginx`) is the two defaults as "
    "both servers' deployment docs have them, and the one that answers *as deployed in production*: each "
    "server is started as usual, then nginx in front of it with the repository's one configuration "
    "(deploy/nginx.conf.template, the one `make run-nginx` and docker-compose use), pinned to the servers' "
    "CPUs with one worker process per CPU (written out, not `auto`, which would count the machine's CPUs); "
    "the contract is verified and the load sent through nginx's port, and both are stopped by PID when the "
    "next variant's turn comes. nginx's CPU time is sampled apart, as a process tree of its own: a variant's "
    "CPU per request is then the deployment's (the server's and nginx's), nginx's own share is reported "
    "beside it, and nginx is not counted among the other processes on the servers' CPUs. Behind nginx the "
    "clients keep their connections alive: gunicorn-sync's connection per request moves from the client to "
    "nginx, while nginx keeps its connections to uvicorn alive. Each is also paired with the same server "
    "direct, round by round: what nginx costs or saves that framework."
)

KEY_PACKAGES = (
    "flask",
    "flask-restx",
    "marshmallow",
    "gunicorn",
    "fastapi",
    "pydantic",
    "uvicorn",
    "granian",
    "locust",
    "hdrhistogram",
)


def rules(summary: Mapping[str, Any]) -> list[str]:
    env = summary["environment"]
    s = env["settings"]
    turns = (
        "The services were already running (attached by URL): both stay up throughout, and the bench only "
        "reads their CPU time."
        if env.get("attached")
        else "Each server is started on the servers' CPUs the first time its variant's turn comes and kept, "
        "idle between its slices, until the run ends or the model it serves changes: a start costs "
        "seconds the precision rule spends on pairs instead. After each slice the bench waits until the "
        "server has answered its backlog (the requests its clients gave up on at the window's end: a dear "
        "model's 32 are most of a second of work) before the next slice's clock starts (`drained_s`); what "
        "else ran on the servers' CPUs, idle servers included, is recorded with every slice (below)."
    )
    return [
        "- **Verify before measuring.** Each server variant is started under its server and the contract is "
        "checked against it live the first time it starts; a variant that fails is not benchmarked, and the "
        "report says why. During the load every Locust response is checked too (status, body shape, the "
        "species of each known penguin): a wrong answer is a failure.",
        f"- **Equal terms.** {env['cpu_plan']['note']}. {workers_sentence(env)} The same users "
        f"({s['users']}; wrk: as many connections), warm-up "
        f"({s['warmup_s']} s, not counted) and measured window ({s['duration_s']} s) for every slice. "
        f"{turns}",
        "- **Pairs, not single runs.** The headline is a ratio, so it is measured as one: per scenario, at "
        f"least {s['rounds']} rounds in which every variant runs one closed-loop slice, the order reversed "
        "every other round (A B, B A, A B, ...), each scenario's slices next to each other. Each round gives "
        "one FastAPI/Flask ratio of requests/s and "
        "one of the server's CPU time per request (its own accounting: psutil, user + system, master and "
        "workers), from two slices run seconds apart, so a slow drift of the host cancels inside the pair. "
        "The figure is the geometric mean of the pair ratios (ratios multiply: 1.25x one way is 0.80x the "
        f"other), with a {CONFIDENCE:.0%} Student-t interval computed on their logarithms. An interval "
        "describes the pairs of one run: a second run on another day also sees the host's drift between "
        "runs, which no interval of one run can hold.",
        precision_rule(env),
        "- **Know when the machine lies.** Every slice records the CPU time the host stole (`steal` in "
        "/proc/stat) on the servers' CPUs and on the generator's, the CPU time other processes of this "
        "machine took there (the CPUs' busy time beyond the server's, or beyond Locust's, the upstream's and "
        "the bench's own), and its answers per second. A slice where the host stole more than "
        f"{STEAL_LIMIT:g}% of the server's CPU, where other processes took more than {OTHERS_LIMIT:g}% of "
        f"either side's, or whose answers per second varied by more than {UNEVEN_LIMIT:.0%} (coefficient of "
        "variation, at capacity), is disturbed, and its pairs are left out of the ratios; the report says "
        "how many and why. A fixed probe (loadtests/bench/machine/speed.py) is timed on the servers' CPUs "
        "before and after every slice, since this host's CPUs change speed without counting it as stolen; it "
        "is recorded and reported, not used to drop a slice: a 10 ms snapshot did not foretell a 3 s slice's "
        "cost here (the report gives the correlation), and pairing with the median already absorbs the "
        "speed's drift. A slice whose generator's busiest second "
        f"reached {GENERATOR_LIMIT:.0f}% of its CPU is generator-bound: its throughput is a "
        "lower bound (`≥`), and so is a ratio resting on it.",
        "- **Latency without coordinated omission.** Response times go into an HdrHistogram (three "
        "significant digits). Locust's users are a closed loop: when the server stalls, the requests they "
        "would have sent meanwhile are never sent, so the stall is missing from the percentiles. At a fixed "
        "rate each user's intended interval is known (users / rate), and the recorder corrects for it as "
        "wrk2 and HdrHistogram do (`record_corrected_value`: a response k intervals late also records the "
        "answers that would have waited behind it). The curve's percentiles are corrected; capacity "
        "percentiles (a closed loop with no schedule) are as measured. Every percentile is shown with the "
        f"number of real answers behind it; one whose tail holds fewer than {TAIL_SAMPLES} says so "
        "(`≈ max`).",
        "- **The latency-throughput curve, and the capacity at the objective** (`make bench "
        "PROFILE=latency`, and the full and quick profiles). After its capacity rounds, each curve scenario "
        "offers Flask's default and each of FastAPI's forms measured a fixed rate at "
        f"shares of its own capacity (the grid: {grid(s)}), lowest "
        "first, each variant's rates on one start of its server. Each window is long enough for its p99 to "
        "rest on about 1,000 answers (ten beyond it, so not the maximum), up to 15 s. A service that reaches "
        f"less than {RATE_TOLERANCE:.0%} of a rate (allowing one answer per user at the window's edges) no "
        "longer keeps up: its curve ends there. **Capacity at the objective** is the highest offered rate a "
        f"service kept up with at a corrected p99 under {s['slo_ms']:g} ms (`SLO_MS`), keyed "
        "`<variant>/<scenario>` in summary.json with the answers behind it.",
        "- **The collector: defaults first, the tuning beside them.** Both services serve with the "
        "interpreter's garbage collector, as each framework's docs do, and the headline measures that. The "
        "tuning this repository found (`GC_TUNING=1`, both services alike, shared/collector.py: the start-up "
        "heap frozen with `gc.freeze()`, so that a full collection scans what requests made and not the app, "
        "the model and their libraries; the young generation collected every 10,000 allocations, not 700) "
        "is measured beside it as variants of their own (`-gc-tuned`): its effect on each of the three, and "
        "FastAPI/Flask with it on both; every ratio in summary.json names the collector of its numerator "
        "and denominator (`collector`). Each server's workers record every collection (`gc.callbacks`): "
        "each slice gets the count, the longest pause and the full collections within its window "
        "(`gc_pauses`, `gc_pause_max_ms`), shown beside each p99 (`make bench-tail`, docs/bench/tail.md, "
        "measures each candidate cause of a slow p99 alone).",
        "- **A generator that takes no side.** wrk, an independent generator in C, runs the default pair's "
        "predict slices again (pinned like Locust, one thread, as many connections as users, the same bodies "
        "and headers), paired the same way. The report prints both ratios, says when they differ by more "
        f"than {AGREEMENT:.0%}, and under which generator every server's CPU was at least {BUSY_LIMIT:g}% "
        "busy; when only wrk kept them busy, the verdict leads with wrk's figure. Two causes of a side "
        "taken were found and removed: gunicorn's sync worker waits after each response for the client to "
        "close its end (RFC 9112's lingering close), and Locust closes later than wrk, so one worker per CPU "
        "left Flask's CPU idle under Locust alone (gunicorn's docs' 2 x CPUs + 1 workers keep it busy); "
        "and Locust looked up 127.0.0.1 through a thread for each new connection, which made its CPU, on "
        "the CPU next to the server's, higher against Flask (a connection per request) than against FastAPI "
        "(now resolved in its loop).",
        f"- **The connection model.** {CONNECTION_MODEL}",
        f"- **As deployed: behind nginx.** {BEHIND_NGINX}",
        "- **Where the time goes.** The shared model alone is timed in-process (CPU time, median of "
        "repeats); with the split, each framework's app is also called in-process, without a socket, layer "
        "by layer (loadtests/bench/inprocess/split.py). This host's CPU changes speed for seconds at a time, "
        "which only ever adds time, so each in-process figure is the fastest of several rounds, the "
        "frameworks alternated; the report gives how much slower the slowest round was.",
        "- **Waiting on I/O** (`io`, in the full profile). The bench starts the upstream observation "
        "service itself (`UPSTREAM_LATENCY_MS` per answer) on the generator's CPUs and points every server "
        "at it; its CPU is sampled like Locust's. Every variant's capacity is compared with the Little's-law "
        "bound, users / upstream latency (a server that holds fewer requests at once is bounded by that many "
        "/ latency instead).",
        crossover_rule(),
    ]


def grid(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{g:g}" for g in settings.get("grid", [])) or "none in this run's profile"


def precision_rule(env: Mapping[str, Any]) -> str:
    """The precision rule, its coverage under optional stopping (simulated, results/precision.py), and this
    run's budget."""
    table = coverage_table()
    low, high = min(r.coverage for r in table), max(r.coverage for r in table)
    rule = env.get("precision") or {}
    budget = rule.get("budget_s")
    budgeted = (
        f"this run's budget was {budget} s for the whole run (`BUDGET_S`), shared evenly among the groups "
        "still to run (the crossover's models)"
        if budget
        else "this run had no budget for it (`BUDGET_S=0`): its rounds only"
    )
    quiet = next(r for r in table if not r.heavy and r.sigma == 0.04)
    noisy = next(r for r in table if not r.heavy and r.sigma == 0.1)
    return (
        "- **The precision rule.** After those rounds, each comparison the verdict leads with keeps adding "
        "pairs, one round at a time of just the two variants it needs (the order reversed every other "
        "round), the comparison nearest to precise first, so that a budget makes as many figures precise as "
        f"it can, until its requests/s interval lies within ±{PRECISION:.0%} of its figure, from at least "
        f"{MIN_PAIRS} pairs, or until the budget is spent; {budgeted}. The progress output names the "
        "comparison each round refines, and the verdict names any figure that reached the budget, with its "
        "interval. The repetitions come from "
        'the variance measured (Kalibera and Jones, "Rigorous Benchmarking in Reasonable Time", 2013): a '
        "quiet comparison stops at four pairs, a noisy one gets more. The rounds added come after the first "
        "ones, each a round of its own, so the pairs span the run and the interval sees the host's drift "
        "over it. **Why it stays honest under optional stopping:** the rule looks only at the interval's "
        "width, never at where it lies, so it cannot steer a figure towards a value; but stopping when an "
        "interval happens to be narrow makes it a little optimistic (Chow and Robbins, 1965). Simulated on "
        "pairs whose true ratio is known (results/precision.py, tests/test_bench_precision.py: a spread "
        "per pair from 1% to 20%, normal and heavy-tailed, at most 12 pairs), the final interval held the "
        f"true ratio in {low:.1%} to {high:.1%} of runs for its nominal {CONFIDENCE:.0%}; with a spread of "
        f"4% per pair the rule stopped after {quiet.mean_pairs:.1f} pairs on average, with 10% it reached "
        f"the budget in {1 - noisy.stopped_precise:.0%} of runs. Why the geometric mean and not the median: "
        "an order-statistic interval for the median is the lowest and highest ratio until nine pairs, so "
        "adding pairs could only widen it."
    )


def crossover_rule() -> str:
    """The crossover profile's method and what its N means (results/crossover.py computes it)."""
    p = PROFILES["crossover"]
    sizes = ", ".join(map(str, p.batch_sizes))
    return (
        f"- **The crossover** (`make bench PROFILE=crossover`, {p.estimate}). Does the framework still "
        f"matter when the model is dear? For each model `make model` trains ({', '.join(p.models)}), served "
        "in turn by every server (`MODEL_NAME`: a change of model is a restart), the same paired rounds on "
        "predict and batch for the defaults (FastAPI under uvicorn over Flask under gunicorn's sync worker), "
        "FastAPI's other form (`async def` prediction views, the model on the event loop, over Flask's "
        "default), and both under Granian on predict; "
        "and the mixed scenario for the defaults and the `async def` form, "
        "to read /health's p99 while predictions run (an `async def` view that computes holds the event "
        "loop, and the probes wait behind it). Within a round the variants run scenario by scenario, next to "
        "each other, so a pair's slices are seconds apart. On the cheapest model the "
        f"default pair also sends batches of {sizes} items. At least {p.rounds} rounds per model, then the "
        "precision rule on predict and batch, each model its share of the budget; a server's backlog is "
        f"drained before the next slice is timed; {p.warmup_s} s warm-up and {p.duration_s} s windows: the "
        "dearest model (about 20 ms of CPU per call on a quiet core) still answers about 90 requests per "
        "window, a count's step near 1%. A model's cost per request is its CPU per call timed in-process in "
        "the run, on the servers' CPU before any server starts (the card's, by `make model`, saw whatever "
        "the machine was doing then), for 1 row on predict and for the batch's rows on batch (linear "
        "between the 1-row and 100-row timings). **N** is the smallest model cost such that, for "
        "that model and every dearer one, every comparison's requests/s ratio interval, on predict and on "
        f"batch, lies within [{1 - WITHIN:.2f}, {1 + WITHIN:.2f}] from at least {MIN_PAIRS} pairs; when no "
        'model measured qualifies, the run says "no such N among the models measured". Above N, the '
        f"framework changes throughput by less than {WITHIN:.0%}, as far as these models and this machine "
        "show: a ratio is of two servers on the same CPU, so its interval also holds the machine's noise."
    )


def knobs_table() -> str:
    profiles = ", ".join(f"`{p.name}` ({p.estimate})" for p in PROFILES.values())
    rows = [
        ("PROFILE", "default", f"what to measure: {profiles}"),
        ("SCENARIOS", "the profile's", f"comma list of {', '.join(SCENARIOS)}, or `all`"),
        ("VARIANTS", "the profile's", "server variants for every scenario (`make help` lists them)"),
        ("ROUNDS", "the profile's", "capacity rounds (pairs) per scenario before the precision rule's"),
        (
            "BUDGET_S",
            "the profile's",
            "seconds the whole run may take while the precision rule adds pairs (0: the rounds only)",
        ),
        (
            "MODELS",
            "every model",
            "`PROFILE=crossover`: the models served in turn, a comma list (the first: batch sizes)",
        ),
        ("DURATION", "the profile's", "measured seconds per slice"),
        ("WARMUP", "the profile's", "seconds before each slice's window, not counted"),
        ("USERS", "32", "Locust users (wrk connections)"),
        ("RATES", "auto", "the curve's offered rates, requests/s: `auto` (the grid) or `r1,r2,...`"),
        ("SLO_MS", "50", "the latency objective: the corrected p99, ms"),
        ("WORKERS", "one per server CPU", "worker processes per server"),
        ("LOCUST_PROCESSES", "1", "above 1, a Locust master and that many workers (`--processes`)"),
        ("UPSTREAM_LATENCY_MS", "50", "io: the delay of the upstream the bench starts"),
        ("RESULTS_DIR", "results", "where `<UTC timestamp>/` and `latest` go"),
    ]
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {default} | {meaning} |" for name, default, meaning in rows]
    return "\n".join(lines)


def scenarios_table() -> str:
    lines = ["| scenario | what each request does |", "|---|---|"]
    lines += [f"| `{s.name}` | {s.description} |" for s in SCENARIOS.values()]
    return "\n".join(lines)


def hardware(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    packages = ", ".join(
        f"{name} {env['packages'][name]}" for name in KEY_PACKAGES if name in env["packages"]
    )
    return (
        f"{env['cpu_model']}, {env['cores']} cores, {env['memory_gib']} GiB, {env['os']}, {env['python']}; "
        f"{packages}"
    )


def method_markdown(summary: Mapping[str, Any]) -> str:
    """The method as report.md prints it."""
    return "\n".join(rules(summary))


def method_page(summary: Mapping[str, Any]) -> str:
    """docs/bench/method.md: the rules, the scenarios, the knobs and the hardware of the published run."""
    env = summary["environment"]
    commands = "\n".join(cmd for cmd in env["server_commands"].values() if cmd)
    return f"""# Benchmark method

`make bench` is a fair, verified, reproducible comparison of the two services on one machine, without
Docker; these are its rules, with the settings of the run the README quotes
(`{env.get("invocation") or env["command"]}`, {env["started_at"][:10]}). This page is written by
`python -m loadtests.bench readme`, from the same text as every report's "Method" section.

{method_markdown(summary)}

## Scenarios

{scenarios_table()}

## Knobs

Make variables, also in `make help`. Publishable figures: `make bench PROFILE=full`, on a quiet machine.

{knobs_table()}

## Outputs

In `results/<UTC timestamp>/` (`results/latest` is the newest): `report.md` (read it first: the verdict,
the curve, the pair ratios with their intervals, the cross-check, the noise record, a table per scenario,
the method, the environment), `summary.json` (machine-readable), `measurements.json` (every slice's raw
record, histograms included: `python -m loadtests.bench report DIR` rebuilds the report from it; both
JSON files carry a `format_version`, and a folder of another version is refused in one line), the charts,
and for every slice Locust's CSVs and HTML report (or wrk's output) under `runs/`, the servers' logs under
`logs/`.

## Hardware and servers of the published run

{hardware(summary)}.

```sh
{commands}
```
"""


def workers_sentence(env: Mapping[str, Any]) -> str:
    """How many worker processes each server ran: WORKERS= for all, or each by its server's docs."""
    if env.get("workers"):
        return f"The same worker count for every server ({env['workers']}, WORKERS=)."
    counts = {
        f"{v.get('workers_rule')}: {v.get('workers')}"
        for v in (env.get("variants") or {}).values()
        if v.get("workers") is not None
    }
    return (
        "Worker processes as each server's docs advise, on the same CPU(s) ("
        + "; ".join(sorted(counts))
        + "): gunicorn's sync worker waits on each client's socket, as its docs' 2 x CPUs + 1 assumes."
    )
