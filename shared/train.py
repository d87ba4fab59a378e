"""Train the penguin-species models on the Palmer Penguins data shipped in `palmerpenguins`.

Each model (MODEL_NAMES) is trained on the same features and split, and gets a card: its held-out accuracy
and its CPU per call, measured here. Deterministic: the same data, split, estimators and seeds give the same
models on every run (the cards' CPU figures are this host's). No network.
Run with `make model` or `python -m shared.train [--model-dir DIR]`.
"""

import argparse
import contextlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd
import sklearn
from palmerpenguins import load_penguins
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from shared.examples import batch_of
from shared.features import ENCODED_FEATURES, INPUT_FEATURES, encode
from shared.limits import MEASUREMENTS, SPECIES
from shared.model import (
    MODEL_NAME,
    ModelArtifactError,
    PenguinModel,
    artifact_paths,
    feature_problem,
    model_input_of,
    sha256_of,
)
from shared.settings import MODEL_NAMES, Settings

# Bump when the data, features or estimators change: clients see it in every prediction.
MODEL_VERSION = "1.0.0"
RANDOM_STATE = 42
TEST_SIZE = 0.25
MIN_ACCURACY = 0.95
# The models of increasing cost, by MODEL_NAMES: how much of the frameworks' difference survives a model that
# costs milliseconds? The first is the default every published figure is for.
ESTIMATORS: dict[str, Callable[[], Any]] = dict(
    zip(
        MODEL_NAMES,
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
            lambda: HistGradientBoostingClassifier(random_state=RANDOM_STATE),
            lambda: RandomForestClassifier(n_estimators=100, random_state=RANDOM_STATE),
            lambda: RandomForestClassifier(n_estimators=500, random_state=RANDOM_STATE),
        ),
        strict=True,
    )
)
# The cards' cost: CPU per call of PenguinModel.predict_many on this many penguins, the fastest of
# COST_REPEATS runs of at least COST_MIN_S of CPU each (a few seconds of `make model` for the four models).
COST_ROWS = {"cpu_us_1_row": 1, "cpu_us_100_rows": 100}
COST_REPEATS = 5
COST_MIN_S = 0.05


def load_training_data() -> tuple[list[dict[str, Any]], list[str]]:
    """Rows with every measurement; a missing sex stays missing, as clients may send it."""
    frame: pd.DataFrame = load_penguins().dropna(subset=list(MEASUREMENTS))
    frame = frame.astype({"sex": object}).where(frame.notna(), None)
    penguins = frame[INPUT_FEATURES].to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in penguins], frame["species"].tolist()


@dataclass(frozen=True)
class Split:
    """The one held-out split every model is trained and scored on."""

    x_train: npt.NDArray[np.float64]
    x_test: npt.NDArray[np.float64]
    y_train: npt.NDArray[np.str_]
    y_test: npt.NDArray[np.str_]


def split() -> Split:
    penguins, species = load_training_data()
    x_train, x_test, y_train, y_test = train_test_split(
        encode(penguins),
        np.array(species),
        test_size=TEST_SIZE,
        random_state=RANDOM_STATE,
        stratify=species,
    )
    return Split(x_train, x_test, y_train, y_test)


def fit(name: str, data: Split) -> Any:
    """The model `name` fitted on the split's training part, on one thread as it is served (shared.model)."""
    with threadpool_limits(limits=1):
        return ESTIMATORS[name]().fit(data.x_train, data.y_train)


def train(name: str = MODEL_NAME) -> tuple[Any, dict[str, Any]]:
    data = split()
    estimator = fit(name, data)
    return estimator, card_for(estimator, name, data)


def card_for(estimator: Any, name: str, data: Split, version: str = MODEL_VERSION) -> dict[str, Any]:
    """What the model is, how accurate on the held-out part of the split, and its CPU per call here."""
    if problem := feature_problem(estimator):
        raise ModelArtifactError(f"The model {name} cannot be served: it {problem}.")
    accuracy = float(accuracy_score(data.y_test, estimator.predict(model_input_of(estimator)(data.x_test))))
    return {
        "name": name,
        "version": version,
        "classes": list(SPECIES),
        "features": INPUT_FEATURES,
        "encoded_features": ENCODED_FEATURES,
        "metrics": {"accuracy": round(accuracy, 4), "n_train": len(data.y_train), "n_test": len(data.y_test)},
        "training": {
            "data": "palmerpenguins",
            "test_size": TEST_SIZE,
            "random_state": RANDOM_STATE,
        },
        "estimator": " + ".join(type(step).__name__ for step in steps_of(estimator).values()),
        "parameters": parameters_of(estimator),
        "cost": cost_of(PenguinModel(estimator, {"version": version})),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }


def steps_of(estimator: Any) -> dict[str, Any]:
    """A pipeline's estimators by step name; a lone estimator by its class name."""
    if isinstance(estimator, Pipeline):
        return {name: step for name, step in estimator.steps if hasattr(step, "get_params")}
    return {type(estimator).__name__: estimator}


def parameters_of(estimator: Any) -> dict[str, dict[str, Any]]:
    """Each step's parameters that differ from its defaults (what scikit-learn's repr shows), JSON-safe."""
    parameters = {}
    for name, step in steps_of(estimator).items():
        try:
            defaults = type(step)().get_params(deep=False)
        except TypeError:  # a step whose class needs arguments: every parameter is shown
            defaults = {}
        parameters[name] = {
            key: value if isinstance(value, str | int | float | bool | None) else repr(value)
            for key, value in step.get_params(deep=False).items()
            if key not in defaults or repr(value) != repr(defaults[key])
        }
    return parameters


def cpu_us_per_call(call: Callable[[], object]) -> float:
    """CPU microseconds per call, the fastest of COST_REPEATS runs of at least COST_MIN_S of CPU each.

    CPU time (time.process_time), not wall time: what the bench compares with the servers' CPU per request.
    The fastest run, as the bench's in-process figures: a busy host (other processes on the other core, the
    CPU's speed moving) only ever adds time. On this project's 2 busy cores, the median moved nearly 2x
    from one `make model` to the next.
    """
    call()  # warm caches and lazy imports
    samples = []
    for _ in range(COST_REPEATS):
        calls, start = 0, time.process_time()
        while (spent := time.process_time() - start) < COST_MIN_S:
            call()
            calls += 1
        samples.append(spent / calls * 1e6)
    return round(min(samples), 1)


def cost_of(model: PenguinModel) -> dict[str, Any]:
    """CPU per call of predict_many on 1 and on 100 penguins (encoding included), as the services call it."""
    with threadpool_limits(limits=1):
        figures = {
            key: cpu_us_per_call(partial(model.predict_many, batch_of(rows)["items"]))
            for key, rows in COST_ROWS.items()
        }
    return {**figures, "repeats": COST_REPEATS, "threads": 1, "cpu": cpu_name()}


def cpu_name() -> str:
    """The CPU the costs were measured on: they hold for it alone."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def save(estimator: Any, card: dict[str, Any], model_dir: Path) -> Path:
    """The estimator and its card (card_for), as `<name>.joblib` and `<name>.json` in model_dir."""
    model_dir.mkdir(parents=True, exist_ok=True)
    estimator_path, card_path = artifact_paths(model_dir, card["name"])
    joblib.dump(estimator, estimator_path)
    card_path.write_text(
        json.dumps({**card, "sha256": sha256_of(estimator_path.read_bytes())}, indent=2) + "\n"
    )
    return card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Settings.from_env().model_dir)
    args = parser.parse_args(argv)
    data = split()
    # The default model last: its card is the file the Makefile's model rule checks the sources against.
    for name in (*MODEL_NAMES[1:], MODEL_NAME):
        estimator = fit(name, data)
        card = card_for(estimator, name, data)
        accuracy, cost = card["metrics"]["accuracy"], card["cost"]
        if accuracy < MIN_ACCURACY:
            print(
                f"{name}: held-out accuracy {accuracy:.4f} is below {MIN_ACCURACY}; not saved.",
                file=sys.stderr,
            )
            return 1
        card_path = save(estimator, card, args.model_dir)
        print(
            f"Trained {name} {MODEL_VERSION} ({card['estimator']}): held-out accuracy {accuracy:.4f}, "
            f"CPU per call {cost['cpu_us_1_row']:.0f} us for 1 row, {cost['cpu_us_100_rows']:.0f} us for 100 "
            f"rows -> {card_path}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
