"""The bench's in-process phase: inprocess/split.py run as a process of its own, pinned from its start to the
servers' CPUs as a server is, before any server starts; its figures read back from the JSON it writes."""

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.bench.inprocess.split import SCENARIOS
from loadtests.bench.plan.config import BenchConfig
from loadtests.bench.targets import processes

INPROCESS = "inprocess.json"  # the in-process figures: the model, the split, the glue's price
TIMEOUT_S = 300


@dataclass
class InProcessFigures:
    model: dict[str, dict[str, float]] = field(default_factory=dict)
    split: list[dict[str, Any]] = field(default_factory=list)
    glue: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # each model alone, by name
    machine: dict[str, Any] = field(default_factory=dict)  # what else ran on those CPUs meanwhile


def split_scenarios(config: BenchConfig) -> list[str]:
    """The split for the measured scenarios it knows: the invalid penguin's (validation alone) where invalid
    is measured (PROFILE=full); the default profile's budget goes to the verdict's curves."""
    wanted = {s.name for s in config.scenarios}
    return [name for name in SCENARIOS if name in wanted]


def measure_in_process(
    config: BenchConfig, scenarios: Sequence[str], cpus: Sequence[int], results_dir: Path
) -> InProcessFigures:
    """The model, and with `scenarios` each framework's app layer by layer, and the glue's price if the
    profile asks for it; raises SystemExit quoting the child's log if it fails."""
    out = results_dir / INPROCESS
    command = [
        *processes.python_module("loadtests.bench.inprocess.split"),
        *("--scenarios", ",".join(scenarios), "--concurrency", str(config.users)),
        *("--glue-pairs", str(config.profile.glue_pairs), "--out", str(out)),
        *("--models", ",".join(config.profile.models)),
    ]
    process = processes.start(processes.pinned(command, cpus), {}, out.with_suffix(".log"))
    try:
        code = process.wait(TIMEOUT_S)
    except subprocess.TimeoutExpired:
        code = -1
    finally:
        processes.stop(process)
    if code != 0 or not out.exists():
        raise SystemExit(
            f"the in-process measurements failed:\n{processes.log_tail(out.with_suffix('.log'))}"
        )
    figures = json.loads(out.read_text())
    return InProcessFigures(
        model=figures["model"],
        split=figures["split"],
        glue=figures["glue"],
        models=figures.get("models", {}),
        machine={key: figures.get(key) for key in ("others_pct", "steal_pct", "spread_pct")},
    )
