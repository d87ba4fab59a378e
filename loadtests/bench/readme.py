"""README.md's two benchmark sections, written from a real run: the method (with that run's hardware record
and server commands) and the latest results (its headline table, its io table if it ran io, and the charts,
copied to docs/bench/).

Only the text between the markers changes. When README.md has no markers, the sections go to
loadtests/README-sections.md instead.
"""

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.reading import joined, scenarios
from loadtests.bench.report import headline_notes, headline_table
from loadtests.bench.report_io import io_readme_lines
from loadtests.scenarios import SCENARIOS
from shared.settings import REPO_ROOT

METHOD = ("<!-- bench:method -->", "<!-- /bench:method -->")
RESULTS = ("<!-- bench:results -->", "<!-- /bench:results -->")
CHART = "cpu.png"
IO_CHART = "io.png"
DOCS_DIR = Path("docs") / "bench"
KEY_PACKAGES = ("flask", "flask-restx", "marshmallow", "gunicorn", "fastapi", "pydantic", "uvicorn", "locust")


def method_section(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    packages = ", ".join(
        f"{name} {env['packages'][name]}" for name in KEY_PACKAGES if name in env["packages"]
    )
    commands = "\n".join(f"{cmd}" for cmd in env["server_commands"].values() if cmd)
    scenarios = "\n".join(f"| `{s.name}` | {s.description} |" for s in SCENARIOS.values())
    return f"""## Benchmark method

`make bench` is a fair, verified, reproducible [Locust](https://locust.io) comparison of the two services on
one machine, without Docker. What it prints and writes is what we quote; these are its rules.

- **Verify before measuring.** Each service is started under its production server (gunicorn with sync workers
  for Flask, uvicorn with uvloop and httptools for FastAPI) and the contract is checked against it live. A
  service that fails is not benchmarked, and the report says why. During the load, every response is checked
  too (status, body shape, the species of each known penguin): a wrong answer is a failure.
- **Equal terms.** The same number of worker processes for both (`WORKERS`, by default one per CPU given to
  the servers); the servers pinned to one half of the CPUs and Locust to the other with `taskset` (on 2 cores:
  one each); the same users, spawn rate, warm-up (not counted) and measured duration for every run; the
  servers' own defaults otherwise (access log off on both). The exact server commands are in every report.
- **Two measurements per scenario.** *Capacity*: a closed loop with no wait, the most requests per second the
  server answers, with latency percentiles (mostly queueing, at saturation). *Equal load*: both services at
  the same fixed rate, by default half the slower one's capacity, comparing latency percentiles and the
  server's **CPU time per request**, from the server processes' own accounting (psutil, user + system, master
  and workers): the fairest figure of efficiency, since it does not depend on saturating anything.
- **Trust the instrument.** Locust's CPU is sampled throughout; a run where its busiest second reaches 90% is
  marked not clean, and its throughput is shown as a lower bound (`≥`). On 2 cores a single Locust process
  cannot outrun FastAPI on `health` or `invalid`: the report says so rather than publish a generator-bound
  number. Locust rounds response times to about two significant digits, so the Locust file records every
  response time of the measured window unrounded and the percentiles are exact (nearest rank).
- **Repeats.** `REPEATS=N` interleaves the frameworks (A B A B ...) and reports the median and the spread.
- **Where the time goes.** The shared model alone is timed in-process (one prediction, a batch of 100), and
  each scenario's CPU per request is split into the model's share and the framework's (routing, validation,
  serialization, the server).
- **Waiting on I/O** (`io`). The bench starts the upstream observation service itself (`UPSTREAM_LATENCY_MS`
  per answer, no faults) and points every server at it. It runs on the load generator's CPU, beside Locust, so
  the servers' CPU stays theirs alone, and its CPU is sampled like Locust's: a run where its busiest second
  reaches 90%, or where Locust and the upstream together fill the generator's CPUs, is marked not clean.
  Each user asks for `GET /penguins/{{id}}/prediction` in a closed loop, cycling through the upstream's rows,
  and the species is checked against the row's label. Besides the two defaults, io runs what Flask users
  deploy for I/O: gunicorn `gthread` with one thread per user (`USERS / WORKERS`: fewer threads would cap
  the requests in flight below the users, more only cost memory) and `gevent`, and the two classic mistakes
  from `examples/`: a FastAPI `async def` endpoint calling the blocking `httpx2.Client`, and a Flask
  `async def` view under the sync worker. Every variant is its own entry in `summary.json` (`variant`),
  with `users` and `upstream_latency_ms`, and is compared with the **Little's-law bound**: in a closed loop,
  requests/s = users / mean response time, and no response beats the upstream's latency, so users / latency
  bounds every server (640 requests/s for 32 users at 50 ms). A server that keeps fewer requests in flight
  (a sync worker: one) is bounded by that many / latency instead; the report explains every variant below
  80% of the bound. io measures capacity only, with CPU per request there: at an equal rate, the slowest
  variant (about 20 requests/s) would set it.
- **Distributed load.** `LOCUST_PROCESSES=N` runs Locust as a master and N worker processes
  (`--processes N`) on the generator's CPUs: each worker writes its part of the measured window and the
  bench pools them, so percentiles stay exact, and every Locust process's CPU is sampled (a run is not clean
  when any one of them, or all the generator's CPUs together, reach 90%). It helps only with more than one
  CPU for Locust; see "Distributed load" below for workers on other hosts.
- **Good to know.** gunicorn's sync workers close the connection after every response (they are meant to sit
  behind a buffering proxy such as nginx), so each Flask request includes a new TCP connection; uvicorn keeps
  connections alive. That is how each is served in production here, and it is part of what is measured.

| scenario | what each request does |
|---|---|
{scenarios}

**Knobs** (make variables, also in `make help`):

| variable | default | meaning |
|---|---|---|
| `SCENARIOS` | `all` | comma list of {", ".join(SCENARIOS)} |
| `DURATION` | 8 | measured seconds per run |
| `WARMUP` | 2 | seconds before each run's window, not counted |
| `USERS` | 32 | Locust users, the same for every run |
| `RATE` | `auto` | equal-load requests/s: `auto` (half the slower capacity), `N`, or `predict=N,batch=M` |
| `REPEATS` | 1 | runs per service and measurement, interleaved |
| `WORKERS` | one per server CPU | worker processes per server |
| `RESULTS_DIR` | `results` | where `<UTC timestamp>/` and `latest` go |
| `LOCUST_PROCESSES` | 1 | Locust processes: above 1, a master and that many workers (`--processes`) |
| `UPSTREAM_LATENCY_MS` | 50 | io: the delay of the upstream the bench starts |

**Profiles.** The default `make bench` (5 scenarios x 2 services x 2 measurements, and io's 6 variants at
capacity, 10 s each) takes about 5 minutes on 2 cores and prints each run as it goes; `REPEATS=3` about 15.
For numbers to publish, run longer and repeat: `make bench DURATION=60 REPEATS=5` (about 75 minutes).
`make bench-quick` is a one-minute smoke test; `make locust` opens Locust's web UI against a running service
for exploring by hand.

**Outputs**, in `results/<UTC timestamp>/` (`results/latest` is the newest): `report.md` (read it first: the
verdict, a table per scenario with the FastAPI/Flask ratio, the io table against the bound, the time split,
the method, the environment), `summary.json`, the charts, and for every run Locust's CSVs and HTML report
under `runs/` and the servers' (and the upstream's) logs under `logs/`.

**Hardware record** of the run below: {env["cpu_model"]}, {env["cores"]} cores, {env["memory_gib"]} GiB,
{env["os"]}, {env["python"]}; {packages}. Server commands, from the repository's root:

```sh
{commands}
```
"""


def crosscheck_paragraph(results_dir: Path) -> str:
    """The newest `python -m loadtests.bench crosscheck` beside these results, if there is one."""
    found = sorted((results_dir.resolve().parent / "crosscheck").glob("*/crosscheck.json"))
    if not found:
        return ""
    runs = json.loads(found[-1].read_text())["runs"]
    figures = "; ".join(
        f"{run['variant']}: Locust {run['locust']['rps']:,.0f}, wrk {run['wrk']['rps']:,.0f} requests/s "
        f"(Locust/wrk {run['locust']['rps'] / run['wrk']['rps']:.2f})"
        for run in runs
    )
    apart = [run for run in runs if abs(run["locust"]["rps"] / run["wrk"]["rps"] - 1) > 0.10]
    caveat = " They agree within 10%."
    if apart:
        caveat = f" They disagree by more than 10% on {joined([apart_detail(run) for run in apart])}."
        if all(run["variant"] == "flask-gunicorn-sync" for run in apart):
            caveat += SYNC_WORKER_APART
        caveat += " Read that capacity, and the FastAPI/Flask capacity ratio, with that margin."
    return (
        "\n**Cross-check** against an independent load generator (`python -m loadtests.bench crosscheck`: "
        "wrk pinned like Locust, the same connections, payloads and headers, on `predict`, "
        f"{found[-1].parent.name}): {figures}.{caveat}\n"
    )


# Why gunicorn's sync worker reads lower under Locust than under wrk, from an strace of its worker under each.
SYNC_WORKER_APART = (
    " The server's own work per request is the same under both (an strace of gunicorn's sync worker shows "
    "one accept, two reads, two writes and a close per request with either generator, and no wait for a "
    "connection: its queue never empties), so the difference is the CPU the server gets and what each "
    "request costs it beside the generator: Locust, in Python, spends more CPU per new connection than wrk, "
    "and on a "
    "small virtual machine a busier neighbouring CPU is not perfectly isolated. Kept-alive connections "
    "(uvicorn) cost Locust less, and there the two agree."
)


def apart_detail(run: Mapping[str, Any]) -> str:
    """Where a generator disagreement comes from: the server's CPU use and its cost per request under each."""
    locust, wrk = run["locust"], run["wrk"]
    return (
        f"{run['variant']} (server CPU busy {locust['server_cpu_percent']:.0f}% under Locust, "
        f"{wrk['server_cpu_percent']:.0f}% under wrk; {locust['server_cpu_us_per_request']:,.0f} against "
        f"{wrk['server_cpu_us_per_request']:,.0f} µs of CPU per request; Locust's own CPU "
        f"{locust['generator_cpu_max']:.0f}%)"
    )


def results_section(
    summary: Mapping[str, Any], chart: Path | None, results_dir: Path, io_chart: Path | None = None
) -> str:
    env = summary["environment"]
    command = env.get("invocation") or env["command"]
    parts = [
        f"""## Latest results

From `{command}` on {env["started_at"][:10]} (commit {env["git"]}, {env["cpu_model"]}, {env["cores"]}
cores), from its `report.md`, which has the full tables, latency percentiles and the reasons for each ⚠:
"""
    ]
    if scenarios(summary):
        parts.append(f"{headline_table(summary)}\n\n{headline_notes(summary)}\n")
    if chart:
        parts.append(
            "![Server CPU per request at equal load, split into the model's share and the framework's]"
            f"({chart.as_posix()})\n"
        )
    if io := io_readme_lines(summary):
        parts.append("\n".join(io) + "\n")
    if io_chart:
        parts.append(f"![io: requests/s against the Little's-law bound]({io_chart.as_posix()})\n")
    return "\n".join(parts) + crosscheck_paragraph(results_dir)


def replace_between(text: str, markers: tuple[str, str], body: str) -> str | None:
    start, end = markers
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def update_readme(results_dir: Path, repo: Path = REPO_ROOT) -> Path:
    summary = json.loads((results_dir / "summary.json").read_text())
    (repo / DOCS_DIR).mkdir(parents=True, exist_ok=True)
    charts: dict[str, Path | None] = {}
    for name, published in ((CHART, "cpu-per-request.png"), (IO_CHART, "io-vs-bound.png")):
        charts[name] = DOCS_DIR / published if (results_dir / name).exists() else None
        if charts[name]:
            shutil.copyfile(results_dir / name, repo / DOCS_DIR / published)
    method = method_section(summary)
    results = results_section(summary, charts[CHART], results_dir, charts[IO_CHART])
    readme = repo / "README.md"
    text = readme.read_text() if readme.exists() else ""
    updated = replace_between(text, METHOD, method)
    updated = replace_between(updated, RESULTS, results) if updated is not None else None
    if updated is None:
        fallback = repo / "loadtests" / "README-sections.md"
        fallback.write_text(
            f"{METHOD[0]}\n{method.strip()}\n{METHOD[1]}\n\n{RESULTS[0]}\n{results.strip()}\n{RESULTS[1]}\n"
        )
        return fallback
    readme.write_text(updated)
    return readme
