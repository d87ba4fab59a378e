"""The bench's layers (loadtests/bench/, one folder each): a module imports only its own layer and those below
it, so that the report never reaches into the load, nor the plan into a server. Read from the source, not
by importing it: an import inside a function counts as much as one at the top."""

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "loadtests" / "bench"
# Top to bottom (loadtests/bench/__init__.py says why). runner.py, cli.py and tail.py, above every folder, may
# import any of them.
LAYERS = ("load", "inprocess", "targets", "machine", "render", "results", "plan")
TOP = {"__init__", "__main__", "cli", "runner", "tail"}


def layer_of(module: str) -> str | None:
    """The bench layer a dotted module name belongs to; None: not the bench's (the services, shared/, ...)."""
    parts = module.split(".")
    if parts[:2] != ["loadtests", "bench"]:
        return None
    return parts[2] if len(parts) > 2 else "__init__"


def imported(path: Path, root: Path = BENCH) -> list[tuple[int, str]]:
    """Each module a file imports, and where: `from a.b import c` names a.b and a.b.c (c may be a module)."""
    package = ".".join(path.relative_to(root.parent.parent).with_suffix("").parts[:-1])
    names: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per dot beyond the first
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], base]).strip(".")
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return names


def upward_imports(root: Path = BENCH) -> list[str]:
    """'file:line imports module (layer above)' for each import that breaks the rule."""
    rank = {name: index for index, name in enumerate(LAYERS)}
    wrong: dict[str, str] = {}  # one per import statement: `from a.b import c` names a.b and a.b.c
    for path in sorted(root.rglob("*.py")):
        own = path.relative_to(root).parts[0].removesuffix(".py")
        if own in TOP:
            continue
        for line, module in imported(path, root):
            target = layer_of(module)
            if target is None or target == own or (target in rank and rank[target] > rank[own]):
                continue
            where = f"{path.relative_to(root)}:{line}"
            wrong.setdefault(where, f"{where} imports {module} ({target}, above {own})")
    return list(wrong.values())


def test_every_bench_module_is_in_a_layer() -> None:
    """A new folder or top-level module is placed among the layers on purpose, not by default."""
    places = {path.relative_to(BENCH).parts[0].removesuffix(".py") for path in BENCH.rglob("*.py")}
    assert places - TOP - set(LAYERS) == set()


def test_each_layer_imports_only_those_below_it() -> None:
    assert upward_imports() == []


@pytest.mark.parametrize(
    ("layer", "statement"),
    [
        ("render", "from loadtests.bench.load.locust import run_load"),
        ("plan", "from loadtests.bench.targets import processes"),
        ("results", "import loadtests.bench.runner"),
        ("render", "from ..targets import servers"),
    ],
)
def test_an_upward_import_is_caught(tmp_path: Path, layer: str, statement: str) -> None:
    """The rule fails on a copy of the bench with one upward import planted, top-level or in a function."""
    root = tmp_path / "loadtests" / "bench"
    (root / layer).mkdir(parents=True)
    (root / layer / "planted.py").write_text(f"def later() -> None:\n    {statement}\n")
    assert len(upward_imports(root)) >= 1
