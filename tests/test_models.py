"""Models of several costs, MODEL_NAME and MODEL_PATH: what `make model` built, what each service serves."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from examples import own_model
from shared.examples import KNOWN_PENGUINS, batch_of
from shared.features import ENCODED_FEATURES, encode
from shared.model import (
    ModelArtifactError,
    PenguinModel,
    feature_problem,
    load_model,
    load_own_model,
    model_cards,
)
from shared.settings import MODEL_NAMES, REPO_ROOT, Settings, SettingsError
from shared.train import ESTIMATORS, MIN_ACCURACY, fit, parameters_of, save, split
from tests.clients import FRAMEWORKS, make_client
from tests.servers import free_port

MODEL_DIR = Settings.from_env().model_dir
COST_KEYS = {"cpu_us_1_row", "cpu_us_100_rows"}


@pytest.fixture(scope="module")
def own_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/own_model.py's pipeline and card, as a user would make them."""
    model_dir = tmp_path_factory.mktemp("own")
    assert own_model.main(["--model-dir", str(model_dir)]) == 0
    return model_dir / f"{own_model.NAME}.joblib"


def mismatched(estimator: Any, model_dir: Path) -> Path:
    """The estimator saved with a card the loader accepts: only the estimator itself is wrong."""
    card = {**model_cards(MODEL_DIR)[MODEL_NAMES[0]], "name": "mismatched"}
    save(estimator, card, model_dir)
    return model_dir / "mismatched.joblib"


def test_every_model_has_its_card() -> None:
    cards = model_cards(MODEL_DIR)
    assert list(cards) == list(MODEL_NAMES)
    for name, card in cards.items():
        assert card["name"] == name
        assert card["metrics"]["accuracy"] >= MIN_ACCURACY
        assert card["parameters"] == parameters_of(ESTIMATORS[name]())
        assert set(card["cost"]) >= COST_KEYS
        assert all(isinstance(card["cost"][key], float) and card["cost"][key] > 0 for key in COST_KEYS)
        assert card["cost"]["threads"] == 1 and card["cost"]["cpu"]


def test_the_default_is_the_logistic_regression() -> None:
    assert Settings().model_name == "penguin-species" == MODEL_NAMES[0]
    assert model_cards(MODEL_DIR)["penguin-species"]["estimator"] == "StandardScaler + LogisticRegression"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_model_is_what_training_makes_and_predicts(name: str) -> None:
    """Deterministic: training again gives the artifact's very probabilities."""
    model = load_model(MODEL_DIR, name)
    batch = batch_of(100)["items"]
    retrained = fit(name, split())
    assert np.array_equal(
        retrained.predict_proba(encode(batch)), model.estimator.predict_proba(encode(batch))
    )
    for species, penguin in KNOWN_PENGUINS.items():
        assert model.predict_one(penguin).species == species


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_model_name_picks_the_served_model(framework: str) -> None:
    name = "random-forest-100"
    with make_client(framework, Settings(model_name=name)) as client:
        card = client.request("GET", "/model").json()
        prediction = client.request("POST", "/predict", json=KNOWN_PENGUINS["Chinstrap"]).json()
    on_disk = model_cards(MODEL_DIR)[name]
    assert (card["name"], card["estimator"]) == (name, "RandomForestClassifier")
    assert card["cost"] == {key: on_disk["cost"][key] for key in COST_KEYS}
    assert prediction["species"] == "Chinstrap"


def test_unknown_model_name_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"MODEL_NAME must be one of penguin-species, .*; got 'resnet'"):
        Settings.from_env({"MODEL_NAME": "resnet"})
    with pytest.raises(ModelArtifactError, match="No model named 'resnet'"):
        load_model(MODEL_DIR, "resnet")
    with pytest.raises(SettingsError, match="MODEL_NAME and MODEL_PATH"):
        Settings.from_env({"MODEL_NAME": "random-forest-100", "MODEL_PATH": "mine.joblib"})


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_own_pipeline_is_served(framework: str, own_pipeline: Path) -> None:
    with make_client(framework, Settings(model_path=own_pipeline)) as client:
        card = client.request("GET", "/model").json()
        predictions = client.request("POST", "/predict/batch", json={"items": list(KNOWN_PENGUINS.values())})
    assert (card["name"], card["estimator"]) == ("own-pipeline", "StandardScaler + KNeighborsClassifier")
    assert set(card["cost"]) == COST_KEYS
    assert [p["species"] for p in predictions.json()["predictions"]] == list(KNOWN_PENGUINS)


def fitted(
    estimator: Any, columns: list[str] | None = None, species: Callable[[Any], Any] | None = None
) -> Any:
    """Fitted on the split's training part: as an array, or a DataFrame of the first len(columns) columns."""
    data = split()
    x = data.x_train if columns is None else pd.DataFrame(data.x_train[:, : len(columns)], columns=columns)
    return estimator.fit(x, data.y_train if species is None else species(data.y_train))


def scaled_logistic_regression() -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression())


MISMATCHES: dict[str, tuple[Callable[[], Any], str]] = {
    "fewer features": (
        lambda: fitted(scaled_logistic_regression(), ENCODED_FEATURES[:-1]),
        "takes 8 features, not the 9",
    ),
    "other feature names": (
        lambda: fitted(scaled_logistic_regression(), [f"x{i}" for i in range(len(ENCODED_FEATURES))]),
        "was fitted on the features",
    ),
    "other classes": (
        lambda: fitted(scaled_logistic_regression(), species=lambda y: y == "Gentoo"),
        "predicts the classes",
    ),
    "no predict_proba": (lambda: fitted(LinearSVC()), "has no predict_proba"),
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", MISMATCHES)
def test_mismatched_pipeline_is_refused(framework: str, case: str, tmp_path: Path) -> None:
    make, reason = MISMATCHES[case]
    settings = Settings(model_path=mismatched(make(), tmp_path))
    with pytest.raises(ModelArtifactError, match=reason) as refused, make_client(framework, settings):
        pass
    assert "\n" not in str(refused.value)


def test_pipeline_fitted_on_named_columns_is_served_by_name() -> None:
    """Fitted on a DataFrame of the encoded columns, it is given one: scikit-learn has nothing to warn of."""
    estimator = fitted(scaled_logistic_regression(), ENCODED_FEATURES)
    assert feature_problem(estimator) is None
    model = PenguinModel(estimator, {"version": "named"})  # a warning would fail the test
    assert [model.predict_one(penguin).species for penguin in KNOWN_PENGUINS.values()] == list(KNOWN_PENGUINS)


def test_missing_card_says_how_to_make_one(own_pipeline: Path, tmp_path: Path) -> None:
    alone = tmp_path / own_pipeline.name
    alone.write_bytes(own_pipeline.read_bytes())
    with pytest.raises(ModelArtifactError, match=r"own-pipeline\.json.*examples/own_model\.py"):
        load_own_model(alone)


@pytest.mark.live
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_server_refuses_a_mismatched_pipeline_in_one_line(framework: str, tmp_path: Path) -> None:
    path = mismatched(fitted(LinearSVC()), tmp_path)
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        exited = subprocess.run(
            [sys.executable, "-m", f"{framework}_service.server"],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "PORT": str(free_port()),
                "MODEL_PATH": str(path),
            },
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
    assert exited.returncode == 1
    assert log.read_text().splitlines() == [
        f"Cannot serve: The model {path} cannot be served: it has no predict_proba. "
        "Save the pipeline and its card with shared.train.save, as examples/own_model.py does."
    ]
