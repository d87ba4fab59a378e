"""Classic mistake 1: an `async def` FastAPI endpoint that calls blocking code.

The service's real route awaits a pooled `httpx2.AsyncClient`. Here the one line that fetches the
observation uses the synchronous `httpx2.Client` instead, inside `async def`. FastAPI runs `async def`
endpoints on the event loop itself, so the loop stops for the whole upstream wait: one worker serves one
request at a time, and throughput falls to about workers / upstream latency, with /health stalled behind it.
The fix is the real route (await an async client), or a plain `def` endpoint, which FastAPI runs in its
thread pool.
https://fastapi.tiangolo.com/async/#in-a-hurry

    python -m examples.fastapi_blocking_call     # the FastAPI service with this one route swapped, on :8002
"""

from typing import Annotated

import httpx2
import uvicorn
from fastapi import FastAPI, Path
from starlette.concurrency import run_in_threadpool

from fastapi_service.app import create_app
from fastapi_service.routes import UPSTREAM_ERRORS, PenguinModelDep, observed_penguin
from fastapi_service.schemas import PenguinPrediction, Probabilities
from fastapi_service.server import DEFAULT_PORT, server_config
from shared.docs import PENGUIN_ID
from shared.server import ServerOptions
from shared.settings import Settings
from shared.upstream import client_options, error_for_transport, observation_path

APP = "examples.fastapi_blocking_call:app"
ROUTE = "/penguins/{penguin_id}/prediction"

settings = Settings.from_env()
blocking_upstream = httpx2.Client(**client_options(settings.upstream_url, settings.upstream_timeout_s))


async def penguin_prediction(
    penguin_id: Annotated[int, Path(gt=0, description=PENGUIN_ID)], model: PenguinModelDep
) -> PenguinPrediction:
    """Fetch a penguin's observation from the upstream service and predict its species."""
    try:
        # THE MISTAKE: a blocking call inside `async def` holds the event loop for the whole wait.
        response = blocking_upstream.get(observation_path(penguin_id))
    except httpx2.HTTPError as exc:
        raise error_for_transport(exc) from None
    result = await run_in_threadpool(model.predict_one, observed_penguin(penguin_id, response))
    return PenguinPrediction(
        penguin_id=penguin_id,
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    )


def with_blocking_route(app: FastAPI) -> FastAPI:
    """The service's app with the route above put first: Starlette tries routes in order, the first match
    answers, so it shadows the real one; every other route is unchanged."""
    app.add_api_route(ROUTE, penguin_prediction, responses=UPSTREAM_ERRORS)
    app.router.routes.insert(0, app.router.routes.pop())
    return app


app = with_blocking_route(create_app(settings))


def main() -> None:
    config = server_config(ServerOptions.from_env(DEFAULT_PORT))
    print(f"uvicorn {APP} {config}", flush=True)
    uvicorn.run(APP, **config)


if __name__ == "__main__":
    main()
