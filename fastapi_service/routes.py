"""The API's operations. Prediction is CPU-bound, so those views are plain `def`: FastAPI runs them in its
thread pool and the event loop stays free; the trivial ones are `async def` and skip that hop."""

from typing import Annotated, Any

import httpx2
from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from fastapi_service.errors import JSONBodyRoute
from fastapi_service.schemas import (
    Batch,
    BatchPrediction,
    ErrorBody,
    Health,
    ModelCard,
    Penguin,
    PenguinPrediction,
    Prediction,
    ValidationErrorBody,
)
from shared.model import PenguinModel
from shared.upstream import error_for_transport, observation_path, penguin_from_response

ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body larger than MAX_BODY_BYTES", "model": ErrorBody},
    415: {"description": "Body is not application/json", "model": ErrorBody},
    422: {"description": "Validation error", "model": ValidationErrorBody},
}

UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No observation of this penguin", "model": ErrorBody},
    422: {"description": "Validation error", "model": ValidationErrorBody},
    503: {"description": "Observation service unavailable", "model": ErrorBody},
    504: {"description": "Observation service too slow", "model": ErrorBody},
}
PENGUIN_ID = "1-based row of the Palmer Penguins data"

router = APIRouter(route_class=JSONBodyRoute, tags=["penguins"])


def penguin_model_of_app(request: Request) -> PenguinModel:
    model: PenguinModel = request.app.state.penguin_model
    return model


def upstream_of_app(request: Request) -> httpx2.AsyncClient:
    upstream: httpx2.AsyncClient = request.app.state.upstream
    return upstream


@router.get("/health", response_model=Health)
async def health() -> dict[str, str]:
    """Liveness: the service is up and its model is loaded."""
    return {"status": "ok"}


@router.get("/model", response_model=ModelCard)
async def model_card(request: Request) -> dict[str, object]:
    """The model's name, version, classes, input features and held-out metrics."""
    return penguin_model_of_app(request).card


@router.post("/predict", response_model=Prediction, responses=ERRORS)
def predict(penguin: Penguin, request: Request) -> dict[str, object]:
    """Predict the species of one penguin."""
    model = penguin_model_of_app(request)
    result = model.predict_one(penguin.model_dump())
    return {
        "species": result.species,
        "probabilities": result.probabilities,
        "model_version": model.version,
    }


@router.post("/predict/batch", response_model=BatchPrediction, responses=ERRORS)
def predict_batch(batch: Batch, request: Request) -> dict[str, object]:
    """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
    model = penguin_model_of_app(request)
    results = model.predict_many([penguin.model_dump() for penguin in batch.items])
    return {
        "model_version": model.version,
        "predictions": [{"species": r.species, "probabilities": r.probabilities} for r in results],
    }


@router.get("/penguins/{penguin_id}/prediction", response_model=PenguinPrediction, responses=UPSTREAM_ERRORS)
async def penguin_prediction(
    penguin_id: Annotated[int, Path(gt=0, description=PENGUIN_ID)], request: Request
) -> dict[str, object]:
    """Fetch a penguin's observation from the upstream service and predict its species."""
    try:
        response = await upstream_of_app(request).get(observation_path(penguin_id))
    except httpx2.HTTPError as exc:
        raise error_for_transport(exc) from None
    model = penguin_model_of_app(request)
    # The wait above frees the event loop; the model's CPU work goes to the thread pool, not to the loop.
    result = await run_in_threadpool(model.predict_one, penguin_from_response(penguin_id, response))
    return {
        "penguin_id": penguin_id,
        "species": result.species,
        "probabilities": result.probabilities,
        "model_version": model.version,
    }
