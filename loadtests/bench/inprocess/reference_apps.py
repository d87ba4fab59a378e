"""Minimal apps of the services' three stacks, written the way each one's docs show, on the same shared model:
`GET /health` and `POST /predict`, nothing else. What `python -m loadtests.bench.inprocess.glue` compares each
service with, so that what a service spends beyond its reference is the price of answering the shared
contract.

Flask: flask-restx resources and models (https://flask-restx.readthedocs.io/en/latest/quickstart.html),
validation by a marshmallow schema (https://marshmallow.readthedocs.io/en/stable/quickstart.html), restx's
`abort` for a 422. FastAPI: pydantic models with `response_model`, the model loaded in `lifespan`
(https://fastapi.tiangolo.com/advanced/events/). Flask with flask-openapi3: the same pydantic models, a view
taking `body: Penguin` on an APIBlueprint, the extension's own 422
(https://luolingchun.github.io/flask-openapi3/latest/Quickstart/). No limits, no error vocabulary: each
stack's defaults.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from flask import Flask, current_app, request
from flask_openapi3 import APIBlueprint, OpenAPI
from flask_restx import Api, Namespace, Resource, abort, fields
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as ma
from pydantic import BaseModel, Field

from shared.limits import MEASUREMENTS, SPECIES, Island, Sex
from shared.model import PenguinModel, load_model
from shared.settings import Settings

# --- Flask + flask-restx + marshmallow ------------------------------------------------------------------


def measured(name: str) -> ma.Float:
    bound = MEASUREMENTS[name]
    return ma.Float(required=True, validate=validate.Range(bound.gt, bound.le, min_inclusive=False))


class PenguinSchema(Schema):
    island = ma.Enum(Island, by_value=True, required=True)
    bill_length_mm = measured("bill_length_mm")
    bill_depth_mm = measured("bill_depth_mm")
    flipper_length_mm = measured("flipper_length_mm")
    body_mass_g = measured("body_mass_g")
    sex = ma.Enum(Sex, by_value=True, load_default=None, allow_none=True)


ns = Namespace("penguins", path="/")
health_model = ns.model("Health", {"status": fields.String(required=True)})
penguin_model = ns.model(
    "Penguin",
    {
        "island": fields.String(required=True, enum=[island.value for island in Island]),
        **{name: fields.Float(required=True) for name in MEASUREMENTS},
        "sex": fields.String(enum=[sex.value for sex in Sex]),
    },
)
prediction_model = ns.model(
    "Prediction",
    {
        "species": fields.String(required=True),
        "probabilities": fields.Nested(
            ns.model("Probabilities", {name: fields.Float(required=True) for name in SPECIES}), required=True
        ),
        "model_version": fields.String(required=True),
    },
)
penguin_schema = PenguinSchema()


@ns.route("/health")
class Health(Resource):
    @ns.marshal_with(health_model)
    def get(self) -> dict[str, str]:
        return {"status": "ok"}


@ns.route("/predict")
class Predict(Resource):
    @ns.expect(penguin_model)
    @ns.marshal_with(prediction_model)
    def post(self) -> dict[str, object]:
        try:
            penguin = penguin_schema.load(request.get_json())
        except ValidationError as err:
            abort(422, "Validation error", errors=err.messages)
        model: PenguinModel = current_app.extensions["penguin_model"]
        result = model.predict_one(penguin)
        return {
            "species": result.species,
            "probabilities": result.probabilities,
            "model_version": model.version,
        }


def create_flask_reference(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.extensions["penguin_model"] = load_model(settings.model_dir)
    api = Api(app)
    api.add_namespace(ns)
    return app


# --- FastAPI + pydantic -----------------------------------------------------------------------------------


def measurement(name: str) -> Any:
    bound = MEASUREMENTS[name]
    return Field(gt=bound.gt, le=bound.le)


class Penguin(BaseModel):
    island: Island
    bill_length_mm: Annotated[float, measurement("bill_length_mm")]
    bill_depth_mm: Annotated[float, measurement("bill_depth_mm")]
    flipper_length_mm: Annotated[float, measurement("flipper_length_mm")]
    body_mass_g: Annotated[float, measurement("body_mass_g")]
    sex: Sex | None = None


class HealthBody(BaseModel):
    status: str


class Prediction(BaseModel):
    species: str
    probabilities: dict[str, float]
    model_version: str


router = APIRouter()


@router.get("/health", response_model=HealthBody)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/predict", response_model=Prediction)
def predict(penguin: Penguin, request: Request) -> dict[str, object]:
    model: PenguinModel = request.app.state.penguin_model
    result = model.predict_one(penguin.model_dump())
    return {"species": result.species, "probabilities": result.probabilities, "model_version": model.version}


def create_fastapi_reference(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.penguin_model = load_model(settings.model_dir)
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


# --- Flask + flask-openapi3 (pydantic: the models above) --------------------------------------------------

penguins = APIBlueprint("penguins", __name__)


@penguins.get("/health", responses={200: HealthBody})
def openapi_health() -> dict[str, str]:
    return {"status": "ok"}


@penguins.post("/predict", responses={200: Prediction})
def openapi_predict(body: Penguin) -> dict[str, object]:
    model: PenguinModel = current_app.extensions["penguin_model"]
    result = model.predict_one(body.model_dump())
    return {"species": result.species, "probabilities": result.probabilities, "model_version": model.version}


def create_flask_openapi_reference(settings: Settings | None = None) -> OpenAPI:
    settings = settings or Settings.from_env()
    app = OpenAPI(__name__)
    app.extensions["penguin_model"] = load_model(settings.model_dir)
    app.register_api(penguins)
    return app
