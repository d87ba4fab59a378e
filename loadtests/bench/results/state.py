"""A run's state, kept in its folder as it goes (run.json): running, complete, interrupted (by a signal) or
failed (by an error); how far it got; and what a report needs beside the measurements (the run's setting, the
servers' verification, the model's in-process figures). The runner rewrites it as each slice ends, beside the
measurement it appends (records.py), so that a run that dies for any reason, SIGKILL included, leaves a folder
`python -m loadtests.bench report` turns into a partial report. results/latest names complete runs only, and
`readme` takes nothing else.
"""

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from shared.lifecycle import Interrupted

RUN_FILE = "run.json"
RUNNING, COMPLETE, INTERRUPTED, FAILED = "running", "complete", "interrupted", "failed"
KILLED = "SIGKILL or a crash (its process ended without a word)"


class IncompleteRun(Exception):
    """A run that did not finish, where only a complete one will do; its message is one line."""


def ended_by(exc: BaseException) -> tuple[str, str]:
    """The state an exception leaves a run in, and why, in a few words."""
    if isinstance(exc, Interrupted):
        return INTERRUPTED, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "SIGINT"
    if isinstance(exc, SystemExit) and not isinstance(exc.code, int | None):
        return FAILED, str(exc.code).splitlines()[0]
    first = str(exc).splitlines()[0] if str(exc) else ""
    return FAILED, f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def ended(state: str, reason: str, measured: int, planned: int) -> dict[str, Any]:
    """What summary.json's environment says of how the run ended (`run`; `interrupted` for older readers)."""
    run = {"state": state, "reason": reason, "measured": measured, "planned": planned}
    return {"interrupted": state != COMPLETE, "run": run}


def write_state(
    results_dir: Path,
    state: str,
    measured: int,
    planned: int,
    record: Mapping[str, Any],
    reason: str = "",
) -> None:
    """run.json, replaced whole (a reader never sees half of it): `record` holds the environment, the
    verification and the model's figures as the report reads them."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    content = {
        "state": state,
        "reason": reason,
        "pid": os.getpid(),
        "measured": measured,
        "planned": planned,
        "updated_at": now,
        **record,
    }
    temporary = results_dir / f".{RUN_FILE}.tmp"
    temporary.write_text(json.dumps(content, indent=1) + "\n")
    temporary.replace(results_dir / RUN_FILE)


def read_state(results_dir: Path) -> dict[str, Any] | None:
    """run.json as last written, its state `running` turned to `interrupted` when its process is gone (a
    SIGKILL, a power cut: it had no chance to say so); None for a run from before run.json."""
    path = results_dir / RUN_FILE
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    if state["state"] == RUNNING and not bench_alive(state["pid"], state.get("updated_at", "")):
        state = {**state, "state": INTERRUPTED, "reason": KILLED}
    return state


def bench_alive(pid: int, since: str) -> bool:
    """Whether the process that wrote run.json still runs (a pid reused since is another process)."""
    try:
        process = psutil.Process(pid)
        started = datetime.fromtimestamp(process.create_time(), UTC)
    except psutil.Error:
        return False
    return not since or started <= datetime.fromisoformat(since)


def how_far(state: Mapping[str, Any]) -> str:
    """'interrupted by SIGTERM after 9 of 28 slices', for the report and the command line."""
    done = f"{state['measured']} of about {state['planned']} slices"
    if state["state"] == RUNNING:
        return f"still running: {done} so far"
    if state["state"] == COMPLETE:
        return f"complete: {done}"
    reason = f" by {state['reason']}" if state["state"] == INTERRUPTED else f": {state['reason']}"
    return f"{state['state']}{reason} after {done}"


def partial_note(environment: Mapping[str, Any]) -> str:
    """What a partial run's report says first: how far the run got, and what that means for its figures."""
    run = environment.get("run")
    if not run:  # a run from before run.json
        return "**Interrupted**: this report covers only what was measured before the run stopped."
    return (
        f"**A partial run**: {how_far(run)}. Every figure below comes from the slices it finished: a "
        "comparison it did not reach is missing, and one it reached in part has fewer pairs."
    )


def require_complete(results_dir: Path) -> None:
    """IncompleteRun, in one line, unless the run finished (or predates run.json)."""
    state = read_state(results_dir)
    if state is not None and state["state"] != COMPLETE:
        raise IncompleteRun(
            f"{results_dir} is not a complete run ({how_far(state)}): the README and docs take complete "
            f"runs only; `python -m loadtests.bench report {results_dir}` makes its partial report"
        )
