"""Every command that starts processes stops with all of them: SIGINT, SIGTERM or SIGHUP to its process
group, or a second SIGTERM a second after the first; nothing running or listening within its grace
(tests/lifecycle.py says how a trial runs; docs/running.md, what each command leaves). And the two mechanisms
underneath (shared/lifecycle.py): a second signal lets the clean-up finish; a child ends with its parent."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from shared.settings import REPO_ROOT
from tests.conftest import require_nginx
from tests.lifecycle import COMMANDS, Outcome, describe, run_side_by_side

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the trials count orphans as Linux's subreaper"
)

# The stops the issue names. Every command is stopped by SIGTERM (a CI job's timeout, `kill`, a supervisor)
# and by a second SIGTERM a second later (the clean-up must not abort); the commands that run others the
# way every other does (make run-nginx: three servers and nginx; make run-flask: gunicorn's master) by
# SIGINT and SIGHUP too, which take the same path (shared/lifecycle.py) in every command. A trial costs the
# command's whole start, so make test holds to these (the whole suite: about 7 minutes on 2 cores); `python -m
# tests.lifecycle` tries every command with every stop, SIGKILL to its Python included, and its table is
# docs/reliability.md's.
STOPS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGTERM twice")
EVERY_STOP = {"run-nginx", "run-flask"}


@pytest.mark.live
@pytest.mark.parametrize("target", COMMANDS)
def test_the_command_leaves_nothing_behind(target: str) -> None:
    if target == "run-nginx":
        require_nginx()
    stops = STOPS if target in EVERY_STOP else ("SIGTERM", "SIGTERM twice")
    outcomes = run_side_by_side([target], stops, REPO_ROOT, jobs=len(stops))
    problems = [describe(o) for o in outcomes if not clean_in_time(o)]
    assert problems == [], "\n".join(problems)


def test_running_md_promises_the_graces_the_trials_hold_each_command_to() -> None:
    rows = [
        line
        for line in (REPO_ROOT / "docs" / "running.md").read_text().splitlines()
        if line.startswith("| `make")
    ]
    for target, command in COMMANDS.items():
        (row,) = [row for row in rows if re.search(rf"`make {target}[` ]", row.split("|")[1])]
        assert row.rstrip(" |").rsplit("|", 1)[1].strip() == f"{command.grace_s:g} s", target


def clean_in_time(outcome: Outcome) -> bool:
    return outcome.clean and outcome.stopped_after_s is not None and outcome.ran != []


def run_python(code: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_a_second_signal_lets_the_clean_up_finish() -> None:
    """The first signal unwinds to the clean-up; those that come during it (here, two) do not abort it."""
    done = run_python(
        """
        import os, signal, time
        from shared.lifecycle import Interrupted, stop_on_signals, stopping
        stop_on_signals()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except Interrupted as first:
            print("stopping on", first, first.exit_code)
            for signum in (signal.SIGTERM, signal.SIGINT):
                os.kill(os.getpid(), signum)
                time.sleep(0.1)
            print("clean-up finished; the stop came from", signal.Signals(stopping()).name)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "stopping on SIGTERM 143",
        "clean-up finished; the stop came from SIGTERM",
    ]
    assert done.stderr.count("already stopping") == 2


def test_a_child_ends_with_its_parent_even_when_the_parent_is_killed() -> None:
    """SIGKILL to a parent runs none of its clean-up: the kernel's parent-death signal ends its child."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; from shared.lifecycle import child_setup; "
            "child = subprocess.Popen(['sleep', '60'], start_new_session=True, preexec_fn=child_setup()); "
            "print(child.pid, flush=True); time.sleep(60)",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        assert child.is_running() and child.status() != psutil.STATUS_ZOMBIE
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    finally:
        if child.is_running():
            child.kill()
        parent.kill()
        parent.communicate()
