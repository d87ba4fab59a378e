"""The API's operations. Flask views are plain `def`: a gunicorn sync worker runs one request at a time."""

from flask import current_app
from flask_restx import Namespace, Resource

from flask_service.errors import load_json_body
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
    prediction_model,
    validation_error_model,
)
from shared.model import PenguinModel

ERRORS = {
    413: ("Body larger than MAX_BODY_BYTES", error_model),
    415: ("Body is not application/json", error_model),
    422: ("Validation error", validation_error_model),
}

ns = Namespace("penguins", path="/", description="Penguin species predictions")
for restx_model in MODELS:
    ns.add_model(restx_model.name, restx_model)
penguin_schema, batch_schema = PenguinSchema(), BatchSchema()


def penguin_model_of_app() -> PenguinModel:
    model: PenguinModel = current_app.extensions["penguin_model"]
    return model


def document_errors(resource: type[Resource]) -> type[Resource]:
    for code, (description, model) in ERRORS.items():
        resource = ns.response(code, description, model)(resource)
    return resource


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
        """The model's name, version, classes, input features and held-out metrics."""
        return penguin_model_of_app().card


@ns.route("/predict")
@document_errors
class Predict(Resource):
    @ns.expect(penguin_model)
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
@document_errors
class PredictBatch(Resource):
    @ns.expect(batch_model)
    @ns.marshal_with(batch_prediction_model)
    def post(self) -> dict[str, object]:
        """Predict the species of up to MAX_BATCH_SIZE penguins, in item order, in one model call."""
        model = penguin_model_of_app()
        results = model.predict_many(load_json_body(batch_schema)["items"])
        return {
            "model_version": model.version,
            "predictions": [{"species": r.species, "probabilities": r.probabilities} for r in results],
        }
