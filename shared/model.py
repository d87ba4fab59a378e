"""The penguin-species models: load the one the settings name, verify it, predict one or many penguins."""

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import sklearn
from sklearn.exceptions import InconsistentVersionWarning
from threadpoolctl import threadpool_limits

from shared.examples import KNOWN_PENGUINS
from shared.features import ENCODED_FEATURES, encode
from shared.limits import SPECIES
from shared.settings import MODEL_NAMES, Settings, SettingsError

MODEL_NAME = MODEL_NAMES[0]
REBUILD_HINT = "Build it with `make model` (or `.venv/bin/python -m shared.train`)."
OWN_MODEL_HINT = "Save the pipeline and its card with shared.train.save, as examples/own_model.py does."
# What GET /model answers with, and the bench reads.
CARD_KEYS = (
    "name",
    "version",
    "classes",
    "features",
    "metrics",
    "estimator",
    "cost",
    "sha256",
    "sklearn_version",
)


class ModelArtifactError(RuntimeError):
    """The model artifact is missing, corrupted, built by another scikit-learn, or takes other features."""


@dataclass(frozen=True)
class Prediction:
    species: str
    probabilities: dict[str, float]


def artifact_paths(model_dir: Path, name: str = MODEL_NAME) -> tuple[Path, Path]:
    """The pickled estimator and its metadata card."""
    return model_dir / f"{name}.joblib", model_dir / f"{name}.json"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PenguinModel:
    """A verified estimator with its metadata card; safe to share between threads."""

    def __init__(self, estimator: Any, card: dict[str, Any]) -> None:
        self.estimator = estimator
        self.card = card
        self.version: str = card["version"]
        self.classes: list[str] = [str(c) for c in estimator.classes_]
        self.model_input = model_input_of(estimator)

    def predict_one(self, penguin: Mapping[str, Any]) -> Prediction:
        return self.predict_many([penguin])[0]

    def predict_many(self, penguins: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """One vectorised model call for the whole batch, whatever its size."""
        probabilities = self.estimator.predict_proba(self.model_input(encode(penguins)))
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                species=self.classes[best[row]],
                probabilities=dict(zip(self.classes, map(float, probabilities[row]), strict=True)),
            )
            for row in range(len(penguins))
        ]


def model_input_of(estimator: Any) -> Callable[[npt.NDArray[np.float64]], Any]:
    """The encoded matrix as is, or, for an estimator fitted on a DataFrame, a DataFrame of the same columns:
    scikit-learn warns on every call given an array instead. A DataFrame costs each call more (features.py);
    fitting on the array (examples/own_model.py) spares it."""
    if not hasattr(estimator, "feature_names_in_"):
        return lambda matrix: matrix
    import pandas as pd

    return lambda matrix: pd.DataFrame(matrix, columns=ENCODED_FEATURES)


def feature_problem(estimator: Any) -> str | None:
    """Why the services could not serve this estimator, or None: they give it shared.features.encode's matrix
    and answer with the probabilities of the three species."""
    if not callable(getattr(estimator, "predict_proba", None)):
        return "has no predict_proba"
    if not hasattr(estimator, "classes_"):
        return "is not fitted"
    if (classes := [str(c) for c in estimator.classes_]) != list(SPECIES):
        return f"predicts the classes {classes}, not the three species {list(SPECIES)}"
    if (n_features := getattr(estimator, "n_features_in_", None)) != len(ENCODED_FEATURES):
        return f"takes {n_features} features, not the {len(ENCODED_FEATURES)} of shared.features.encode"
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and list(names) != ENCODED_FEATURES:
        return f"was fitted on the features {list(names)}, not {ENCODED_FEATURES}"
    try:
        probabilities = estimator.predict_proba(
            model_input_of(estimator)(encode(list(KNOWN_PENGUINS.values())))
        )
    except Exception as exc:
        return f"fails on three known penguins ({type(exc).__name__}: {' '.join(str(exc).split())})"
    if np.shape(probabilities) != (len(KNOWN_PENGUINS), len(SPECIES)):
        return f"answers probabilities of shape {np.shape(probabilities)} for {len(KNOWN_PENGUINS)} penguins"
    return None


def one_thread_per_worker() -> None:
    """Each worker's model computes on one thread: the services run a worker per core, and an OpenMP
    estimator (HistGradientBoosting) spinning a thread per core in each worker fights the others for them: on
    this project's 2 busy cores its training took tens of times longer. The cards' costs are measured so too.
    """
    threadpool_limits(limits=1)


def unpickled(data: bytes, source: Path) -> Any:
    """The estimator in these bytes; one pickled by another scikit-learn is refused, not trusted."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        try:
            return joblib.load(io.BytesIO(data))
        except InconsistentVersionWarning as exc:
            raise ModelArtifactError(f"{source} was pickled by another scikit-learn: {exc}") from None


def load_artifact(estimator_path: Path, card_path: Path, hint: str) -> PenguinModel:
    """Load and verify an estimator and its card; refuse, saying what to do, if they cannot be trusted."""
    if not estimator_path.is_file() or not card_path.is_file():
        raise ModelArtifactError(
            f"No model artifact at {estimator_path} with its card {card_path.name}. {hint}"
        )
    try:
        card = json.loads(card_path.read_text())
        missing = [key for key in CARD_KEYS if key not in card]
    except (ValueError, TypeError) as exc:
        raise ModelArtifactError(f"Unreadable model card {card_path}. {hint}") from exc
    if missing:
        raise ModelArtifactError(f"The model card {card_path} lacks {', '.join(missing)}. {hint}")
    if card["sklearn_version"] != sklearn.__version__:
        raise ModelArtifactError(
            f"The model {estimator_path} was built with scikit-learn {card['sklearn_version']}, this "
            f"environment has {sklearn.__version__}. {hint}"
        )
    # The checksum in the card catches a truncated or corrupted pickle, and one from another build than its
    # card (a half-finished copy, a stale file). It is no defence against someone who can write the model
    # folder: they can rewrite the card too. The file is read once, and what is unpickled is the very bytes
    # that were hashed, so it cannot change between the check and the load.
    data = estimator_path.read_bytes()
    if sha256_of(data) != card["sha256"]:
        raise ModelArtifactError(f"Checksum mismatch for {estimator_path}. {hint}")
    estimator = unpickled(data, estimator_path)
    # After unpickling, which loaded the estimator's libraries (threadpoolctl limits the ones loaded), and
    # before its first call: gunicorn's master checks the model too, and forks no OpenMP thread pool.
    one_thread_per_worker()
    if problem := feature_problem(estimator):
        raise ModelArtifactError(f"The model {estimator_path} cannot be served: it {problem}. {hint}")
    return PenguinModel(estimator, card)


def load_model(model_dir: Path, name: str = MODEL_NAME) -> PenguinModel:
    """One of the models `make model` trains (MODEL_NAMES), from model_dir."""
    if name not in MODEL_NAMES:
        raise ModelArtifactError(f"No model named {name!r}: the models are {', '.join(MODEL_NAMES)}.")
    return load_artifact(*artifact_paths(model_dir, name), REBUILD_HINT)


def load_own_model(estimator_path: Path) -> PenguinModel:
    """A scikit-learn pipeline of one's own (MODEL_PATH), its card beside it: x.joblib and x.json."""
    return load_artifact(estimator_path, estimator_path.with_suffix(".json"), OWN_MODEL_HINT)


def is_own(model: str) -> bool:
    """Whether a model a bench serves is a pipeline of one's own (the path of its .joblib), not one `make
    model` trains (a name)."""
    return model.endswith(".joblib")


def model_label(model: str) -> str:
    """How a bench names a model in files and tables: its name, or a pipeline of one's own's file stem and
    "(yours)"."""
    return f"{Path(model).stem} (yours)" if is_own(model) else model


def model_setting(model: str) -> dict[str, str]:
    """The environment that makes a server serve `model`: MODEL_NAME for a trained one, MODEL_PATH for a
    pipeline of one's own."""
    return {"MODEL_PATH": model} if is_own(model) else {"MODEL_NAME": model}


def load_named(model_dir: Path, model: str) -> PenguinModel:
    """A model `make model` trains, by name, or a pipeline of one's own, by its path."""
    return load_own_model(Path(model)) if is_own(model) else load_model(model_dir, model)


def card_of(model_dir: Path, model: str) -> dict[str, Any]:
    """A model's card, by name or (a pipeline of one's own) beside its path; reads the card only."""
    path = Path(model).with_suffix(".json") if is_own(model) else artifact_paths(model_dir, model)[1]
    try:
        card: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelArtifactError(
            f"No readable card {path}. {OWN_MODEL_HINT if is_own(model) else REBUILD_HINT}"
        ) from exc
    return card


def load_served_model(settings: Settings) -> PenguinModel:
    """The model the settings name: MODEL_PATH's if set, else MODEL_NAME's from MODEL_DIR."""
    if settings.model_path is not None:
        return load_own_model(settings.model_path)
    return load_model(settings.model_dir, settings.model_name)


def exit_unless_servable(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse to start a server, in one line, when the settings or the model they name cannot be served.

    Each worker loads the model itself, and would fail in a traceback that gunicorn and uvicorn each wrap in
    lines of their own; the server's main process loads it once first, so that both say alike what is wrong.
    """
    try:
        load_served_model(Settings.from_env(environ))
    except (SettingsError, ModelArtifactError) as exc:
        raise SystemExit(f"Cannot serve: {exc}") from None


def model_cards(model_dir: Path) -> dict[str, dict[str, Any]]:
    """Every model `make model` trains, by name, cheapest first, with its card (accuracy, CPU per call): what
    a bench iterates over, serving each with MODEL_NAME=<name>. Reads the cards only, no estimator."""
    return {name: card_of(model_dir, name) for name in MODEL_NAMES}
