"""How a command that starts processes stops them: the first SIGINT, SIGTERM or SIGHUP unwinds it to its
clean-up, and later ones let that clean-up finish (a second Ctrl-C, a supervisor's second SIGTERM, a closed
terminal after a `kill` must not abort it half-way and orphan what it had not stopped yet). Each child it
starts also ends when it does, even when it is killed outright: SIGKILL runs no clean-up, so the kernel sends
the child SIGTERM (Linux's parent-death signal, prctl(2) PR_SET_PDEATHSIG; elsewhere, nothing).

Used by every command of the project that starts processes: make run-nginx (deploy/run.py), the bench, the
soak, the crash measurement, the fuzzing and the workshop's labs; the servers' workers have their masters.
"""

import ctypes
import os
import signal
import sys
import types
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

_first: int | None = None


class Interrupted(KeyboardInterrupt):
    """Raised once, by the first stop signal, wherever the command is: it unwinds to the clean-up. A
    KeyboardInterrupt, so that what already stops on Ctrl-C stops alike on SIGTERM and SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """What a shell reports for a command ended by this signal."""
        return 128 + self.signum


def _on_stop_signal(signum: int, frame: types.FrameType | None) -> None:
    global _first
    if _first is None:
        _first = signum
        raise Interrupted(signum)
    # Already stopping: the clean-up goes on. os.write, not print: a signal can arrive inside a print.
    name = signal.Signals(signum).name
    os.write(2, f"{name}: already stopping, every process it started is being stopped\n".encode())


def stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP raise Interrupted once; later ones are noted and let the clean-up finish.
    SIGINT too: a shell starts a background job with it ignored, and Python then leaves it so."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)


def stopping() -> int | None:
    """The signal that started the stop, if one did."""
    return _first


def dies_with_parent(parent: int | None = None, signum: int = signal.SIGTERM) -> None:
    """In a child: `signum` when the parent ends, however it ends (after fork, before exec: the setting
    survives exec, so `taskset`, nginx and the servers keep it). Linux sends it when the thread that started
    the child ends, so children are started from the main thread."""
    if _LIBC is None:
        return
    _LIBC.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    # The parent may have ended before the call: then nobody would send it.
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signum)


def child_setup() -> Callable[[], None]:
    """A preexec_fn for subprocess.Popen: the child ends with this process."""
    parent = os.getpid()
    return lambda: dies_with_parent(parent)
