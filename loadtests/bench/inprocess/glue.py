"""The contract's price: each service's in-process CPU per request over that of a minimal app of its own stack
(inprocess/reference_apps.py), on `/health` and `/predict`. `python -m loadtests.bench.inprocess.glue`.

Both apps of a pair are called in-process (loadtests/bench/inprocess/calls.py) and timed with
`microbench.time_call` (CPU time, the median of its repeats). The host is noisy, so the two are measured in
pairs, alternately, the order flipped every other pair, and the figure is the median of the pair ratios with
their range. Every timed call checks its answer's status and bytes against the first one, which was checked
for its meaning: an app that breaks cannot look fast.
"""

import argparse
import json
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import uvloop

from loadtests.bench.inprocess.calls import Call, asgi_call, asgi_lifespan, wsgi_call
from loadtests.bench.inprocess.microbench import time_call
from loadtests.bench.inprocess.reference_apps import (
    create_fastapi_reference,
    create_flask_openapi_reference,
    create_flask_reference,
)
from shared.examples import KNOWN_PENGUINS
from shared.settings import Settings

PAIRS = 7
REPEATS = 5
TARGET_S = 0.05
FRAMEWORKS = ("flask", "fastapi", "flask_openapi")
# name: method, path, body; the payloads of the load scenarios of the same name.
ENDPOINTS: dict[str, tuple[str, str, bytes | None]] = {
    "health": ("GET", "/health", None),
    "predict": ("POST", "/predict", json.dumps(KNOWN_PENGUINS["Gentoo"]).encode()),
}
# What an HTTP client sends with every request (these are Locust's FastHttpUser's), and a body's type.
CLIENT_HEADERS = [("User-Agent", "locust/2.47.0"), ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*")]
JSON = [("Content-Type", "application/json")]


def headers_for(body: bytes | None) -> list[tuple[str, str]]:
    return [*CLIENT_HEADERS, *(JSON if body else [])]


def expect(endpoint: str, status: int, body: bytes) -> None:
    """What a right answer means, checked once per app and endpoint."""
    document = json.loads(body)
    if endpoint == "health":
        assert (status, document) == (200, {"status": "ok"}), (status, body)
    else:
        assert status == 200 and document["species"] == "Gentoo", (status, body)
        assert {"species", "probabilities", "model_version"} <= set(document), body


def verified(endpoint: str, call: Call) -> Callable[[], None]:
    """`call`, raising when an answer is not the one checked first."""
    status, body = call()
    expect(endpoint, status, body)

    def checked() -> None:
        answer = call()
        if answer != (status, body):
            raise AssertionError(f"{endpoint}: the answer changed while timing: {answer!r}")

    return checked


@contextmanager
def calls(framework: str, settings: Settings) -> Iterator[dict[str, tuple[Callable[[], None], ...]]]:
    """{endpoint: (service call, reference call)}, every app started as its server would start it."""
    with ExitStack() as stack:
        apps: list[Any]
        if framework in ("flask", "flask_openapi"):
            if framework == "flask":
                from flask_service.app import create_app as create_flask_app

                apps = [create_flask_app(settings), create_flask_reference(settings)]
            else:
                from flask_openapi_service.app import create_app as create_flask_openapi_app

                apps = [create_flask_openapi_app(settings), create_flask_openapi_reference(settings)]

            def make(app: Any, method: str, path: str, body: bytes | None) -> Call:
                return wsgi_call(app, method, path, body, headers_for(body))
        else:
            from fastapi_service.app import create_app as create_fastapi_app

            apps = [create_fastapi_app(settings), create_fastapi_reference(settings)]
            lifespans = {
                id(app): stack.enter_context(asgi_lifespan(app, uvloop.new_event_loop)) for app in apps
            }

            def make(app: Any, method: str, path: str, body: bytes | None) -> Call:
                return asgi_call(app, method, path, body, headers_for(body), lifespan=lifespans[id(app)])

        yield {
            endpoint: tuple(verified(endpoint, make(app, *request)) for app in apps)
            for endpoint, request in ENDPOINTS.items()
        }


def paired_ratio(
    service: Callable[[], None], reference: Callable[[], None], pairs: int, repeats: int, target_s: float
) -> dict[str, float]:
    """Service over reference CPU per request: the median of `pairs` ratios measured close together."""
    ratios, service_us, reference_us = [], [], []
    for pair in range(pairs):
        order = (service, reference) if pair % 2 == 0 else (reference, service)
        timed = {id(call): time_call(call, repeats, target_s)["cpu_us"] for call in order}
        service_us.append(timed[id(service)])
        reference_us.append(timed[id(reference)])
        ratios.append(service_us[-1] / reference_us[-1])
    return {
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "service_cpu_us": statistics.median(service_us),
        "reference_cpu_us": statistics.median(reference_us),
        "pairs": pairs,
    }


def glue_figures(
    pairs: int = PAIRS,
    repeats: int = REPEATS,
    target_s: float = TARGET_S,
    frameworks: Sequence[str] = FRAMEWORKS,
    settings: Settings | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """{framework: {endpoint: paired_ratio(...)}}, for the bench's split."""
    settings = settings or Settings.from_env()
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for framework in frameworks:
        with calls(framework, settings) as by_endpoint:
            figures[framework] = {
                endpoint: paired_ratio(service, reference, pairs, repeats, target_s)
                for endpoint, (service, reference) in by_endpoint.items()
            }
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=PAIRS, help="alternated measurements per figure")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="time_call's repeats per measurement")
    parser.add_argument("--target-s", type=float, default=TARGET_S, help="seconds per repeat")
    args = parser.parse_args(argv)
    print(
        f"In-process CPU per request, service over its stack's reference app: {args.pairs} pairs of "
        f"{args.repeats} repeats of ~{args.target_s:g} s each, median of the pair ratios.",
        flush=True,
    )
    # The bench's report renders it the same way (loadtests/bench/render/split_report.py).
    from loadtests.bench.render.split_report import glue_table

    print("\n".join(glue_table({"glue": glue_figures(args.pairs, args.repeats, args.target_s)})[2:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
