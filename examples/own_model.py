"""Serve a scikit-learn pipeline of your own: train it on the services' features, save it with its card.

Both services give a model the matrix `shared.features.encode` makes of the penguins (the columns of
ENCODED_FEATURES, as a NumPy array) and answer with its `predict_proba` for the three species. A pipeline
trained on that matrix and saved by `shared.train.save` with its card (held-out accuracy on the split every
model is scored on, and CPU per call measured here) is served by setting MODEL_PATH; one that takes other
features or predicts other classes is refused at start-up, in one line. A joblib file is a pickle: load only
one you made or trust.

    python -m examples.own_model                                   # models/own/own-pipeline.joblib and .json
    MODEL_PATH=models/own/own-pipeline.joblib make run-fastapi     # or make run-flask: GET /model says which
"""

import argparse
from pathlib import Path
from typing import Any

from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shared.settings import REPO_ROOT
from shared.train import card_for, save, split

NAME = "own-pipeline"


def own_pipeline() -> Any:
    """Yours here: any scikit-learn estimator with predict_proba, fitted on the encoded matrix."""
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "models" / "own")
    args = parser.parse_args(argv)
    data = split()  # the features and held-out split the built-in models are trained and scored on
    pipeline = own_pipeline().fit(data.x_train, data.y_train)
    card_path = save(pipeline, card_for(pipeline, NAME, data), args.model_dir)
    print(f"Saved {card_path.with_suffix('.joblib')} and its card; serve it with:")
    print(f"MODEL_PATH={card_path.with_suffix('.joblib')} make run-fastapi")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
