"""README.md's two benchmark sections, written from a real run: the method (with that run's hardware record
and server commands) and the latest results (its headline table and one chart, copied to docs/bench/).

Only the text between the markers changes. When README.md has no markers, the sections go to
loadtests/README-sections.md instead.
"""

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.report import headline_notes, headline_table
from loadtests.scenarios import SCENARIOS
from shared.settings import REPO_ROOT

METHOD = ("<!-- bench:method -->", "<!-- /bench:method -->")
RESULTS = ("<!-- bench:results -->", "<!-- /bench:results -->")
CHART = "cpu.png"
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

**Profiles.** The default `make bench` (5 scenarios x 2 services x 2 measurements, 10 s each) takes under
4 minutes on 2 cores and prints each run as it goes; `REPEATS=3` about 11. For numbers to publish, run longer
and repeat: `make bench DURATION=60 REPEATS=5` (about 55 minutes). `make bench-quick` is a one-minute smoke
test; `make locust` opens Locust's web UI against a running service for exploring by hand.

**Outputs**, in `results/<UTC timestamp>/` (`results/latest` is the newest): `report.md` (read it first: the
verdict, a table per scenario with the FastAPI/Flask ratio, the time split, the method, the environment),
`summary.json`, the charts, and for every run Locust's CSVs and HTML report under `runs/` and the servers'
logs under `logs/`.

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
    apart = [run["variant"] for run in runs if abs(run["locust"]["rps"] / run["wrk"]["rps"] - 1) > 0.10]
    caveat = (
        f" They disagree by more than 10% on {', '.join(apart)}: with identical requests, that server "
        "idles a little between Locust's new connections (gunicorn's sync worker takes one connection per "
        "request), so Locust's capacity for it reads low, and the FastAPI/Flask capacity ratio high, by "
        "about that much."
        if apart
        else " They agree within 10%."
    )
    return (
        "\n**Cross-check** against an independent load generator (`python -m loadtests.bench crosscheck`: "
        "wrk pinned like Locust, the same connections, payloads and headers, on `predict`, "
        f"{found[-1].parent.name}): {figures}.{caveat}\n"
    )


def results_section(summary: Mapping[str, Any], chart: Path, results_dir: Path) -> str:
    env = summary["environment"]
    command = env.get("invocation") or env["command"]
    return f"""## Latest results

From `{command}` on {env["started_at"][:10]} (commit {env["git"]}, {env["cpu_model"]}, {env["cores"]}
cores), from its `report.md`, which has the full tables, latency percentiles and the reasons for each ⚠:

{headline_table(summary)}

{headline_notes(summary)}

![Server CPU per request at equal load, split into the model's share and the framework's]({chart.as_posix()})
{crosscheck_paragraph(results_dir)}"""


def replace_between(text: str, markers: tuple[str, str], body: str) -> str | None:
    start, end = markers
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def update_readme(results_dir: Path, repo: Path = REPO_ROOT) -> Path:
    summary = json.loads((results_dir / "summary.json").read_text())
    chart = DOCS_DIR / "cpu-per-request.png"
    (repo / DOCS_DIR).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results_dir / CHART, repo / chart)
    method, results = method_section(summary), results_section(summary, chart, results_dir)
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
