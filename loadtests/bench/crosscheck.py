"""Cross-check Locust against an independent load generator: wrk, on the same server, the same payloads.

    python -m loadtests.bench crosscheck [--duration 8] [--warmup 2] [--users 32]

For each variant: start it as `make bench` does (pinned, verified), measure `predict` capacity with Locust,
then with wrk (pinned to the same CPU as Locust, one thread, as many connections as Locust has users, the
known penguins from shared/examples.py in turn, with the headers Locust sends), and print both throughputs
and the server's CPU per request. They should agree within 10%. wrk does not check answers; the checks
before it do.
"""

import importlib.metadata
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from loadtests.bench import processes
from loadtests.bench.loadrun import LoadPlan, run_load
from loadtests.bench.measure import ProcessTree
from loadtests.bench.records import CAPACITY
from loadtests.bench.servers import VARIANTS, RunningServer, start_server
from loadtests.bench.verify import verify
from loadtests.scenarios import SCENARIOS
from shared.examples import KNOWN_PENGUINS

AGREEMENT = 0.10

WRK_SCRIPT = """-- POST /predict with each known penguin in turn (written by loadtests/bench/crosscheck.py)
local bodies = {%s}
local prepared = {}
local sent = 0
-- The headers Locust's FastHttpUser sends: the server parses the same request either way.
local headers = {%s}
init = function(args)
  for i, body in ipairs(bodies) do
    prepared[i] = wrk.format("POST", "/predict", headers, body)
  end
end
request = function()
  sent = sent + 1
  return prepared[(sent %% #prepared) + 1]
end
"""


# What Locust's FastHttpSession adds to a JSON request (locust/contrib/fasthttp.py), and its client's name.
LOCUST_HEADERS = {
    "User-Agent": f"python/gevent-http-client-{importlib.metadata.version('geventhttpclient')}",
    "Accept-Encoding": "gzip, deflate, br",
    "Content-Type": "application/json",
    "Accept": "application/json",
}


def wrk_script() -> str:
    bodies = ", ".join(f"[[{json.dumps(penguin)}]]" for penguin in KNOWN_PENGUINS.values())
    headers = ", ".join(f'["{name}"] = "{value}"' for name, value in LOCUST_HEADERS.items())
    return WRK_SCRIPT % (bodies, headers)


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"wrk's output has no {pattern!r}:\n{text}")
    return match.group(1)


def run_wrk(
    server: RunningServer, script: Path, users: int, seconds: int, cpus: tuple[int, ...], log: Path
) -> dict[str, Any]:
    """One wrk run; its requests/s, errors, and the server's CPU time per request over it."""
    command = processes.pinned(
        [
            "wrk",
            "-t1",
            f"-c{users}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"{server.url}/predict",
        ],
        cpus,
    )
    tree = ProcessTree(server.process.pid)
    cpu_before, started = tree.cpu_seconds(), time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    cpu_used, elapsed = tree.cpu_seconds() - cpu_before, time.time() - started
    log.write_text(done.stdout + done.stderr)
    requests = int(found(r"(\d+) requests in", done.stdout))
    rps = float(found(r"Requests/sec:\s+([\d.]+)", done.stdout))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    errors = re.search(r"Socket errors: (.*)", done.stdout)
    return {
        "command": processes.shown(command, {}),
        "rps": rps,
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
        "server_cpu_us_per_request": cpu_used / requests * 1e6 if requests else None,
        "server_cpu_percent": 100 * cpu_used / elapsed,
    }


def crosscheck(duration_s: int, warmup_s: int, users: int, results_root: Path) -> Path:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get update && apt-get install -y wrk")
    processes.install_cleanup()
    cpus = processes.current_cpu_plan()
    processes.pin_self(cpus.generator)
    out = results_root / "crosscheck" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out.mkdir(parents=True)
    script = out / "predict.lua"
    script.write_text(wrk_script())
    workers = max(1, len(cpus.server))
    rows = []
    plan = LoadPlan(SCENARIOS["predict"], CAPACITY, 1, users, float(users), warmup_s, duration_s)
    for variant in VARIANTS:
        server = start_server(variant, workers, cpus.server, out / "logs")
        try:
            failed = [check for check in verify(server.url) if not check.passed]
            if failed:
                raise SystemExit(f"{variant.key} failed the contract checks: {failed[0]}")
            locust = run_load(plan, server, cpus.generator, out, f"{variant.key}-locust")
            run_wrk(server, script, users, warmup_s, cpus.generator, out / f"{variant.key}-wrk-warmup.txt")
            wrk = run_wrk(server, script, users, duration_s, cpus.generator, out / f"{variant.key}-wrk.txt")
        finally:
            processes.stop(server.process)
        difference = locust.rps / wrk["rps"] - 1 if wrk["rps"] else None
        rows.append(
            {
                "variant": variant.key,
                "server_command": server.command,
                "locust": {
                    "rps": locust.rps,
                    "requests": locust.requests,
                    "failures": locust.failures,
                    "generator_cpu_max": locust.generator_cpu_max,
                    "server_cpu_us_per_request": locust.server_cpu_us_per_request,
                    "server_cpu_percent": locust.server_cpu_percent,
                },
                "wrk": wrk,
                "locust_vs_wrk": difference,
                "agree": difference is not None and abs(difference) <= AGREEMENT,
            }
        )
        print(
            f"{variant.key}: Locust {locust.rps:.0f} rps "
            f"({locust.server_cpu_us_per_request or 0:.0f} us CPU/request, "
            f"Locust CPU {locust.generator_cpu_max:.0f}%), wrk {wrk['rps']:.0f} rps "
            f"({wrk['server_cpu_us_per_request'] or 0:.0f} us CPU/request, {wrk['non_2xx']} non-2xx): "
            f"Locust/wrk {locust.rps / wrk['rps']:.3f}",
            flush=True,
        )
    (out / "crosscheck.json").write_text(json.dumps({"cpu_plan": cpus.note, "runs": rows}, indent=2) + "\n")
    return out
