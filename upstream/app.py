"""The upstream "field observation" service: GET /observations/{id} after a configurable delay.

Asynchronous (Starlette, the toolkit under FastAPI): a delay is an `asyncio.sleep`, so one process holds
thousands of waiting requests and is never what limits a benchmark. Faults for tests are settings.
"""

import asyncio
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.observations import observations
from shared.settings import SettingsError


def _fraction(name: str, environ: Mapping[str, str]) -> float:
    raw = environ.get(name, "0")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name} must be a fraction between 0 and 1, got {raw!r}")
    return value


def _milliseconds(name: str, default: float, environ: Mapping[str, str]) -> float:
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < float("inf"):
        raise SettingsError(f"{name} must be a number of milliseconds >= 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class UpstreamSettings:
    latency_ms: float = 50.0
    error_rate: float = 0.0  # this fraction of answers are 500s
    slow_rate: float = 0.0  # this fraction of answers take slow_ms instead of latency_ms
    slow_ms: float = 5000.0
    seed: int = 0  # faults are drawn from a seeded generator: the same run, the same faults

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "UpstreamSettings":
        return cls(
            latency_ms=_milliseconds("UPSTREAM_LATENCY_MS", cls.latency_ms, environ),
            error_rate=_fraction("UPSTREAM_ERROR_RATE", environ),
            slow_rate=_fraction("UPSTREAM_SLOW_RATE", environ),
            slow_ms=_milliseconds("UPSTREAM_SLOW_MS", cls.slow_ms, environ),
            seed=int(environ.get("UPSTREAM_SEED", "0")),
        )


def create_app(settings: UpstreamSettings | None = None) -> Starlette:
    settings = settings or UpstreamSettings.from_env()
    rows = observations()
    draw = random.Random(settings.seed).random

    async def observation(request: Request) -> JSONResponse:
        slow = draw() < settings.slow_rate
        await asyncio.sleep((settings.slow_ms if slow else settings.latency_ms) / 1000)
        if draw() < settings.error_rate:
            return JSONResponse({"detail": "Injected fault"}, status_code=500)
        row = rows.get(request.path_params["penguin_id"])
        if row is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse(row)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "observations": len(rows)})

    return Starlette(
        routes=[
            Route("/observations/{penguin_id:int}", observation),
            Route("/health", health),
        ]
    )


app = create_app()
