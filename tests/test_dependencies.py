"""The model the views use, swapped the way each framework's docs swap a shared object: FastAPI's
`app.dependency_overrides`, Flask's app context (`app.extensions`). The real model calls this penguin a
Gentoo; the stand-in says Chinstrap, so an answer from the real model fails the test."""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.testclient import TestClient

from fastapi_service.app import create_app as create_fastapi_app
from fastapi_service.routes import penguin_model_of_app
from flask_service.app import create_app as create_flask_app
from shared.examples import KNOWN_PENGUINS
from shared.model import Prediction

STAND_IN = Prediction("Chinstrap", {"Adelie": 0.25, "Chinstrap": 0.5, "Gentoo": 0.25})


class StandInModel:
    version = "stand-in"

    def predict_one(self, penguin: Mapping[str, Any]) -> Prediction:
        return STAND_IN

    def predict_many(self, penguins: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        return [STAND_IN for _ in penguins]


EXPECTED = {"species": "Chinstrap", "probabilities": STAND_IN.probabilities, "model_version": "stand-in"}


def test_fastapi_views_take_the_model_from_a_dependency() -> None:
    app = create_fastapi_app()
    app.dependency_overrides[penguin_model_of_app] = StandInModel
    with TestClient(app) as client:
        assert client.post("/predict", json=KNOWN_PENGUINS["Gentoo"]).json() == EXPECTED
        batch = client.post("/predict/batch", json={"items": [KNOWN_PENGUINS["Gentoo"]] * 2}).json()
        assert [item["species"] for item in batch["predictions"]] == ["Chinstrap", "Chinstrap"]
    app.dependency_overrides.clear()
    with TestClient(app) as client:
        assert client.post("/predict", json=KNOWN_PENGUINS["Gentoo"]).json()["species"] == "Gentoo"


def test_flask_views_take_the_model_from_the_app_context() -> None:
    app = create_flask_app()
    app.extensions["penguin_model"] = StandInModel()
    client = app.test_client()
    assert client.post("/predict", json=KNOWN_PENGUINS["Gentoo"]).get_json() == EXPECTED
