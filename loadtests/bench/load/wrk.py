"""One wrk slice: the independent load generator that cross-checks Locust's FastAPI/Flask ratio.

wrk (C, an event loop per thread) runs on the generator's CPUs like Locust, one thread, as many connections
as Locust has users, sending what the scenario's Locust user sends (the same bodies in the same order, the
headers Locust's FastHttpUser adds). It checks no answer: the live contract checks before any load do, and
a non-2xx answer where the scenario expects a 2xx counts as a failure. Its warm-up is a wrk run of its own,
not counted. The server's CPU, the stolen time and memory are sampled as for Locust.
"""

import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from loadtests.bench.load.locust import (
    LoadPlan,
    Placement,
    base_record,
    failed_measurement,
    gc_figures,
    sampled_figures,
    sampler_for,
)
from loadtests.bench.plan.slices import WRK
from loadtests.bench.results.records import Measurement
from loadtests.bench.targets import processes
from loadtests.bench.targets.servers import RunningServer
from loadtests.checks import labelled_rows
from loadtests.scenarios import BATCH, BATCH_SIZE, HEALTH, INVALID, MIXED_WEIGHTS, PREDICT
from shared.examples import INVALID_PENGUIN, KNOWN_PENGUINS, batch_of

EXIT_GRACE_S = 30

# What Locust's FastHttpSession adds to a JSON request (locust/contrib/fasthttp.py), and its client's name.
LOCUST_HEADERS = {
    "User-Agent": f"python/gevent-http-client-{importlib.metadata.version('geventhttpclient')}",
    "Accept-Encoding": "gzip, deflate, br",
    "Content-Type": "application/json",
    "Accept": "application/json",
}

WRK_SCRIPT = """-- The requests of one bench scenario, in turn (written by loadtests/bench/load/wrk.py)
local requests = {%s}
local prepared = {}
local sent = 0
local headers = {%s}
init = function(args)
  for i, r in ipairs(requests) do
    prepared[i] = wrk.format(r[1], r[2], headers, r[3])
  end
end
request = function()
  sent = sent + 1
  return prepared[(sent %% #prepared) + 1]
end
"""

Request = tuple[str, str, str | None]  # method, path, JSON body


def scenario_requests(scenario: str) -> list[Request]:
    """What the scenario's Locust user sends, as a list wrk cycles through."""
    penguins: list[Request] = [("POST", "/predict", json.dumps(p)) for p in KNOWN_PENGUINS.values()]
    one: dict[str, list[Request]] = {
        HEALTH: [("GET", "/health", None)],
        PREDICT: penguins,
        BATCH: [("POST", "/predict/batch", json.dumps(batch_of(BATCH_SIZE)))],
        INVALID: [("POST", "/predict", json.dumps(INVALID_PENGUIN))],
    }
    if scenario == "mixed":
        # The weights as a deck of 100 requests, each kind spread evenly through it.
        deck = [(i / weight, name) for name, weight in MIXED_WEIGHTS.items() for i in range(weight)]
        return [one[name][i % len(one[name])] for i, (_, name) in enumerate(sorted(deck))]
    if scenario == "io":
        return [("GET", f"/penguins/{row}/prediction", None) for row in sorted(labelled_rows())]
    return one[{"health": HEALTH, "predict": PREDICT, "batch": BATCH, "invalid": INVALID}[scenario]]


def lua_string(text: str) -> str:
    return "[[" + text + "]]"


def wrk_script(scenario: str) -> str:
    requests = ", ".join(
        "{" + ", ".join([f'"{method}"', f'"{path}"', lua_string(body) if body else "nil"]) + "}"
        for method, path, body in scenario_requests(scenario)
    )
    headers = ", ".join(f'["{name}"] = "{value}"' for name, value in LOCUST_HEADERS.items())
    return WRK_SCRIPT % (requests, headers)


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"wrk's output has no {pattern!r}:\n{text}")
    return match.group(1)


def parse_output(text: str) -> dict[str, Any]:
    """Requests, requests/s and non-2xx answers from wrk's summary."""
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "requests": int(found(r"(\d+) requests in", text)),
        "rps": float(found(r"Requests/sec:\s+([\d.]+)", text)),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def available() -> bool:
    return shutil.which("wrk") is not None


def wrk_command(url: str, script: Path, connections: int, seconds: float) -> list[str]:
    return ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url]


def run_wrk(
    plan: LoadPlan, server: RunningServer, placement: Placement, results_dir: Path, run_name: str
) -> Measurement:
    run_dir = results_dir / "runs" / run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    script = run_dir / f"{plan.scenario.name}.lua"
    script.write_text(wrk_script(plan.scenario.name))
    cpus = placement.generator_cpus
    warmup = processes.pinned(wrk_command(server.url, script, plan.users, plan.warmup_s), cpus)
    command = processes.pinned(wrk_command(server.url, script, plan.users, plan.duration_s), cpus)
    base = base_record(server, plan, run_dir, results_dir, command, len(cpus), WRK)
    base["upstream_latency_ms"] = None
    try:
        if plan.warmup_s:
            subprocess.run(warmup, capture_output=True, timeout=plan.warmup_s + EXIT_GRACE_S, check=True)
        log = run_dir / "wrk.txt"
        process = processes.start(command, {}, log)
        with sampler_for(server, process.pid, placement, None) as sampler:
            start = sampler.samples[0].at
            exit_code = process.wait(plan.duration_s + EXIT_GRACE_S)
            end = sampler.samples[-1].at if len(sampler.samples) > 1 else start + plan.duration_s
        processes.stop(process)
        output = log.read_text()
        figures = parse_output(output)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return failed_measurement({**base, "exit_code": -1}, f"wrk: {exc}")
    failures = unexpected_non_2xx(plan.scenario.name, figures["requests"], figures["non_2xx"])
    # wrk stops after its duration: the sampler's first and last readings bracket it, and the server's CPU
    # per request and the collector's pauses are over that span.
    return Measurement(
        **base,
        exit_code=exit_code,
        requests=figures["requests"],
        failures=failures,
        rps=figures["rps"],
        window_s=max(end - start, 1e-9),
        latency_ms={},
        mean_ms=None,
        max_ms=None,
        by_name={},
        failure_messages=[f"{figures['non_2xx']} non-2xx answers"] if failures else [],
        **sampled_figures(sampler, start, end, False),
        **gc_figures(server.gc_dir, start, end),
    )


def unexpected_non_2xx(scenario: str, requests: int, non_2xx: int) -> int:
    """The non-2xx answers beyond those the scenario asks for (its invalid penguins' 422s); wrk cycles its
    requests in order, so their count is known to within one pass through the list."""
    deck = scenario_requests(scenario)
    invalid = sum(1 for request in deck if request[2] == json.dumps(INVALID_PENGUIN))
    expected = requests * invalid / len(deck)
    return 0 if abs(non_2xx - expected) <= len(deck) else abs(non_2xx - round(expected))
