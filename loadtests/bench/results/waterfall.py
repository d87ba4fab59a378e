"""Where a request's CPU goes: the in-process split (inprocess/split.py) completed with the load's own
figure, the server's share being what the load measured less the app, as a waterfall of steps.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.slices import LOCUST
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import disturbances, failed, median

VIA = "flask_openapi"  # Flask at its best today: the third service, between the other two
SPLIT_LAYERS = ("model_us", "validation_us", "serialization_us", "framework_us", "server_us")
STEP_NAMES = {
    "server_us": "server and connection model",
    "framework_us": "framework: routing, parsing, request and response objects, thread pool",
    "validation_us": "validation",
    "serialization_us": "serialization",
    "model_us": "model",
}


def served_cpu_us(measurements: Sequence[Measurement], scenario: str, key: str) -> float | None:
    """The server's CPU per request under load: the median over the variant's clean Locust capacity slices."""
    return median(
        m.server_cpu_us_per_request
        for m in measurements
        if m.scenario == scenario
        and m.key == key
        and m.phase == "capacity"
        and m.generator == LOCUST
        and not failed(m)
        and not disturbances(m)
    )


def completed_split(
    split: Sequence[Mapping[str, Any]], measurements: Sequence[Measurement], keys: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The in-process split with what the load measured: the server's CPU per request (of the variant in
    `keys`, per framework) and the server's share, the measured CPU less the app's in-process cost; the
    framework's share is the app less the model, validation and serialization."""
    entries = []
    for entry in split:
        served = served_cpu_us(measurements, entry["scenario"], keys.get(entry["framework"], ""))
        parts = [entry.get(name) or 0.0 for name in ("model_us", "validation_us", "serialization_us")]
        app = entry.get("app_us")
        entries.append(
            {
                **entry,
                "variant": keys.get(entry["framework"], "").partition("-")[2] or None,
                "framework_us": app - sum(parts) if app is not None else None,
                "server_cpu_us": served,
                "server_us": served - app if served is not None and app is not None else None,
            }
        )
    return entries


def steps_between(start: Mapping[str, Any], end: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A step per layer from one framework's CPU per request to another's (the end's less the start's),
    biggest first."""
    steps = [
        {"layer": layer, "name": STEP_NAMES[layer], "delta_us": (end[layer] or 0.0) - (start[layer] or 0.0)}
        for layer in SPLIT_LAYERS
    ]
    return sorted(steps, key=lambda step: -abs(step["delta_us"]))


def waterfall(split: Sequence[Mapping[str, Any]], scenario: str) -> dict[str, Any] | None:
    """From Flask's CPU per request under load to FastAPI's, a step per layer (FastAPI's less Flask's); with
    Flask at its best today measured too, the same two legs through it (`via`): the stack (Flask to it, the
    same server) and the framework (it to FastAPI, the same validation library)."""
    found = {e["framework"]: e for e in split if e["scenario"] == scenario and e.get("server_us") is not None}
    flask, fastapi, middle = found.get("flask"), found.get("fastapi"), found.get(VIA)
    if flask is None or fastapi is None:
        return None
    via = (
        {
            "framework": VIA,
            "variant": middle["variant"],
            "cpu_us": middle["server_cpu_us"],
            "stack_steps": steps_between(flask, middle),
            "framework_steps": steps_between(middle, fastapi),
        }
        if middle is not None
        else None
    )
    return {
        "scenario": scenario,
        "flask_us": flask["server_cpu_us"],
        "fastapi_us": fastapi["server_cpu_us"],
        "flask_variant": flask["variant"],
        "fastapi_variant": fastapi["variant"],
        "steps": steps_between(flask, fastapi),
        "app_delta_us": fastapi["app_us"] - flask["app_us"],
        "via": via,
    }
