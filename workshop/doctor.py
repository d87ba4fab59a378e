"""`make doctor`: is this laptop ready for the workshop? One PASS, WARN or FAIL line per check.

Runs with the Python that `make venv` would use, before any environment exists, so it imports nothing
outside the standard library and asks the environment's own Python about the rest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Tuple  # noqa: UP035 (see Result)

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
STAMP = ROOT / ".venv" / ".installed-from-lock"
MINIMUM = (3, 11)
# Which target listens where: the services avoid 5000, which macOS's AirPlay Receiver takes.
PORTS = {
    8001: "make run-flask",
    8002: "make run-fastapi",
    8003: "make run-upstream",
    8004: "make run-flask-openapi",
    8089: "make locust",
}
IMPORTS = "flask, flask_restx, marshmallow, gunicorn, fastapi, pydantic, uvicorn, httpx2, sklearn, locust"
MODEL_PROBE = (
    "from shared.model import load_served_model; from shared.settings import Settings; "
    "m = load_served_model(Settings.from_env()); "
    "print(f\"{m.card['name']} {m.version}, held-out accuracy {m.card['metrics']['accuracy']:.3f}\")"
)

# typing.Tuple: this module must run on an old Python, if only to say it is too old.
Result = Tuple[str, str]  # noqa: UP006 (PASS | WARN | FAIL, sentence)


def python_version() -> Result:
    found = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MINIMUM:
        return "PASS", f"Python {found} ({sys.executable})"
    return "FAIL", f"Python {found} is too old: install 3.11 or newer and run make with PYTHON=python3.11"


def environment() -> Result:
    if not VENV_PYTHON.exists():
        return "FAIL", "no .venv: run `make venv` (offline: `WHEELHOUSE=<folder of wheels> make venv`)"
    lock = ROOT / "requirements.lock"
    if not STAMP.exists() or STAMP.stat().st_mtime < lock.stat().st_mtime:
        return "FAIL", ".venv is older than requirements.lock: run `make venv`"
    probe = run_in_venv(f"import {IMPORTS}")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return "FAIL", f".venv is incomplete ({last}): run `rm -rf .venv && make venv`"
    return "PASS", ".venv has every package of requirements.lock"


def model() -> Result:
    if not VENV_PYTHON.exists():
        return "FAIL", "no model check without .venv (see above)"
    probe = run_in_venv(MODEL_PROBE)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return "FAIL", f"the model does not load: {last.split(': ', 1)[-1]}"
    return "PASS", f"the model loads: {probe.stdout.strip()}"


def run_in_venv(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(VENV_PYTHON), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Can a server listen here? Bound the way gunicorn and uvicorn bind (SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ports() -> list[Result]:
    results = []
    for port, target in PORTS.items():
        if port_free(port):
            results.append(("PASS", f"port {port} is free ({target})"))
        else:
            elsewhere = f", or start it elsewhere: PORT={port + 10} {target}" if port != 8089 else ""
            results.append(
                (
                    "FAIL",
                    f"port {port} is in use ({target} needs it): stop what listens there "
                    f"(`lsof -i :{port}`){elsewhere}",
                )
            )
    return results


def tools() -> list[Result]:
    results: list[Result] = []
    if shutil.which("git"):
        results.append(("PASS", "git is there (the labs' solutions are patches)"))
    else:
        results.append(("WARN", "no git: `make lab-solution` cannot apply the labs' solutions"))
    if sys.platform.startswith("linux") and not shutil.which("taskset"):
        results.append(("WARN", "no taskset (util-linux): make bench runs without pinning CPUs"))
    return results


def main() -> int:
    results = [python_version(), environment(), model(), *ports(), *tools()]
    for status, sentence in results:
        print(f"{status}  {sentence}")
    failures = sum(status == "FAIL" for status, _ in results)
    if failures:
        print(f"\n{failures} problem(s): fix the FAIL lines above, then run `make doctor` again.")
        return 1
    print("\nReady: every check passes. Next: make diff TOPIC=structure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
