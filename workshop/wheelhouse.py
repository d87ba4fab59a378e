"""`make wheelhouse`: every wheel requirements.lock names, in one folder, for installing without the index.

By default for this machine's Python and platform. For other laptops, name their Python and pip platform
tags: pip does not evaluate a requirement file's markers (`; python_full_version >= '3.12'`) for the target
(https://github.com/pypa/pip/issues/11198), so the lock is filtered here, with `packaging`, for that target.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import Marker

from shared.settings import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"


def target_environment(python: str, platforms: list[str]) -> dict[str, str]:
    """The marker variables of a CPython `python` ("3.12") on the first of pip's `platforms` tags."""
    tag = platforms[0]
    sys_platform = "darwin" if tag.startswith("macosx") else "win32" if tag.startswith("win") else "linux"
    full = python if python.count(".") >= 2 else f"{python}.0"
    return {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": full,
        "sys_platform": sys_platform,
        "platform_system": {"darwin": "Darwin", "win32": "Windows"}.get(sys_platform, "Linux"),
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "os_name": "nt" if sys_platform == "win32" else "posix",
    }


def requirements_for(lock_text: str, environment: dict[str, str]) -> str:
    """The lock's entries whose marker holds in `environment`, markers removed, hashes kept."""
    kept = []
    for entry in re.split(r"\n(?=\S)", lock_text.strip()):
        if entry.startswith("#"):
            continue
        first, _, rest = entry.partition("\n")
        requirement, _, marker = first.rstrip(" \\").partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        kept.append(f"{requirement.strip()} \\\n{rest}" if rest else requirement.strip())
    return "\n".join(kept) + "\n"


def download(dest: Path, python: str | None, platforms: list[str]) -> int:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--require-hashes"]
    command += ["--only-binary=:all:", "--dest", str(dest)]
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as scratch:
        requirements = LOCK
        if python or platforms:
            target_python = python or ".".join(map(str, sys.version_info[:2]))
            if not platforms:
                print(
                    "WHEELHOUSE_PLATFORMS is needed with WHEELHOUSE_PYTHON (pip platform tags)",
                    file=sys.stderr,
                )
                return 2
            requirements = Path(scratch) / "requirements.txt"
            environment = target_environment(target_python, platforms)
            requirements.write_text(requirements_for(LOCK.read_text(), environment))
            command += ["--no-deps", "--python-version", target_python, "--implementation", "cp"]
            command += [f"--platform={tag}" for tag in platforms]
        command += ["-r", str(requirements)]
        print(" ".join(command), flush=True)
        return subprocess.run(command).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.wheelhouse", description=__doc__)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--python", help="a target Python version, e.g. 3.12 (default: this one)")
    parser.add_argument("--platform", action="append", default=[], help="a pip platform tag; repeatable")
    args = parser.parse_args(argv)
    args.dest.mkdir(parents=True, exist_ok=True)
    status = download(args.dest, args.python, args.platform)
    if status != 0:
        print(
            f"make wheelhouse: pip could not fetch every wheel (exit {status}); see above.", file=sys.stderr
        )
        return status
    wheels = sorted(args.dest.glob("*.whl"))
    size = sum(wheel.stat().st_size for wheel in wheels) / 2**20
    print(f"{len(wheels)} wheels, {size:.0f} MiB, in {args.dest}. On a laptop without the index:")
    print(f"  WHEELHOUSE={args.dest} make venv   (then make test, make bench ... as usual)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
