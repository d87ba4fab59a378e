"""The API's operations. Prediction is CPU-bound, so those views are plain `def`: FastAPI runs them in its
thread pool and the event loop stays free; the trivial ones are `async def` and skip that hop."""

from typing import Annotated, Any

import httpx2
from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from fastapi_service.contract import JSONBodyRoute
from fastapi_service.schemas import (
    Batch,
    BatchPrediction,
    ErrorBody,
    Health,
    ModelCard,
    Penguin,
    PenguinPrediction,
    Prediction,
    Probabilities,
    Species,
    ValidationErrorBody,
)
from shared.docs import PENGUIN_ID
from shared.model import PenguinModel
from shared.upstream import bad_observation, error_for_transport, observation_from_response, observation_path

ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body larger than MAX_BODY_BYTES", "model": ErrorBody},
    415: {"description": "Body is not application/json", "model": ErrorBody},
    422: {"description": "Validation error", "model": ValidationErrorBody},
}
UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No observation of this penguin", "model": ErrorBody},
    422: {"description": "Validation error", "model": ValidationErrorBody},
    502: {"description": "Observation service answered with an invalid observation", "model": ErrorBody},
    503: {"description": "Observation service unavailable", "model": ErrorBody},
    504: {"description": "Observation service too slow", "model": ErrorBody},
}

router = APIRouter(route_class=JSONBodyRoute, tags=["penguins"])


async def penguin_model_of_app(request: Request) -> PenguinModel:
    """The model the app loaded at startup."""
    model: PenguinModel = request.app.state.penguin_model
    return model


async def upstream_of_app(request: Request) -> httpx2.AsyncClient:
    """The app's pooled client for the upstream observation service."""
    upstream: httpx2.AsyncClient = request.app.state.upstream
    return upstream


def observed_penguin(penguin_id: int, response: httpx2.Response) -> dict[str, Any]:
    """The upstream's observation, checked by the rules of a request's Penguin (Penguin), or a 502."""
    try:
        penguin = Penguin.model_validate(observation_from_response(penguin_id, response))
    except ValidationError:
        raise bad_observation() from None
    return penguin.model_dump()


# `async def` dependencies: a plain `def` one would cost each request a hop to the thread pool.
PenguinModelDep = Annotated[PenguinModel, Depends(penguin_model_of_app)]
UpstreamDep = Annotated[httpx2.AsyncClient, Depends(upstream_of_app)]


@router.get("/health")
async def health() -> Health:
    """Liveness: the service is up and its model is loaded."""
    return Health(status="ok")


@router.get("/model")
async def model_card(model: PenguinModelDep) -> ModelCard:
    """The served model: name, version, classes, input features, held-out metrics and CPU per call."""
    return ModelCard.model_validate(model.card)


@router.post("/predict", responses=ERRORS)
def predict(penguin: Penguin, model: PenguinModelDep) -> Prediction:
    """Predict the species of one penguin."""
    result = model.predict_one(penguin.model_dump())
    return Prediction(
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    )


@router.post("/predict/batch", responses=ERRORS)
def predict_batch(batch: Batch, model: PenguinModelDep) -> BatchPrediction:
    """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
    results = model.predict_many([penguin.model_dump() for penguin in batch.items])
    return BatchPrediction(
        model_version=model.version,
        predictions=[
            Species(species=r.species, probabilities=Probabilities(**r.probabilities)) for r in results
        ],
    )


@router.get("/penguins/{penguin_id}/prediction", responses=UPSTREAM_ERRORS)
async def penguin_prediction(
    penguin_id: Annotated[int, Path(gt=0, description=PENGUIN_ID)],
    upstream: UpstreamDep,
    model: PenguinModelDep,
) -> PenguinPrediction:
    """Fetch a penguin's observation from the upstream service and predict its species."""
    try:
        response = await upstream.get(observation_path(penguin_id))
    except httpx2.HTTPError as exc:
        raise error_for_transport(exc) from None
    # The wait above frees the event loop; the model's CPU work goes to the thread pool, not to the loop.
    result = await run_in_threadpool(model.predict_one, observed_penguin(penguin_id, response))
    return PenguinPrediction(
        penguin_id=penguin_id,
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    )
