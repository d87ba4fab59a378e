"""The API's operations. Flask views are plain `def`: a gunicorn sync worker runs one request at a time."""

from typing import Any

import httpx2
from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ValidationError

from flask_openapi_service.schemas import (
    Batch,
    BatchPrediction,
    ErrorBody,
    Health,
    ModelCard,
    Penguin,
    PenguinPath,
    PenguinPrediction,
    Prediction,
    Probabilities,
    Species,
    ValidationErrorBody,
)
from shared.model import PenguinModel
from shared.upstream import bad_observation, error_for_transport, observation_from_response, observation_path

# A status and its model: 4.x documents a model with the status's own phrase, or a Response object with no
# model, so the descriptions FastAPI's routes give are not here.
ERRORS: dict[int | str, type[BaseModel]] = {413: ErrorBody, 415: ErrorBody, 422: ValidationErrorBody}
UPSTREAM_ERRORS: dict[int | str, type[BaseModel]] = {
    404: ErrorBody,
    422: ValidationErrorBody,
    502: ErrorBody,
    503: ErrorBody,
    504: ErrorBody,
}

api = APIBlueprint("penguins", __name__, abp_tags=[Tag(name="penguins")])


def penguin_model_of_app() -> PenguinModel:
    """The model the app loaded at startup."""
    model: PenguinModel = current_app.extensions["penguin_model"]
    return model


def upstream_of_app() -> httpx2.Client:
    """The app's pooled client for the upstream observation service."""
    upstream: httpx2.Client = current_app.extensions["upstream"]
    return upstream


def observed_penguin(penguin_id: int, response: httpx2.Response) -> dict[str, Any]:
    """The upstream's observation, checked by the rules of a request's Penguin (Penguin), or a 502."""
    try:
        penguin = Penguin.model_validate(observation_from_response(penguin_id, response))
    except ValidationError:
        raise bad_observation() from None
    return penguin.model_dump()


# Response models document; the extension does not serialise with them (validate_response only checks), so
# each view dumps its model and Flask writes the JSON.
@api.get("/health", responses={200: Health})
def health() -> dict[str, Any]:
    """Liveness: the service is up and its model is loaded."""
    return Health(status="ok").model_dump()


@api.get("/model", responses={200: ModelCard})
def model_card() -> dict[str, Any]:
    """The served model: name, version, classes, input features, held-out metrics and CPU per call."""
    return ModelCard.model_validate(penguin_model_of_app().card).model_dump()


@api.post("/predict", responses={200: Prediction, **ERRORS})
def predict(body: Penguin) -> dict[str, Any]:
    """Predict the species of one penguin."""
    model = penguin_model_of_app()
    result = model.predict_one(body.model_dump())
    return Prediction(
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    ).model_dump()


@api.post("/predict/batch", responses={200: BatchPrediction, **ERRORS})
def predict_batch(body: Batch) -> dict[str, Any]:
    """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
    model = penguin_model_of_app()
    results = model.predict_many([penguin.model_dump() for penguin in body.items])
    return BatchPrediction(
        model_version=model.version,
        predictions=[
            Species(species=r.species, probabilities=Probabilities(**r.probabilities)) for r in results
        ],
    ).model_dump()


# Any segment, validated by PenguinPath: werkzeug's <int:> would answer a non-integer with a 404 (the contract
# says 422, as FastAPI's Path does) and takes "\u0661" for 1.
@api.get("/penguins/<penguin_id>/prediction", responses={200: PenguinPrediction, **UPSTREAM_ERRORS})
def penguin_prediction(path: PenguinPath) -> dict[str, Any]:
    """Fetch a penguin's observation from the upstream service and predict its species."""
    try:
        response = upstream_of_app().get(observation_path(path.penguin_id))
    except httpx2.HTTPError as exc:
        raise error_for_transport(exc) from None
    model = penguin_model_of_app()
    # A sync worker waits on the socket above and can do nothing else meanwhile; gthread or gevent can.
    result = model.predict_one(observed_penguin(path.penguin_id, response))
    return PenguinPrediction(
        penguin_id=path.penguin_id,
        species=result.species,
        probabilities=Probabilities(**result.probabilities),
        model_version=model.version,
    ).model_dump()
