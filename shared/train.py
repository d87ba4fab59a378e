"""Train the penguin-species model on the Palmer Penguins data shipped in `palmerpenguins`.

Deterministic: the same data, split and solver give the same model on every run. No network.
Run with `make model` or `python -m shared.train [--model-dir DIR]`.
"""

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from palmerpenguins import load_penguins
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from shared.features import ENCODED_FEATURES, INPUT_FEATURES, encode
from shared.limits import MEASUREMENTS, SPECIES
from shared.model import MODEL_NAME, artifact_paths, sha256_of
from shared.settings import Settings

# Bump when the data, features or estimator change: clients see it in every prediction.
MODEL_VERSION = "1.0.0"
RANDOM_STATE = 42
TEST_SIZE = 0.25
MIN_ACCURACY = 0.95


def load_training_data() -> tuple[list[dict[str, Any]], list[str]]:
    """Rows with every measurement; a missing sex stays missing, as clients may send it."""
    frame: pd.DataFrame = load_penguins().dropna(subset=list(MEASUREMENTS))
    frame = frame.astype({"sex": object}).where(frame.notna(), None)
    penguins = frame[INPUT_FEATURES].to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in penguins], frame["species"].tolist()


def train() -> tuple[Pipeline, dict[str, Any]]:
    penguins, species = load_training_data()
    x_train, x_test, y_train, y_test = train_test_split(
        encode(penguins),
        np.array(species),
        test_size=TEST_SIZE,
        random_state=RANDOM_STATE,
        stratify=species,
    )
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    estimator.fit(x_train, y_train)
    accuracy = float(accuracy_score(y_test, estimator.predict(x_test)))
    if list(estimator.classes_) != list(SPECIES):
        raise RuntimeError(f"Unexpected classes {estimator.classes_}")
    card = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "classes": list(SPECIES),
        "features": INPUT_FEATURES,
        "encoded_features": ENCODED_FEATURES,
        "metrics": {"accuracy": round(accuracy, 4), "n_train": len(y_train), "n_test": len(y_test)},
        "training": {
            "data": "palmerpenguins",
            "test_size": TEST_SIZE,
            "random_state": RANDOM_STATE,
        },
        "estimator": "StandardScaler + LogisticRegression",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }
    return estimator, card


def save(estimator: Pipeline, card: dict[str, Any], model_dir: Path) -> Path:
    model_dir.mkdir(parents=True, exist_ok=True)
    estimator_path, card_path = artifact_paths(model_dir)
    joblib.dump(estimator, estimator_path)
    card_path.write_text(
        json.dumps({**card, "sha256": sha256_of(estimator_path.read_bytes())}, indent=2) + "\n"
    )
    return card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Settings.from_env().model_dir)
    args = parser.parse_args(argv)
    estimator, card = train()
    accuracy = card["metrics"]["accuracy"]
    if accuracy < MIN_ACCURACY:
        print(f"Held-out accuracy {accuracy:.4f} is below {MIN_ACCURACY}; not saved.", file=sys.stderr)
        return 1
    card_path = save(estimator, card, args.model_dir)
    print(f"Trained {MODEL_NAME} {MODEL_VERSION}: held-out accuracy {accuracy:.4f} -> {card_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
