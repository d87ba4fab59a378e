"""`make lab N=<n>`: run a lab's check against the code as it is now, and say what is not right yet.

The check runs in this process against the packages on PYTHONPATH, so tests/test_workshop.py runs it in a
subprocess inside a copy of the repository with a solution applied.
"""

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from shared.settings import Settings
from tests.clients import FRAMEWORKS
from workshop import lab_checks, measure
from workshop.probe import TWO, Both, NotYet, both_apps
from workshop.solutions import patch_path


@dataclass(frozen=True)
class Lab:
    number: int
    title: str
    module: str
    steps: Callable[[Both], list[lab_checks.Step]]
    needs_upstream: bool = False
    # What to show once the check passes: a measurement of the change (it never decides pass or fail).
    after: Callable[[Both, TextIO], None] | None = None
    frameworks: tuple[str, ...] = TWO  # the services it changes and checks


LABS: dict[int, Lab] = {
    lab.number: lab
    for lab in (
        Lab(1, "GET /species on both services", "01-structure-and-routing.md", lab_checks.lab1_steps),
        Lab(2, "An optional `year` field on the Penguin", "02-validation.md", lab_checks.lab2_steps),
        Lab(
            3,
            "Group the docs: an `ops` tag for /health and /model",
            "03-interactive-docs.md",
            lab_checks.lab3_steps,
        ),
        Lab(
            4,
            "GET /penguins/{penguin_id}/observation, async on FastAPI, and measured",
            "04-async-and-io.md",
            lab_checks.lab4_steps,
            needs_upstream=True,
            after=measure.observation_concurrency,
        ),
        Lab(
            5,
            "A Server-Timing header: the model's share of each prediction",
            "05-performance.md",
            lab_checks.lab5_steps,
            after=measure.model_share,
        ),
        Lab(
            6,
            "A `confidence` in every prediction, on all three services",
            "06-flask-openapi3.md",
            lab_checks.lab6_steps,
            frameworks=tuple(FRAMEWORKS),
        ),
    )
}


@contextmanager
def lab_apps(lab: Lab) -> Iterator[Both]:
    """The lab's apps, with a real upstream service (no delay) on a free port when the lab needs one."""
    with ExitStack() as stack:
        settings = None
        if lab.needs_upstream:
            from tests.servers import live_server  # starts a subprocess: only for the labs that need it

            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="workshop-lab-")))
            upstream = stack.enter_context(live_server("upstream", logs, env={"UPSTREAM_LATENCY_MS": "0"}))
            settings = Settings(upstream_url=upstream.url)
        yield stack.enter_context(both_apps(settings, lab.frameworks))


def indented(text: str, prefix: str = "       ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def run_lab(lab: Lab, out: TextIO = sys.stdout, measure_after: bool = True) -> bool:
    print(f"Lab {lab.number}: {lab.title} (docs/workshop/{lab.module})", file=out)
    stuck = (
        f"Not done yet: fix the first FAIL above, then run `make lab N={lab.number}` again. Stuck? The "
        f"solution is {patch_path(lab.number).relative_to(patch_path(lab.number).parents[3])} "
        f"(`make lab-solution N={lab.number}` applies it)."
    )
    try:
        with lab_apps(lab) as both:
            steps = lab.steps(both)
            for done, (description, step) in enumerate(steps):
                try:
                    step()
                except NotYet as problem:
                    print(f"  FAIL {description}\n{indented(str(problem))}", file=out)
                    print(f"{done} of {len(steps)} checks pass. {stuck}", file=out)
                    return False
                print(f"  PASS {description}", file=out)
            services = "both services" if len(lab.frameworks) == 2 else f"all {len(lab.frameworks)} services"
            print(f"Lab {lab.number} done: all {len(steps)} checks pass on {services}.", file=out)
            if lab.after and measure_after:
                lab.after(both, out)
            return True
    except NotYet as problem:  # an app that does not start
        print(f"  FAIL the apps start\n{indented(str(problem))}\n{stuck}", file=out)
        return False


def lab_list() -> str:
    lines = ["Labs (make lab N=<number>; each lives in a module of docs/workshop/):"]
    lines.extend(f"  {lab.number}  {lab.title}  ({lab.module})" for lab in LABS.values())
    lines.append("make lab N=all runs every check; make lab-solution N=<number> applies a solution.")
    return "\n".join(lines)
