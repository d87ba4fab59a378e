"""The penguin-species model: load the artifact once, verify it, predict one or many penguins."""

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import sklearn

from shared.features import encode

MODEL_NAME = "penguin-species"
REBUILD_HINT = "Build it with `make model` (or `.venv/bin/python -m shared.train`)."


class ModelArtifactError(RuntimeError):
    """The model artifact is missing, corrupted or was built by another scikit-learn."""


@dataclass(frozen=True)
class Prediction:
    species: str
    probabilities: dict[str, float]


def artifact_paths(model_dir: Path) -> tuple[Path, Path]:
    """The pickled estimator and its metadata card."""
    return model_dir / f"{MODEL_NAME}.joblib", model_dir / f"{MODEL_NAME}.json"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PenguinModel:
    """A verified estimator with its metadata card; safe to share between threads."""

    def __init__(self, estimator: Any, card: dict[str, Any]) -> None:
        self.estimator = estimator
        self.card = card
        self.version: str = card["version"]
        self.classes: list[str] = [str(c) for c in estimator.classes_]

    def predict_one(self, penguin: Mapping[str, Any]) -> Prediction:
        return self.predict_many([penguin])[0]

    def predict_many(self, penguins: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """One vectorised model call for the whole batch, whatever its size."""
        probabilities = self.estimator.predict_proba(encode(penguins))
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                species=self.classes[best[row]],
                probabilities=dict(zip(self.classes, map(float, probabilities[row]), strict=True)),
            )
            for row in range(len(penguins))
        ]


def load_model(model_dir: Path) -> PenguinModel:
    """Load and verify the artifact; refuse, saying what to run, if it cannot be trusted."""
    estimator_path, card_path = artifact_paths(model_dir)
    if not estimator_path.is_file() or not card_path.is_file():
        raise ModelArtifactError(f"No model artifact in {model_dir}. {REBUILD_HINT}")
    try:
        card = json.loads(card_path.read_text())
        expected_sha, built_with = card["sha256"], card["sklearn_version"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelArtifactError(f"Unreadable model card {card_path}. {REBUILD_HINT}") from exc
    if built_with != sklearn.__version__:
        raise ModelArtifactError(
            f"The model in {model_dir} was built with scikit-learn {built_with}, this environment has "
            f"{sklearn.__version__}. {REBUILD_HINT}"
        )
    # The checksum in the card catches a truncated or corrupted pickle, and one from another build than its
    # card (a half-finished copy, a stale file). It is no defence against someone who can write the model
    # folder: they can rewrite the card too. The file is read once, and what is unpickled is the very bytes
    # that were hashed, so it cannot change between the check and the load.
    data = estimator_path.read_bytes()
    if sha256_of(data) != expected_sha:
        raise ModelArtifactError(f"Checksum mismatch for {estimator_path}. {REBUILD_HINT}")
    return PenguinModel(joblib.load(io.BytesIO(data)), card)
