"""A variant, not a mistake: the FastAPI service with `async def` prediction endpoints.

The service's `/predict` and `/predict/batch` are plain `def`: FastAPI runs them in its thread pool (anyio's),
so a slow prediction never stalls the event loop. The price is two thread hops per request (the endpoint,
then the response's validation, which FastAPI runs in the pool too for a `def` endpoint). Here the same views
are `async def`: they run on the event loop, no hop, and the loop is busy for the model's few hundred
microseconds. The bench measures what the `def` choice costs or saves on this CPU-bound work
(`make bench PROFILE=full`, or VARIANTS=fastapi-uvicorn,fastapi-async-def).
https://fastapi.tiangolo.com/async/#path-operation-functions

    python -m examples.fastapi_async_predict     # the FastAPI service with these two routes swapped, on :8002
"""

import uvicorn
from fastapi import APIRouter, FastAPI

from fastapi_service.app import create_app
from fastapi_service.contract import JSONBodyRoute
from fastapi_service.routes import ERRORS, PenguinModelDep
from fastapi_service.schemas import Batch, BatchPrediction, Penguin, Prediction, Probabilities, Species
from fastapi_service.server import DEFAULT_PORT, server_config
from shared.server import ServerOptions

APP = "examples.fastapi_async_predict:app"

router = APIRouter(route_class=JSONBodyRoute, tags=["penguins"])


@router.post("/predict", responses=ERRORS)
async def predict(penguin: Penguin, model: PenguinModelDep) -> Prediction:
    """Predict the species of one penguin."""
    result = model.predict_one(penguin.model_dump())
    return Prediction(
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    )


@router.post("/predict/batch", responses=ERRORS)
async def predict_batch(batch: Batch, model: PenguinModelDep) -> BatchPrediction:
    """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
    results = model.predict_many([penguin.model_dump() for penguin in batch.items])
    return BatchPrediction(
        model_version=model.version,
        predictions=[
            Species(species=r.species, probabilities=Probabilities(**r.probabilities)) for r in results
        ],
    )


def with_async_routes(app: FastAPI) -> FastAPI:
    """The service's app with the routes above put first: Starlette tries routes in order, the first match
    answers, so they shadow the real ones; every other route is unchanged."""
    app.include_router(router)
    app.router.routes.insert(0, app.router.routes.pop())
    return app


app = with_async_routes(create_app())


def main() -> None:
    config = server_config(ServerOptions.from_env(DEFAULT_PORT))
    print(f"uvicorn {APP} {config}", flush=True)
    uvicorn.run(APP, **config)


if __name__ == "__main__":
    main()
