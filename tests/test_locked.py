"""Creating .venv and training the model are safe to start twice at once (tools/locked.py, the Makefile)."""

import subprocess
import sys
import time
from pathlib import Path

from shared.settings import REPO_ROOT
from tests.deployment import makefile_recipe

LOCKED = [sys.executable, str(REPO_ROOT / "tools" / "locked.py")]


def test_the_second_build_waits_for_the_first_then_finds_it_built(tmp_path: Path) -> None:
    """Two builds of one target at once: the first builds it (slowly); the second waits for the lock, then
    sees the target newer than its source and does not build it again."""
    source, target, lock = tmp_path / "requirements.lock", tmp_path / "built", tmp_path / ".build.lock"
    source.write_text("pinned\n")
    build = [*LOCKED, str(lock), "--target", str(target), "--sources", str(source), "--", "sh", "-c"]
    first = subprocess.Popen([*build, f"sleep 1; echo first >> {tmp_path / 'log'}; touch {target}"])
    time.sleep(0.3)  # the first holds the lock
    second = subprocess.run(
        [*build, f"echo second >> {tmp_path / 'log'}; touch {target}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert first.wait(30) == 0 and second.returncode == 0
    assert (tmp_path / "log").read_text() == "first\n"
    assert "waiting for another make" in second.stderr
    # A source newer than the target: built again.
    time.sleep(0.01)
    source.write_text("changed\n")
    subprocess.run([*build, f"echo third >> {tmp_path / 'log'}"], check=True, timeout=30)
    assert (tmp_path / "log").read_text() == "first\nthird\n"


def test_a_failing_command_fails_the_target(tmp_path: Path) -> None:
    done = subprocess.run([*LOCKED, str(tmp_path / "lock"), "--", "sh", "-c", "exit 3"], timeout=30)
    assert done.returncode == 3
    assert subprocess.run([*LOCKED, str(tmp_path / "lock")], capture_output=True, timeout=30).returncode == 2


def test_every_target_that_builds_the_environment_or_the_model_takes_the_lock() -> None:
    for target in ("$(STAMP)", "$(MODEL)"):
        builds = [command for command in makefile_recipe(target) if command[:1] == ["$(LOCKED)"]]
        assert len(builds) == 1, target
    # Every target that serves, tests or measures depends on one of the two, never builds them itself.
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert makefile.count("-m venv") == 1 and makefile.count("-m shared.train") == 1
