"""Run a command under an exclusive lock, unless its target is already newer than its sources:
`python tools/locked.py LOCKFILE [--target PATH --sources PATH...] -- COMMAND...`

What the Makefile wraps around creating `.venv` and training the model: two targets started at the same
moment in a fresh clone (`make run-flask` and `make run-fastapi` in two terminals, as a workshop does) would
both create the environment at once, and one fails with `[Errno 17] File exists`. Under the lock the second
waits; when its turn comes the first has already built the target, which is then newer than its sources, so
the second skips the command. Standard library only: it runs before `.venv` exists. POSIX (fcntl): Linux,
macOS, and WSL on Windows.
"""

import argparse
import fcntl
import subprocess
import sys
from pathlib import Path
from typing import TextIO


def up_to_date(target: Path | None, sources: list[Path]) -> bool:
    if target is None or not target.exists():
        return False
    built = target.stat().st_mtime
    return all(source.stat().st_mtime <= built for source in sources if source.exists())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lockfile", type=Path)
    parser.add_argument("--target", type=Path, help="skip the command when this is newer than --sources")
    parser.add_argument("--sources", type=Path, nargs="*", default=[])
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("no command after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    args.lockfile.parent.mkdir(parents=True, exist_ok=True)
    with args.lockfile.open("w") as lock:
        if not try_lock(lock):
            print(f"waiting for another make to finish ({args.lockfile}) ...", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if up_to_date(args.target, args.sources):
            return 0
        return subprocess.run(command, check=False).returncode


def try_lock(lock: TextIO) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
