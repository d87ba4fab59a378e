"""Read the deployment files as Docker and make would, without either: docker-compose.yml with its variables
interpolated, the Dockerfiles' instructions, the Makefile's variables and recipes, the lock files' entries."""

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.settings import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILES = {
    "flask": REPO_ROOT / "flask_service" / "Dockerfile",
    "fastapi": REPO_ROOT / "fastapi_service" / "Dockerfile",
    "flask-openapi": REPO_ROOT / "flask_openapi_service" / "Dockerfile",
    "upstream": REPO_ROOT / "upstream" / "Dockerfile",
    "loadtests": REPO_ROOT / "loadtests" / "Dockerfile",
}

# Compose's interpolation: $$ (a literal $), ${NAME}, ${NAME:-default} (unset or empty), ${NAME-default}
# (unset). https://docs.docker.com/reference/compose-file/interpolation/ ; other forms are refused here.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-)(?P<default>[^}]*))?\}|\$")


class InterpolationError(ValueError):
    pass


def interpolate(text: str, environ: Mapping[str, str], seen: dict[str, set[str]] | None = None) -> str:
    """`text` with its variables replaced; `seen` collects each variable's defaults as written."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name")
        if name is None:
            raise InterpolationError(f"unsupported interpolation in {text!r}")
        default = match.group("default")
        if seen is not None:
            seen.setdefault(name, set()).add(default if default is not None else "")
        value = environ.get(name)
        if match.group("op") == ":-" and not value:
            return str(default)
        if match.group("op") == "-" and value is None:
            return str(default)
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolated(node: Any, environ: Mapping[str, str], seen: dict[str, set[str]] | None = None) -> Any:
    if isinstance(node, str):
        return interpolate(node, environ, seen)
    if isinstance(node, list):
        return [interpolated(item, environ, seen) for item in node]
    if isinstance(node, dict):
        return {key: interpolated(value, environ, seen) for key, value in node.items()}
    return node


def raw_compose() -> dict[str, Any]:
    """The file as YAML (merge keys applied), variables not yet interpolated."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def compose_defaults() -> tuple[dict[str, Any], dict[str, set[str]]]:
    """The compose model with every variable at its default, and the defaults each variable is given."""
    seen: dict[str, set[str]] = {}
    return interpolated(raw_compose(), {}, seen), seen


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int

    def exec_form(self) -> list[str]:
        """["a", "b"] of an exec-form CMD (after HEALTHCHECK's options, for HEALTHCHECK)."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + 3 :]
        parsed: list[str] = json.loads(text)
        return parsed


def dockerfile(path: Path) -> list[Instruction]:
    """Instructions with their continuation lines joined; comments and blank lines dropped."""
    instructions, pending, start = [], "", 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        pending += " " + stripped.removesuffix("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(arguments.split()), start))
            pending = ""
    return instructions


def makefile_variables(path: Path = REPO_ROOT / "Makefile") -> dict[str, str]:
    """NAME ?= value and NAME := value assignments, as written."""
    found = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Z_]+)\s*[?:]?=\s*(.*)$", line):
            found[match.group(1)] = match.group(2).strip()
    return found


def makefile_recipe(target: str, path: Path = REPO_ROOT / "Makefile") -> list[list[str]]:
    """The target's commands, continuation lines joined, split as the shell would (make's $(...) kept)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}:", line))
    commands, pending = [], ""
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        text = line.strip()
        if text.startswith("@#"):
            continue
        pending += " " + text.removesuffix("\\").strip()
        if not text.endswith("\\"):
            commands.append(shlex.split(pending.strip().lstrip("@")))
            pending = ""
    return commands


def as_run_in_a_container(command: list[str]) -> list[str]:
    """A Makefile command as an image runs it: without the lock the Makefile takes around it (one build at
    a time in a clone; an image builds once) and the venv's path (`$(BIN)/python` is `python` there)."""
    if command[:1] == ["$(LOCKED)"]:
        command = command[command.index("--") + 1 :]
    return [word.removeprefix("$(BIN)/") for word in command]


def lock_entries(path: Path) -> dict[tuple[str, str], frozenset[str]]:
    """(name, version) -> hashes, from a `uv pip compile --generate-hashes` lock file (a universal lock may
    pin two versions of one package, for different Python versions or platforms)."""
    entries = {}
    for block in re.split(r"\n(?=[a-z0-9])", path.read_text()):
        if match := re.match(r"([a-z0-9][a-z0-9._-]*)==([^\s;\\]+)", block):
            entries[(match.group(1), match.group(2))] = frozenset(
                re.findall(r"--hash=(sha256:[0-9a-f]{64})", block)
            )
    return entries


def requirement_name(requirement: str) -> str:
    """ "uvicorn[standard]>=0.34" -> "uvicorn", normalised as lock files write names."""
    name = re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()
