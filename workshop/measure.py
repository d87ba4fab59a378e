"""What a lab shows once its check passes: a small measurement of the change. Never a pass or fail: the
numbers depend on the machine, and the check has already judged the behaviour."""

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TextIO

import httpx2

from shared.examples import EXAMPLE_PENGUIN
from tests.servers import live_server
from workshop.probe import SERVER_TIMING, Both

CONCURRENT = 20
UPSTREAM_LATENCY_MS = 100
PENGUIN_IDS = (1, 9, 153, 277)


async def burst(url: str, count: int) -> tuple[float, list[int]]:
    """`count` requests sent at once; the seconds until the last answer, and the statuses."""
    limits = httpx2.Limits(max_connections=count)
    async with httpx2.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        paths = [f"/penguins/{PENGUIN_IDS[i % len(PENGUIN_IDS)]}/observation" for i in range(count)]
        started = time.perf_counter()
        replies = await asyncio.gather(*(client.get(path) for path in paths))
        return time.perf_counter() - started, [reply.status_code for reply in replies]


def reading(ratio: float) -> str:
    if ratio >= CONCURRENT / 2:
        return "one at a time: each request waited for the one before"
    if ratio <= 3:
        return "the waits overlapped"
    return "partly overlapped"


def observation_concurrency(both: Both, out: TextIO) -> None:
    worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
    labels = {
        "flask": f"flask   (gunicorn {worker_class}, 1 worker)",
        "fastapi": "fastapi (uvicorn, 1 worker)",
    }
    print(
        f"\nMeasuring (about 10 s): {CONCURRENT} requests at once to GET /penguins/<id>/observation, each "
        f"service under its real server, the upstream answering after {UPSTREAM_LATENCY_MS} ms.",
        file=out,
        flush=True,
    )
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="workshop-measure-") as folder:
            logs = Path(folder)
            env = {"UPSTREAM_LATENCY_MS": str(UPSTREAM_LATENCY_MS)}
            with live_server("upstream", logs, env=env) as upstream:
                for framework in both.clients:
                    server_env = {"UPSTREAM_URL": upstream.url, "WORKERS": "1"}
                    with live_server(framework, logs, env=server_env) as server:
                        results[framework] = asyncio.run(burst(server.url, CONCURRENT))
    except (RuntimeError, OSError, httpx2.HTTPError) as exc:
        print(f"Could not measure: {exc}", file=out)
        return
    for framework, (seconds, statuses) in results.items():
        ratio = seconds * 1000 / UPSTREAM_LATENCY_MS
        failed = sum(status != 200 for status in statuses)
        problem = f", {failed} not 200" if failed else ""
        took = f"{seconds:.2f} s = {ratio:.1f} x the upstream's delay{problem}"
        print(f"  {labels[framework]}: {took}: {reading(ratio)}", file=out)
    fastapi_ratio = results["fastapi"][0] * 1000 / UPSTREAM_LATENCY_MS
    if fastapi_ratio >= CONCURRENT / 2:
        print(
            "  FastAPI did not overlap the waits: does the async view call something blocking (a sync "
            "client, time.sleep)? That is the first classic mistake of module 04.",
            file=out,
        )
    print(
        "Now try Flask with the workers its users deploy for I/O:\n"
        "  GUNICORN_WORKER_CLASS=gthread GUNICORN_THREADS=20 make lab N=4\n"
        "  GUNICORN_WORKER_CLASS=gevent make lab N=4",
        file=out,
    )


def model_share(both: Both, out: TextIO) -> None:
    durations: dict[str, list[float]] = {framework: [] for framework in both.clients}
    for _ in range(50):
        for framework, reply in both.request("POST", "/predict", json=EXAMPLE_PENGUIN).items():
            match = SERVER_TIMING.fullmatch(reply.headers.get("server-timing", "").strip())
            if match:
                durations[framework].append(float(match.group(1)))
    medians = {fw: f"{statistics.median(values):.3f} ms" for fw, values in durations.items() if values}
    print(
        f"\nOver 50 predictions each, the model took a median {medians.get('flask')} on Flask and "
        f"{medians.get('fastapi')} on FastAPI: the same shared code. Everything else in a request's time is "
        "the framework and the server; 05-performance.md shows how to see it.",
        file=out,
    )
