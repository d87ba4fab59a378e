"""What `make run-nginx` does as a process manager: a child (a service, or nginx) that exits is started again
while the others go on serving, and one that keeps exiting is given up rather than started forever. It
complements the servers' own supervision (gunicorn's master, uvicorn's supervisor), which replace a dead
worker: this replaces a dead server."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from deploy.nginx import stop_group

# A child that exits this many times within RESTART_WINDOW_S is given up: it fails at start, and starting it
# again would only fill the terminal.
RESTARTS = 5
RESTART_WINDOW_S = 60.0
WATCH_EVERY_S = 0.5


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Child:
    """How to start a child and how to stop it (its whole process group, within its grace)."""

    name: str
    launch: Callable[[], subprocess.Popen[bytes]]
    stop_signal: int = signal.SIGTERM
    grace_s: float = 15.0
    process: subprocess.Popen[bytes] | None = None
    exits: list[float] = field(default_factory=list)
    given_up: bool = False

    def start(self) -> None:
        self.process = self.launch()

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, self.stop_signal, self.grace_s)

    def exited(self) -> bool:
        return self.process is not None and not self.given_up and self.process.poll() is not None

    def restart(self) -> None:
        """Started again, unless it exited RESTARTS times within RESTART_WINDOW_S: then given up, said."""
        assert self.process is not None
        code = self.process.returncode
        self.stop()  # what it left of its group (a worker would hold its port)
        now = time.monotonic()
        self.exits = [t for t in self.exits if now - t < RESTART_WINDOW_S] + [now]
        if len(self.exits) >= RESTARTS:
            self.given_up = True
            say(
                f"{self.name} exited {len(self.exits)} times within {RESTART_WINDOW_S:.0f} s (last exit code "
                f"{code}): given up; the others keep serving"
            )
            return
        say(f"{self.name} exited (exit code {code}): starting it again")
        try:
            self.start()
        except RuntimeError as exc:  # it did not start: counted as its next exit
            say(f"{self.name} did not start again: {exc}")


def keep_running(children: Sequence[Child]) -> int:
    """Restart each child that exits, until a stop signal comes (KeyboardInterrupt) or every child has been
    given up (then 1)."""
    while not all(child.given_up for child in children):
        for child in children:
            if child.exited():
                child.restart()
        time.sleep(WATCH_EVERY_S)
    return 1


def stop_all(children: Sequence[Child]) -> None:
    """The last started first (nginx before the services, so that no request reaches a stopping service)."""
    for child in reversed(children):
        child.stop()
