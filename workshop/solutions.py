"""The labs' solutions: one patch per lab in docs/workshop/solutions/, applied with git.

`git apply` first; if the code around a hunk has moved on since the patch was made (another lab's solution,
your own change), `git apply --3way` merges it from the original lines, which a clone of this repository
has in its history. The merge runs on a scratch index, so your staged changes are left as they are.
"""

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared.settings import REPO_ROOT

SOLUTIONS = Path("docs") / "workshop" / "solutions"


def patch_path(number: int, root: Path = REPO_ROOT) -> Path:
    return root / SOLUTIONS / f"lab-{number}.patch"


@dataclass(frozen=True)
class Applied:
    ok: bool
    how: str  # what was done, or why not, in a sentence with git's own words


def git(root: Path, *args: str, index: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_INDEX_FILE": str(index)} if index else None
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)


def patched_paths(root: Path, patch: Path) -> list[str]:
    numstat = git(root, "apply", "--numstat", str(patch)).stdout.splitlines()
    return [line.split("\t", 2)[2] for line in numstat if line.count("\t") >= 2]


def contents(root: Path, paths: list[str]) -> dict[str, str | None]:
    return {path: (root / path).read_text() if (root / path).exists() else None for path in paths}


def three_way(root: Path, patch: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`git apply --3way` against an index that matches the working tree: --3way insists on one."""
    with tempfile.TemporaryDirectory(prefix="workshop-index-") as scratch:
        index = Path(scratch) / "index"
        git(root, "read-tree", "HEAD", index=index)
        existing = [path for path in patched_paths(root, patch) if (root / path).exists()]
        if existing:
            git(root, "add", "--", *existing, index=index)
        return git(root, "apply", "--3way", *flags, str(patch), index=index)


def in_work_tree(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    except OSError:
        return False


def apply_solution(number: int, root: Path = REPO_ROOT, undo: bool = False) -> Applied:
    """Apply lab `number`'s solution to the working tree at `root`, or take it out (`undo`)."""
    patch = patch_path(number, root)
    name = patch.relative_to(root)
    if not patch.is_file():
        return Applied(False, f"there is no {name}")
    flags, opposite = (["--reverse"], []) if undo else ([], ["--reverse"])
    done = f"{name} is not applied" if undo else f"{name} is already applied"
    verb = "took out" if undo else "applied"
    if git(root, "apply", "--check", *opposite, str(patch)).returncode == 0:
        return Applied(True, done)
    plain = git(root, "apply", *flags, str(patch))
    if plain.returncode == 0:
        return Applied(True, f"{verb} {name}")
    if in_work_tree(root):
        before = contents(root, patched_paths(root, patch))
        merged = three_way(root, patch, *flags)
        if merged.returncode == 0 and contents(root, list(before)) == before:
            return Applied(True, done)
        if merged.returncode == 0:
            return Applied(True, f"{verb} {name} with a three-way merge")
        return Applied(
            False,
            f"{name} does not apply, even with a three-way merge: {merged.stderr.strip()}\n"
            "Conflicts, if any, are marked in the files; `git diff` shows them.",
        )
    return Applied(False, f"{name} does not apply: {plain.stderr.strip()}")
