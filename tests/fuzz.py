"""Property-based fuzzing of every live service from its own spec, with Schemathesis.

`make fuzz` runs it long; tests/test_fuzz.py runs it bounded inside `make test`. Each service runs under its
real server, with the real upstream, and Schemathesis generates requests from `/swagger.json` (Flask) and
`/openapi.json` (FastAPI, Flask-OpenAPI3), valid and invalid, and runs all its checks on every answer: no 5xx,
status codes, content types, headers and bodies as documented, invalid data refused, valid data accepted.
"""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.lifecycle import child_setup, stop_on_signals
from shared.settings import REPO_ROOT
from tests.servers import LiveServer, live_server

SPECS = {"flask": "/swagger.json", "fastapi": "/openapi.json", "flask_openapi": "/openapi.json"}


@dataclass(frozen=True)
class FuzzResult:
    framework: str
    cases: int
    failures: int
    errors: int
    seconds: float
    exit_code: int
    output: Path

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.failures == 0 and self.errors == 0


@contextmanager
def running_services(log_dir: Path) -> Iterator[dict[str, LiveServer]]:
    """The upstream (without its delay), then every service pointed at it, one worker each."""
    with ExitStack() as stack:
        upstream = stack.enter_context(live_server("upstream", log_dir, env={"UPSTREAM_LATENCY_MS": "0"}))
        env = {"UPSTREAM_URL": upstream.url, "WORKERS": "1"}
        yield {name: stack.enter_context(live_server(name, log_dir, env=env)) for name in SPECS}


def fuzz(server: LiveServer, max_examples: int, seed: int, out_dir: Path) -> FuzzResult:
    report = out_dir / f"schemathesis-{server.framework}.json"
    output = out_dir / f"schemathesis-{server.framework}.txt"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        server.url + SPECS[server.framework],
        "--checks=all",
        f"--max-examples={max_examples}",
        f"--seed={seed}",
        "--report=json",
        f"--report-json-path={report}",
    ]
    with output.open("wb") as log:
        # Run in out_dir: Schemathesis keeps a cache folder in its working directory.
        exit_code = subprocess.run(
            command, cwd=out_dir, stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_setup()
        ).returncode
    if not report.exists():
        return FuzzResult(server.framework, 0, 0, 1, 0.0, exit_code, output)
    summary = json.loads(report.read_text())
    return FuzzResult(
        framework=server.framework,
        cases=summary["test_cases"]["generated"],
        failures=len(summary["failures"]),
        errors=len(summary["errors"]),
        seconds=summary["running_time"],
        exit_code=exit_code,
        output=output,
    )


def fuzz_all(max_examples: int, seed: int, out_dir: Path) -> list[FuzzResult]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with running_services(out_dir) as services:
        results = [fuzz(server, max_examples, seed, out_dir) for server in services.values()]
        for server in services.values():
            # A 5xx fails a check already; a traceback in the log would be a failure answered politely.
            if "Traceback" in server.log.read_text():
                results = [r if r.framework != server.framework else failed(r) for r in results]
    return results


def failed(result: FuzzResult) -> FuzzResult:
    return FuzzResult(result.framework, result.cases, result.failures, result.errors + 1, 0, 1, result.output)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=500, help="per API operation (default 500)")
    parser.add_argument("--seed", type=int, default=None, help="default: a new one, printed to rerun with")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--out", type=Path, default=None, help="default: <results-dir>/fuzz-<UTC timestamp>/")
    args = parser.parse_args()
    stop_on_signals()  # the first SIGINT, SIGTERM or SIGHUP stops the servers, whatever follows
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    out_dir = args.out or args.results_dir / time.strftime("fuzz-%Y%m%dT%H%M%SZ", time.gmtime())
    print(f"Fuzzing every service, {args.max_examples} examples per operation, seed {seed} -> {out_dir}")
    results = fuzz_all(args.max_examples, seed, out_dir)
    for r in results:
        verdict = "ok" if r.passed else "FAILED"
        print(
            f"  {r.framework:13} {r.cases:6} cases  {r.failures} failures  {r.errors} errors  "
            f"{r.seconds:6.1f} s  {verdict}  ({r.output})"
        )
    print(f"Rerun exactly: make fuzz MAX_EXAMPLES={args.max_examples} SEED={seed}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
