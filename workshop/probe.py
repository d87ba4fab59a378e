"""What a lab check uses: the apps side by side, their specs, and answers compared with a reason."""

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from shared.settings import Settings
from tests.clients import REFERENCE, ApiClient, Reply, make_client
from tests.test_specs import SPEC_URL, operations

FILES = {"flask": "flask_service", "fastapi": "fastapi_service", "flask_openapi": "flask_openapi_service"}
# The labs of modules 01-05 change Flask and FastAPI; module 06's changes all three.
TWO = ("flask", "fastapi")


class NotYet(Exception):
    """The change is not right yet; the message says what was seen and what to do."""


class AppDoesNotStart(NotYet):
    pass


def first_difference(
    flask: Any,
    fastapi: Any,
    where: str = "body",
    names: tuple[str, str] = ("flask", "fastapi"),
    ordered: bool = True,
) -> str | None:
    """Where two JSON values differ, in words; None when they are the same (floats to 12 digits, as the
    parity suite allows; key order counts, as it does there, unless `ordered` is false, as for specs)."""
    a, b = names
    if isinstance(flask, list | dict) and isinstance(fastapi, list | dict) and type(flask) is type(fastapi):
        if isinstance(flask, dict) and isinstance(fastapi, dict):
            if (list(flask) if ordered else sorted(flask)) != (list(fastapi) if ordered else sorted(fastapi)):
                order = "the same keys in another order: " if set(flask) == set(fastapi) else ""
                return f"{where}: {order}{a} has keys {list(flask)}, {b} {list(fastapi)}"
            pairs = [(f"{where}.{key}", flask[key], fastapi[key]) for key in flask]
        else:
            if len(flask) != len(fastapi):
                return f"{where}: {len(flask)} items on {a}, {len(fastapi)} on {b}"
            pairs = [(f"{where}[{i}]", x, y) for i, (x, y) in enumerate(zip(flask, fastapi, strict=True))]
        for place, x, y in pairs:
            found = first_difference(x, y, place, names, ordered)
            if found:
                return found
        return None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (flask, fastapi))
    if numbers and math.isclose(flask, fastapi, rel_tol=1e-12):
        return None
    if not numbers and flask == fastapi and type(flask) is type(fastapi):
        return None
    return f"{where}: {a} {flask!r}, {b} {fastapi!r}"


def shown(reply: Reply) -> str:
    """A reply in one line, for a message."""
    text = reply.body.decode(errors="replace").strip()
    return f"{reply.status} {text[:300]}{'...' if len(text) > 300 else ''}"


class Both:
    """The apps a lab changes (Flask's and FastAPI's, or all three), each behind the suite's ApiClient."""

    def __init__(self, clients: Mapping[str, ApiClient]) -> None:
        self.clients = clients
        self._specs: dict[str, dict[str, Any]] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Reply]:
        return {
            framework: client.request(method, path, **kwargs) for framework, client in self.clients.items()
        }

    def spec(self, framework: str) -> dict[str, Any]:
        if framework not in self._specs:
            reply = self.clients[framework].request("GET", SPEC_URL[framework])
            if reply.status != 200:
                raise NotYet(f"{framework}: {SPEC_URL[framework]} answered {shown(reply)}")
            self._specs[framework] = reply.json()
        return self._specs[framework]

    def operations(self, framework: str) -> dict[str, dict[str, Any]]:
        """The spec's operations, normalised by tests/test_specs.py (Swagger 2.0 and OpenAPI 3.1 alike)."""
        return operations(self.spec(framework))


def app_error(framework: str, exc: BaseException) -> AppDoesNotStart:
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({exc.filename}, line {exc.lineno})"
    return AppDoesNotStart(
        f"the {framework} app does not start: {type(exc).__name__}: {exc}{where}. "
        f"Run `.venv/bin/python -c 'import {FILES[framework]}.app'` to see the whole traceback."
    )


@contextmanager
def both_apps(settings: Settings | None = None, frameworks: tuple[str, ...] = TWO) -> Iterator[Both]:
    with ExitStack() as stack:
        clients = {}
        for framework in frameworks:
            try:
                clients[framework] = stack.enter_context(make_client(framework, settings))
            except Exception as exc:
                raise app_error(framework, exc) from exc
        yield Both(clients)


def expect_status(replies: Mapping[str, Reply], status: int, what: str, hints: Mapping[str, str]) -> None:
    """Each side answered `status`, or a message naming each side that did not, with its hint."""
    wrong = []
    for framework, reply in replies.items():
        if reply.status != status:
            crash = (
                f" (a crash: `make run-{framework}` and send it again to see the traceback)"
                if reply.status == 500
                else ""
            )
            wrong.append(
                f"{framework}: {what} answered {shown(reply)}{crash}. {hints.get(framework, '')}".strip()
            )
    if wrong:
        raise NotYet("\n".join(wrong))


def expect_same(replies: Mapping[str, Reply], what: str) -> None:
    """Every app's answer is FastAPI's, status and body."""
    reference = replies[REFERENCE]
    for framework, reply in replies.items():
        if reply.status != reference.status:
            raise NotYet(f"{what}: {framework} answered {shown(reply)}; {REFERENCE} {shown(reference)}")
        difference = first_difference(reply.json(), reference.json(), names=(framework, REFERENCE))
        if difference:
            raise NotYet(f"{what}: the answers differ at {difference}")


SERVER_TIMING = re.compile(r"model;dur=(\d+(?:\.\d+)?)")
