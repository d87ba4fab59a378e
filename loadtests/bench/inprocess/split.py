"""Where each framework's CPU per request goes, layer by layer, measured in-process (no socket, no server).

For each framework and scenario, on the load scenario's own payload, the CPU time (`microbench.time_call`:
process time, the median of repeats; the fastest of ROUNDS such figures) of:

- **app**: the whole app called in-process (loadtests/bench/inprocess/calls.py), as its server would call it;
- **validation**: what turns the parsed body into validated data, or for the invalid penguin into the
  contract's 422 body: marshmallow and the glue (flask_service/contract.py), pydantic and FastAPI's handler,
  pydantic and the third service's callback (flask_openapi_service/contract.py);
- **serialization**: what turns the model's result into the response's bytes: restx's `marshal` and JSON,
  FastAPI's response field (pydantic validates and dumps the returned model), the third service's
  `model_dump` and Flask's JSON;
- **model**: the shared model alone (loadtests/bench/inprocess/microbench.py), the same code for all.

What is left of the app (routing, parsing, the request and response objects, thread-pool hops) is the
framework's. The server's share is what the bench measures under load (the server's own CPU accounting)
less the app's in-process cost, added when the summary is built (results/waterfall.py). The frameworks are
measured in turn, the order flipped every round, and every timed call's answer is checked, so that a broken
path cannot look cheap.
"""

import argparse
import json
import os
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from loadtests.bench.inprocess.calls import asgi_calls, asgi_lifespan, wsgi_call
from loadtests.bench.inprocess.glue import glue_figures
from loadtests.bench.inprocess.microbench import run_microbench, time_call
from loadtests.bench.machine.host import TICKS_PER_S, read_cpu_times, summed
from loadtests.scenarios import BATCH, BATCH_SIZE, INVALID, MODEL_WORK, PREDICT
from shared.examples import INVALID_PENGUIN, INVALID_PENGUIN_ERRORS, KNOWN_PENGUINS, batch_of
from shared.model import load_named
from shared.settings import Settings

REPEATS = 5
TARGET_S = 0.05
# Each layer timed this many times per framework, the frameworks' order flipped every round, and the fastest
# round kept: this host's CPU changes speed by up to half for seconds at a time (seen: the model's 370 against
# 570 µs in one process), which only ever adds time. Over three runs of six rounds, the fastest round of
# Flask's batch app moved 5.3-5.9 ms where the median moved 5.6-7.9 ms (a median of two: FastAPI's 1.4-2.6).
ROUNDS = 6
SCENARIOS = ("predict", "batch", "invalid")
LAYERS = ("app", "validation", "serialization")
# What Locust's FastHttpUser sends with a JSON request (loadtests/bench/load/wrk.py sends the same).
HEADERS = [
    ("User-Agent", "python/gevent-http-client"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Content-Type", "application/json"),
    ("Accept", "application/json"),
]
PATHS = {"predict": "/predict", "batch": "/predict/batch", "invalid": "/predict"}
REQUEST_NAMES = {"predict": PREDICT, "batch": BATCH, "invalid": INVALID}  # Locust's: what model work each is

T = TypeVar("T")
Layers = dict[str, Callable[[], Any]]


def payload(scenario: str) -> Any:
    return {"predict": KNOWN_PENGUINS["Gentoo"], "batch": batch_of(BATCH_SIZE), "invalid": INVALID_PENGUIN}[
        scenario
    ]


def finished(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits (an exception handler that only builds a response)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coroutine.close()
    raise RuntimeError("the coroutine waited on something")


def right_answer(scenario: str, layer: str, answer: Any) -> bool:
    """What each layer must give for the scenario's payload."""
    if layer == "app":
        status, body = answer
        document = json.loads(body)
        if scenario == "invalid":
            return bool(status == 422 and len(document["detail"]) == len(INVALID_PENGUIN_ERRORS))
        return bool(status == 200 and ("predictions" in document or document.get("species") == "Gentoo"))
    if scenario == "invalid":  # validation: the 422 body's bytes
        return len(json.loads(answer)["detail"]) == len(INVALID_PENGUIN_ERRORS)
    return answer is not None


def checked(call: Callable[[], T], scenario: str, layer: str) -> Callable[[], T]:
    """`call`, once checked for its meaning and then for giving that same answer every time."""
    first = call()
    if not right_answer(scenario, layer, first):
        raise AssertionError(f"{scenario} {layer}: unexpected answer {first!r}"[:500])

    def again() -> T:
        answer = call()
        if answer != first:
            raise AssertionError(f"{scenario} {layer}: the answer changed while timing")
        return answer

    return again


def flask_layers(scenario: str, settings: Settings) -> Layers:
    from flask_restx import marshal
    from marshmallow import ValidationError

    from flask_service.app import create_app
    from flask_service.contract import RequestValidationError, flatten, validation_error
    from flask_service.routes import batch_schema, penguin_schema
    from flask_service.schemas import batch_prediction_model, prediction_model

    app = create_app(settings)
    model = app.extensions["penguin_model"]
    data = payload(scenario)
    schema = batch_schema if scenario == "batch" else penguin_schema

    def validation() -> Any:
        try:
            return schema.load(data)
        except ValidationError as exc:
            body, _ = validation_error(RequestValidationError(flatten(exc.messages, ["body"], data)))
            return (json.dumps(body) + "\n").encode()  # what restx's output_json writes

    layers: Layers = {"app": wsgi_call(app, "POST", PATHS[scenario], json.dumps(data).encode(), HEADERS)}
    layers["validation"] = validation
    if scenario == "predict":
        result = model.predict_one(data)
        document: Any = {
            "species": result.species,
            "probabilities": result.probabilities,
            "model_version": model.version,
        }
        layers["serialization"] = lambda: (json.dumps(marshal(document, prediction_model)) + "\n").encode()
    elif scenario == "batch":
        results = model.predict_many(data["items"])
        batch = {
            "model_version": model.version,
            "predictions": [{"species": r.species, "probabilities": r.probabilities} for r in results],
        }
        layers["serialization"] = lambda: (json.dumps(marshal(batch, batch_prediction_model)) + "\n").encode()
    return layers


def flask_openapi_layers(scenario: str, settings: Settings, stack: ExitStack) -> Layers:
    from pydantic import ValidationError

    from flask_openapi_service.app import create_app
    from flask_openapi_service.contract import validation_error
    from flask_openapi_service.schemas import (
        Batch,
        BatchPrediction,
        Penguin,
        Prediction,
        Probabilities,
        Species,
    )

    app = create_app(settings)
    model = app.extensions["penguin_model"]
    data = payload(scenario)
    schema = Batch if scenario == "batch" else Penguin
    # The callback reads the request (a path's error or a body's): one request context, pushed for the run.
    stack.enter_context(app.test_request_context(PATHS[scenario], method="POST"))

    def validation() -> Any:
        try:
            return schema.model_validate(data)  # what the extension does with the parsed body
        except ValidationError as exc:
            return validation_error(exc).get_data()

    def dumped(content: Callable[[], Any]) -> Callable[[], bytes]:
        """What the view and Flask do with its answer: the model dumped, then Flask's JSON, as its JSON
        provider's `response` writes it (compact, and a newline)."""
        return lambda: f"{app.json.dumps(content().model_dump(), separators=(',', ':'))}\n".encode()

    layers: Layers = {"app": wsgi_call(app, "POST", PATHS[scenario], json.dumps(data).encode(), HEADERS)}
    layers["validation"] = validation
    if scenario == "predict":
        result = model.predict_one(data)
        layers["serialization"] = dumped(
            lambda: Prediction(
                species=result.species,
                probabilities=Probabilities(**result.probabilities),
                model_version=model.version,
            )
        )
    elif scenario == "batch":
        results = model.predict_many(data["items"])
        layers["serialization"] = dumped(
            lambda: BatchPrediction(
                model_version=model.version,
                predictions=[
                    Species(species=r.species, probabilities=Probabilities(**r.probabilities))
                    for r in results
                ],
            )
        )
    return layers


def fastapi_layers(scenario: str, settings: Settings, stack: ExitStack, concurrency: int = 1) -> Layers:
    from fastapi.exceptions import RequestValidationError
    from fastapi.routing import APIRoute
    from pydantic import ValidationError

    from fastapi_service.app import create_app
    from fastapi_service.contract import validation_error
    from fastapi_service.routes import router
    from fastapi_service.schemas import Batch, BatchPrediction, Penguin, Prediction, Probabilities, Species

    app = create_app(settings)
    lifespan = stack.enter_context(asgi_lifespan(app, uvloop.new_event_loop))
    model = app.state.penguin_model
    data = payload(scenario)
    schema = Batch if scenario == "batch" else Penguin
    route = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == PATHS[scenario])
    field = route.response_field
    if field is None:
        raise RuntimeError(f"{route.path} has no response model")

    def validation() -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            errors = RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
            return bytes(finished(validation_error(None, errors)).body)  # type: ignore[arg-type]

    def dumped(content: Any) -> Callable[[], bytes]:
        """What FastAPI does with a route's return value (fastapi/routing.py: serialize_response)."""

        def serialization() -> bytes:
            value, errors = field.validate(content(), {}, loc=("response",))
            if errors:
                raise AssertionError(errors)
            serialized: bytes = field.serialize_json(value)
            return serialized

        return serialization

    body = json.dumps(data).encode()
    # uvicorn hands the app every request its connections bring, `concurrency` at once under the bench's
    # users: the thread-pool hops then overlap, as under load (one at a time, each hop wakes a thread).
    app_call = asgi_calls(
        app, "POST", PATHS[scenario], body, HEADERS, lifespan=lifespan, concurrency=concurrency
    )
    layers: Layers = {"app": app_call, "validation": validation}
    if scenario == "predict":
        result = model.predict_one(data)
        layers["serialization"] = dumped(
            lambda: Prediction(
                species=result.species,
                probabilities=Probabilities(**result.probabilities),
                model_version=model.version,
            )
        )
    elif scenario == "batch":
        results = model.predict_many(data["items"])
        layers["serialization"] = dumped(
            lambda: BatchPrediction(
                model_version=model.version,
                predictions=[
                    Species(species=r.species, probabilities=Probabilities(**r.probabilities))
                    for r in results
                ],
            )
        )
    return layers


def measure_split(
    scenarios: Sequence[str],
    model_us: Mapping[str, Mapping[str, float]],
    settings: Settings | None = None,
    concurrency: int = 1,
    repeats: int = REPEATS,
    target_s: float = TARGET_S,
    rounds: int = ROUNDS,
) -> list[dict[str, Any]]:
    """One entry per framework and scenario: each layer's CPU µs per request, in-process; `model_us` is the
    micro-benchmark's figures (microbench.run_microbench), by the work each scenario's request carries;
    `concurrency`: the requests FastAPI's app gets at once (the bench's users; a sync worker takes one)."""
    settings = settings or Settings.from_env()
    entries = []
    with ExitStack() as stack:
        for scenario in [s for s in scenarios if s in SCENARIOS]:
            layers = {
                "flask": flask_layers(scenario, settings),
                "fastapi": fastapi_layers(scenario, settings, stack, concurrency),
                "flask_openapi": flask_openapi_layers(scenario, settings, stack),
            }
            timings: dict[tuple[str, str], list[float]] = {}
            for layer in LAYERS:
                calls = {
                    fw: checked(own[layer], scenario, layer) for fw, own in layers.items() if layer in own
                }
                for index in range(rounds):
                    for framework in calls if index % 2 == 0 else reversed(list(calls)):
                        per_call = time_call(calls[framework], repeats, target_s)["cpu_us"]
                        batched = concurrency if (framework, layer) == ("fastapi", "app") else 1
                        timings.setdefault((framework, layer), []).append(per_call / batched)
            work = MODEL_WORK[REQUEST_NAMES[scenario]]
            for framework in layers:
                apps = timings[(framework, "app")]
                entries.append(
                    {
                        "framework": framework,
                        "scenario": scenario,
                        # The model's fastest repeat, as each layer's fastest round: a slow stretch only adds.
                        "model_us": model_us[work]["cpu_us_min"] if work else 0.0,
                        **{
                            f"{layer}_us": min(timings[(framework, layer)])
                            if (framework, layer) in timings
                            else None
                            for layer in LAYERS
                        },
                        "app_us_slowest": max(apps),
                        "rounds": len(apps),
                    }
                )
    return entries


def spread_pct(split: Sequence[Mapping[str, Any]]) -> float | None:
    """How much slower an app's slowest round was than its fastest, at most, in %: how far the machine's
    speed moved while the split ran (the fastest round, which is kept, survives a slow stretch)."""
    spreads = [
        100 * (e["app_us_slowest"] - e["app_us"]) / e["app_us"]
        for e in split
        if e.get("app_us") and e.get("app_us_slowest") is not None
    ]
    return max(spreads) if spreads else None


def models_alone(names: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Each named model alone, as the model is timed above: on these CPUs, in this run, so that the
    crossover's model costs are this machine's now, not those make model saw when it wrote the cards."""
    model_dir = Settings.from_env().model_dir
    return {name: run_microbench(load_named(model_dir, name)) for name in names}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m loadtests.bench.inprocess.split --out FILE`: the model, the split, the glue's price (JSON).

    The bench runs it pinned to the servers' CPUs from its start, as the servers are: a process that saw two
    CPUs when numpy loaded keeps two BLAS threads, and a thread-pool hop costs more across two CPUs than on
    one (measured: FastAPI's /predict 944 against 636 µs of CPU with 32 requests at once).
    """
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench.inprocess.split", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma list of predict,batch,invalid"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="requests at once to FastAPI's app")
    parser.add_argument(
        "--glue-pairs", type=int, default=0, help="the glue's price, in pairs (0: not measured)"
    )
    parser.add_argument(
        "--models",
        default="",
        help="comma list of model names (or paths of one's own) timed alone too (the crossover's x axis)",
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    before, own_before = summed(read_cpu_times(), cpus), time.process_time()
    model = run_microbench()
    wanted = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    figures: dict[str, Any] = {
        "model": model,
        "split": measure_split(wanted, model, concurrency=max(1, args.concurrency)) if wanted else [],
        "glue": glue_figures(pairs=args.glue_pairs) if args.glue_pairs else {},
        "models": models_alone([name for name in args.models.split(",") if name]),
        "cpus": cpus,
    }
    after, own = summed(read_cpu_times(), cpus), time.process_time() - own_before
    ticks = after.total - before.total
    # What else ran on these CPUs meanwhile (machine/host.py): it slows the thread pool's hops.
    figures["others_pct"] = (
        max(0.0, 100 * ((after.busy - before.busy) / TICKS_PER_S - own) * TICKS_PER_S / ticks)
        if ticks
        else None
    )
    figures["steal_pct"] = 100 * (after.steal - before.steal) / ticks if ticks else None
    figures["spread_pct"] = spread_pct(figures["split"])
    args.out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
