"""The API's operations. Flask views are plain `def`: a gunicorn sync worker runs one request at a time."""

from typing import Any

import httpx2
from flask import current_app
from flask_restx import Namespace, Resource
from marshmallow import ValidationError

from flask_service.contract import load_json_body, load_path_param, penguin_id_field
from flask_service.schemas import (
    MODELS,
    BatchSchema,
    PenguinSchema,
    batch_model,
    batch_prediction_model,
    error_model,
    health_model,
    model_card_model,
    penguin_model,
    penguin_prediction_model,
    prediction_model,
    validation_error_model,
)
from shared.docs import PENGUIN_ID
from shared.model import PenguinModel
from shared.upstream import bad_observation, error_for_transport, observation_from_response, observation_path

ERRORS = {
    413: ("Body larger than MAX_BODY_BYTES", error_model),
    415: ("Body is not application/json", error_model),
    422: ("Validation error", validation_error_model),
}
UPSTREAM_ERRORS = {
    404: ("No observation of this penguin", error_model),
    422: ("Validation error", validation_error_model),
    502: ("Observation service answered with an invalid observation", error_model),
    503: ("Observation service unavailable", error_model),
    504: ("Observation service too slow", error_model),
}

ns = Namespace("penguins", path="/", description="Penguin species predictions")
for restx_model in MODELS:
    ns.add_model(restx_model.name, restx_model)
penguin_schema, batch_schema = PenguinSchema(), BatchSchema()


def penguin_model_of_app() -> PenguinModel:
    """The model the app loaded at startup."""
    model: PenguinModel = current_app.extensions["penguin_model"]
    return model


def upstream_of_app() -> httpx2.Client:
    """The app's pooled client for the upstream observation service."""
    upstream: httpx2.Client = current_app.extensions["upstream"]
    return upstream


def observed_penguin(penguin_id: int, response: httpx2.Response) -> dict[str, Any]:
    """The upstream's observation, checked by the rules of a request's Penguin (PenguinSchema), or a 502."""
    try:
        penguin: dict[str, Any] = penguin_schema.load(observation_from_response(penguin_id, response))
    except ValidationError:
        raise bad_observation() from None
    return penguin


@ns.route("/health")
class Health(Resource):
    @ns.marshal_with(health_model)
    def get(self) -> dict[str, str]:
        """Liveness: the service is up and its model is loaded."""
        return {"status": "ok"}


@ns.route("/model")
class ModelCard(Resource):
    @ns.marshal_with(model_card_model)
    def get(self) -> dict[str, object]:
        """The served model: name, version, classes, input features, held-out metrics and CPU per call."""
        return penguin_model_of_app().card


@ns.route("/predict")
class Predict(Resource):
    @ns.expect(penguin_model)
    @ns.doc(responses=ERRORS)
    @ns.marshal_with(prediction_model)
    def post(self) -> dict[str, object]:
        """Predict the species of one penguin."""
        model = penguin_model_of_app()
        result = model.predict_one(load_json_body(penguin_schema))
        return {
            "species": result.species,
            "probabilities": result.probabilities,
            "model_version": model.version,
        }


@ns.route("/predict/batch")
class PredictBatch(Resource):
    @ns.expect(batch_model)
    @ns.doc(responses=ERRORS)
    @ns.marshal_with(batch_prediction_model)
    def post(self) -> dict[str, object]:
        """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
        model = penguin_model_of_app()
        results = model.predict_many(load_json_body(batch_schema)["items"])
        return {
            "model_version": model.version,
            "predictions": [{"species": r.species, "probabilities": r.probabilities} for r in results],
        }


# Any segment, validated by the view: werkzeug's <int:> would answer a non-integer with a 404 (the contract
# says 422, as FastAPI's Path does) and takes "\u0661" for 1. restx types a path parameter from its converter
# alone, so the method's @ns.param says integer: https://github.com/python-restx/flask-restx/pull/279
@ns.route("/penguins/<penguin_id>/prediction")
class PenguinPrediction(Resource):
    @ns.param("penguin_id", PENGUIN_ID, _in="path", type="integer", minimum=0, exclusiveMinimum=True)
    @ns.doc(responses=UPSTREAM_ERRORS)
    @ns.marshal_with(penguin_prediction_model)
    def get(self, penguin_id: str) -> dict[str, object]:
        """Fetch a penguin's observation from the upstream service and predict its species."""
        valid_id: int = load_path_param(penguin_id_field, "penguin_id", penguin_id)
        try:
            response = upstream_of_app().get(observation_path(valid_id))
        except httpx2.HTTPError as exc:
            raise error_for_transport(exc) from None
        model = penguin_model_of_app()
        # A sync worker waits on the socket above and can do nothing else meanwhile; gthread or gevent can.
        result = model.predict_one(observed_penguin(valid_id, response))
        return {
            "penguin_id": valid_id,
            "species": result.species,
            "probabilities": result.probabilities,
            "model_version": model.version,
        }
