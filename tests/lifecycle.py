"""Every command that starts processes, stopped as a person or a machine stops it: SIGINT (Ctrl-C), SIGTERM
(`kill`, a CI job's timeout, a supervisor), SIGHUP (a closed terminal) to its process group, a second SIGTERM
one second after the first, or SIGKILL to its Python process (its parent dies). Then: what is left of it, the
processes and the ports they listen on.

Each command runs as a user runs it, `make <target>` in a process group of its own, its ports given through
its knobs (free ones, so that trials run side by side). This process makes itself the children's subreaper
(Linux's PR_SET_CHILD_SUBREAPER): whatever the command started and left behind, even in a session of its own,
becomes a child of this one, so nothing escapes the count, and it is stopped here by its process id.

tests/test_lifecycle.py runs one trial per command and signal and asserts that nothing is left within the
command's grace; `python -m tests.lifecycle` prints the table (`--docs` writes it in docs/reliability.md,
`--repo` runs another checkout's commands, `--json` keeps the outcomes).
"""

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from deploy.run import SERVICES
from loadtests.bench.render.markers import replace_between
from shared.lifecycle import child_setup, stop_on_signals
from shared.settings import REPO_ROOT

PR_SET_CHILD_SUBREAPER = 36
DOCS = REPO_ROOT / "docs" / "reliability.md"
MARKERS = ("<!-- lifecycle:table -->", "<!-- /lifecycle:table -->")
BEFORE = "left before (2ab73b5)"
START_TIMEOUT_S = 90  # a command's start: the venv is built, the model trained already
POLL_S = 0.1
STARTING_POLL_S = 0.25  # while it starts: finding its ports costs this process CPU the command needs


@dataclass(frozen=True)
class Command:
    """A make target, its knobs ({port}: a free port, 0 where the knob takes it for one; {scratch}: a
    temporary folder), how many
    ports its processes listen on when it is stopped (0: as soon as it has started a process in a session of
    its own, one nobody would stop if it did not), and the grace docs/running.md promises for its stop."""

    target: str
    knobs: tuple[str, ...]
    listens: int
    grace_s: float

    def arguments(self, port: int, scratch: Path) -> list[str]:
        return [self.target, *(knob.format(port=port, scratch=scratch) for knob in self.knobs)]

    @property
    def shown(self) -> str:
        return f"make {self.target}"


# One line per command. The commands that run others are given small knobs and stopped early (the bench in
# its in-process phase, bench-tail as its first server starts, the soak and the fuzzing while their servers
# start, the crash measurement while make run-nginx starts): what is tried is their stop; the bench's stop
# with servers and Locust running is tests/test_bench_interrupted.py's.
COMMANDS: dict[str, Command] = {
    command.target: command
    for command in (
        Command("run-flask", ("PORT={port}",), listens=1, grace_s=12),
        Command("run-fastapi", ("PORT={port}",), listens=1, grace_s=12),
        Command("run-flask-openapi", ("PORT={port}",), listens=1, grace_s=12),
        Command("run-upstream", ("PORT={port}",), listens=1, grace_s=12),
        Command(
            "run-nginx",
            tuple(f"{name.upper()}_{kind}=0" for name in SERVICES for kind in ("PORT", "NGINX_PORT")),
            listens=2 * len(SERVICES),
            grace_s=15,
        ),
        Command(
            "bench",
            (
                "PROFILE=quick",
                "SCENARIOS=predict",
                "VARIANTS=flask-gunicorn-sync,fastapi-uvicorn",
                "ROUNDS=1",
                "DURATION=1",
                "WARMUP=0",
                "USERS=4",
                "RESULTS_DIR={scratch}",
            ),
            listens=0,
            grace_s=30,
        ),
        Command("bench-tail", ("RESULTS_DIR={scratch}",), listens=0, grace_s=30),
        Command("soak", ("SOAK_DURATION=120", "SOAK_RATE=5", "RESULTS_DIR={scratch}"), listens=1, grace_s=15),
        Command("locust", ("LOCUST_WEB_PORT={port}",), listens=1, grace_s=10),
        Command("fuzz", ("MAX_EXAMPLES=5", "RESULTS_DIR={scratch}"), listens=1, grace_s=15),
        Command("lab", ("N=4",), listens=1, grace_s=12),
        Command("crash", ("CRASH_RATE=5",), listens=0, grace_s=20),
    )
}


@dataclass(frozen=True)
class Stop:
    """How a trial stops the command: signals to its process group, a second after one another, or SIGKILL
    to its Python process."""

    name: str
    signals: tuple[int, ...] = ()
    kill_python: bool = False


STOPS: dict[str, Stop] = {
    stop.name: stop
    for stop in (
        Stop("SIGINT", (signal.SIGINT,)),
        Stop("SIGTERM", (signal.SIGTERM,)),
        Stop("SIGHUP", (signal.SIGHUP,)),
        Stop("SIGTERM twice", (signal.SIGTERM, signal.SIGTERM)),
        Stop("SIGKILL to its Python", kill_python=True),
    )
}


@dataclass
class Outcome:
    command: str
    stop: str
    ran: list[str] = field(default_factory=list)  # its processes when the signal came ("name (n)")
    ports: list[int] = field(default_factory=list)  # the ports they listened on
    stopped_after_s: float | None = None  # until its last process ended; None: not within the grace
    left: list[str] = field(default_factory=list)  # processes alive at the grace, with their ports
    still_listening: list[int] = field(default_factory=list)
    problem: str = ""  # the trial could not be run as planned (it did not start, or ended by itself)
    make_exit: int | None = None

    @property
    def clean(self) -> bool:
        return not self.problem and not self.left and not self.still_listening


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def descendants() -> list[psutil.Process]:
    """Every live process under this one: the command's, and its orphans (this process is their reaper)."""
    alive = []
    for process in psutil.Process().children(recursive=True):
        with suppress(psutil.NoSuchProcess):
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive


def reap_orphans(make: subprocess.Popen[bytes]) -> None:
    """Collect the orphans that ended (ours to reap), never the make process (Popen waits for it)."""
    for process in psutil.Process().children():
        with suppress(psutil.NoSuchProcess, ChildProcessError):
            if process.pid != make.pid and process.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(process.pid, os.WNOHANG)


def listening_ports(processes: Sequence[psutil.Process]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for process in processes:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            ports = sorted(
                {
                    c.laddr.port
                    for c in process.net_connections("tcp")
                    if c.status == psutil.CONN_LISTEN and c.laddr
                }
            )
            if ports:
                found[process.pid] = ports
    return found


def listening_anywhere(ports: Sequence[int]) -> list[int]:
    """Of these ports, those some process on this machine still listens on."""
    wanted = set(ports)
    return sorted(
        {
            c.laddr.port
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port in wanted
        }
    )


def label(process: psutil.Process) -> str:
    """A process as a reader knows it: `python -m deploy.run`, `nginx: master process`, `make`."""
    try:
        words, name = process.cmdline(), process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    if not words or name in {"nginx", "make"}:  # nginx writes its title over its command line
        return " ".join(words).split(" /", 1)[0].strip() if name == "nginx" and words else name
    if "-m" in words and words.index("-m") + 1 < len(words):
        return f"python -m {words[words.index('-m') + 1]}"
    if "-c" in words:  # multiprocessing's children
        return "python -c " + ("(resource tracker)" if "resource_tracker" in " ".join(words) else "(worker)")
    return " ".join(Path(word).name if i == 0 else word for i, word in enumerate(words[:2]))


def counted(labels: Sequence[str]) -> list[str]:
    return [
        f"{name} ({labels.count(name)})" if labels.count(name) > 1 else name for name in dict.fromkeys(labels)
    ]


def top_python(make: psutil.Process) -> psutil.Process | None:
    """The command's own Python process: the first python under make (a shell may stand between)."""
    queue = [make]
    while queue:
        process = queue.pop(0)
        with suppress(psutil.NoSuchProcess):
            if process is not make and "python" in Path(process.cmdline()[0]).name:
                return process
            queue.extend(process.children())
    return None


def own_session(process: psutil.Process, make: int) -> bool:
    try:
        return os.getsid(process.pid) != os.getsid(make)
    except ProcessLookupError:
        return False


def wait_until_running(command: Command, make: subprocess.Popen[bytes], log: Path) -> dict[int, list[int]]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if make.poll() is not None:
            raise RuntimeError(f"ended by itself (exit {make.returncode}): {log.read_text()[-1500:]}")
        running = descendants()
        listening = listening_ports(running)
        if command.listens == 0 and any(own_session(p, make.pid) for p in running):
            return listening
        if (
            command.listens
            and len({port for ports in listening.values() for port in ports}) >= command.listens
        ):
            return listening
        time.sleep(STARTING_POLL_S)
    raise RuntimeError(f"not running after {START_TIMEOUT_S} s: {log.read_text()[-1500:]}")


def as_from_a_terminal() -> None:
    """The stop signals at their defaults in the command, as a terminal starts it: a test runner may ignore
    SIGINT, and its children would inherit that."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def trial(command: Command, stop: Stop, repo: Path, scratch: Path) -> Outcome:
    """Start the command, stop it as `stop` says, and see what is left at its grace; then end what is left."""
    outcome = Outcome(command.shown, stop.name)
    log = scratch / f"{command.target}.log"
    arguments = command.arguments(free_port(), scratch)
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", *arguments],
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=as_from_a_terminal,
        )
    try:
        try:
            listening = wait_until_running(command, make, log)
        except RuntimeError as exc:
            outcome.problem = str(exc)
            return outcome
        before = descendants()
        outcome.ran = counted([label(p) for p in before])
        outcome.ports = sorted({port for ports in listening.values() for port in ports})
        signalled = time.monotonic()
        if stop.kill_python:
            python = top_python(psutil.Process(make.pid))
            if python is not None:
                python.kill()
        for index, signum in enumerate(stop.signals):
            if index:
                time.sleep(1.0)
            with suppress(ProcessLookupError):
                os.killpg(make.pid, signum)
        while time.monotonic() < signalled + command.grace_s:
            make.poll()
            reap_orphans(make)
            if make.returncode is not None and not descendants():
                outcome.stopped_after_s = round(time.monotonic() - signalled, 1)
                break
            time.sleep(POLL_S)
        outcome.make_exit = make.poll()
        left = descendants()
        ports = listening_ports(left)
        outcome.left = counted(
            [label(p) + (f" on {','.join(map(str, ports[p.pid]))}" if p.pid in ports else "") for p in left]
        )
        outcome.still_listening = listening_anywhere(outcome.ports)
        return outcome
    finally:
        end_everything(make)


def end_everything(make: subprocess.Popen[bytes]) -> None:
    """SIGKILL to whatever is still under this process, by its id (each was started here or left to us)."""
    for _ in range(50):
        left = descendants()
        if not left and make.poll() is not None:
            break
        for process in left:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        with suppress(ProcessLookupError):
            if make.poll() is None:
                make.kill()
        time.sleep(POLL_S)
        reap_orphans(make)
    with suppress(subprocess.TimeoutExpired):
        make.wait(5)


def run_one(name: str, stop: str, repo: Path) -> Outcome:
    """One trial, this process the subreaper of what the command leaves; a signal to it ends it all."""
    become_subreaper()
    stop_on_signals()
    with tempfile.TemporaryDirectory(prefix="lifecycle-") as scratch:
        return trial(COMMANDS[name], STOPS[stop], repo, Path(scratch))


def run_side_by_side(commands: Sequence[str], stops: Sequence[str], repo: Path, jobs: int) -> list[Outcome]:
    """Each trial in a process of its own (its own subreaper, so that what one leaves is counted for it),
    `jobs` at a time, their outcomes in the order asked."""
    wanted = [(name, stop) for name in commands for stop in stops]
    outcomes: dict[tuple[str, str], Outcome] = {}
    running: dict[tuple[str, str], subprocess.Popen[str]] = {}
    deadline_s = START_TIMEOUT_S + max(c.grace_s for c in COMMANDS.values()) + 60
    started: dict[tuple[str, str], float] = {}
    try:
        while len(outcomes) < len(wanted):
            for key in wanted:
                if key not in outcomes and key not in running and len(running) < jobs:
                    running[key] = subprocess.Popen(
                        [sys.executable, "-m", "tests.lifecycle", "--one", *key, "--repo", str(repo)],
                        cwd=REPO_ROOT,
                        stdout=subprocess.PIPE,
                        text=True,
                        preexec_fn=child_setup(),
                    )
                    started[key] = time.monotonic()
            for key, process in list(running.items()):
                if process.poll() is None and time.monotonic() - started[key] > deadline_s:
                    process.terminate()  # it ends what it started, then answers
                if process.poll() is not None:
                    out, _ = process.communicate()
                    outcomes[key] = (
                        Outcome(**json.loads(out)) if out.strip() else Outcome(*key, problem="no answer")
                    )
                    print(describe(outcomes[key]), flush=True)
                    del running[key]
            time.sleep(POLL_S)
    finally:
        for process in running.values():
            process.terminate()
            process.wait(30)
    return [outcomes[key] for key in wanted]


def describe(outcome: Outcome) -> str:
    if outcome.problem:
        return f"{outcome.command}, {outcome.stop}: not tried: {outcome.problem.splitlines()[0]}"
    return f"{outcome.command}, {outcome.stop}: {remains(outcome)}"


def remains(outcome: Outcome) -> str:
    if outcome.problem:
        return "not tried"
    if outcome.clean and outcome.stopped_after_s is not None:
        return f"nothing (all ended in {outcome.stopped_after_s:g} s)"
    still = (
        f"; still listening: {', '.join(map(str, outcome.still_listening))}"
        if outcome.still_listening
        else ""
    )
    return ", ".join(outcome.left) + still if outcome.left else f"nothing running{still}"


def table(rows: dict[tuple[str, str], dict[str, str]]) -> str:
    lines = [
        f"| command | stopped by | {BEFORE} | now |",
        "|---|---|---|---|",
    ]
    for (command, stop), cells in rows.items():
        before, now = cells.get("before") or "(no such command)", cells.get("now") or "-"
        lines.append(f"| `{command}` | {stop} | {before} | {now} |")
    return "\n".join(lines)


def parse_table(text: str) -> dict[tuple[str, str], dict[str, str]]:
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[(cells[0].strip("`"), cells[1])] = {"before": cells[2], "now": cells[3]}
    return rows


def write_docs(outcomes: Sequence[Outcome], column: str) -> None:
    """The outcomes as one column of docs/reliability.md's lifecycle table; the other column is kept."""
    text = DOCS.read_text()
    start, end = MARKERS
    rows = parse_table(text.split(start, 1)[1].split(end, 1)[0]) if start in text else {}
    for outcome in outcomes:
        rows.setdefault((outcome.command, outcome.stop), {})[column] = remains(outcome)
    order = {(c.shown, s): i for i, (c, s) in enumerate((c, s) for c in COMMANDS.values() for s in STOPS)}
    ordered = dict(sorted(rows.items(), key=lambda item: order.get(item[0], len(order))))
    updated = replace_between(text, MARKERS, table(ordered))
    if updated is None:
        raise SystemExit(f"{DOCS}: no {start} ... {end} markers")
    DOCS.write_text(updated)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", default=",".join(COMMANDS), help="make targets, comma-separated")
    parser.add_argument("--stops", default=",".join(STOPS), help=f"of: {', '.join(STOPS)}")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="the checkout whose commands to run")
    parser.add_argument("--jobs", type=int, default=2, help="trials side by side (2)")
    parser.add_argument("--json", type=Path, help="write the outcomes there")
    parser.add_argument("--from-json", type=Path, help="no trials: the outcomes of an earlier --json")
    parser.add_argument("--docs", choices=("now", "before"), help=f"write them as that column of {DOCS.name}")
    parser.add_argument("--one", nargs=2, metavar=("COMMAND", "STOP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        name, stop = args.one
        print(json.dumps(asdict(run_one(name, stop, args.repo.resolve()))))
        return 0
    commands = [name.strip() for name in args.commands.split(",") if name.strip()]
    stops = [name.strip() for name in args.stops.split(",") if name.strip()]
    if unknown := [n for n in commands if n not in COMMANDS] + [s for s in stops if s not in STOPS]:
        parser.error(f"unknown: {', '.join(unknown)}")
    if args.from_json:
        outcomes = [Outcome(**o) for o in json.loads(args.from_json.read_text())]
    else:
        stop_on_signals()
        outcomes = run_side_by_side(commands, stops, args.repo.resolve(), max(1, args.jobs))
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    if args.docs:
        write_docs(outcomes, args.docs)
    return 0 if all(o.clean for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
