"""What a right answer is, for each request the load tests send: a wrong answer counts as a failure.

Pure functions of (status, body) that return what is wrong, or None. The Locust users and the live contract
checks that run before any measurement (loadtests/bench/targets/verify.py) share them.
"""

import json
import math
from typing import Any

from shared.examples import INVALID_PENGUIN_ERRORS
from shared.limits import SPECIES
from shared.observations import observations

Problem = str | None

# The rows (of the upstream's 342 complete ones) whose label the model does not predict: left out of the load,
# so that a wrong species in an answer is a bug, never the model's error. tests/test_bench.py checks the list.
MODEL_MISSES = frozenset({307})


def parse(body: bytes | str | None) -> Any:
    """The JSON body, or None when there is none or it is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def status_problem(status: int, expected: int) -> Problem:
    return None if status == expected else f"status {status}, expected {expected}"


def check_health(status: int, body: Any) -> Problem:
    if problem := status_problem(status, 200):
        return problem
    return None if body == {"status": "ok"} else f"health body {body!r}"


def probabilities_problem(prediction: Any, expected_species: str) -> Problem:
    if not isinstance(prediction, dict):
        return "prediction is not an object"
    probabilities = prediction.get("probabilities")
    if not isinstance(probabilities, dict) or sorted(probabilities) != sorted(SPECIES):
        return f"probabilities {probabilities!r}"
    values = list(probabilities.values())
    if not all(isinstance(p, float | int) and 0 <= p <= 1 for p in values) or not math.isclose(
        sum(values), 1, abs_tol=1e-6
    ):
        return f"probabilities do not sum to 1: {probabilities!r}"
    if prediction.get("species") != expected_species:
        return f"species {prediction.get('species')!r}, expected {expected_species!r}"
    return None


def check_prediction(status: int, body: Any, expected_species: str) -> Problem:
    if problem := status_problem(status, 200):
        return problem
    if not isinstance(body, dict) or set(body) != {"species", "probabilities", "model_version"}:
        return f"prediction keys {sorted(body) if isinstance(body, dict) else body!r}"
    if not isinstance(body["model_version"], str):
        return "model_version is not a string"
    return probabilities_problem(body, expected_species)


def check_penguin_prediction(status: int, body: Any, penguin_id: int, expected_species: str) -> Problem:
    """GET /penguins/{id}/prediction: the prediction for that row, its species the row's label."""
    if problem := status_problem(status, 200):
        return problem
    if not isinstance(body, dict) or set(body) != {"penguin_id", "species", "probabilities", "model_version"}:
        return f"prediction keys {sorted(body) if isinstance(body, dict) else body!r}"
    if body["penguin_id"] != penguin_id:
        return f"penguin_id {body['penguin_id']!r}, expected {penguin_id}"
    return probabilities_problem(body, expected_species)


def labelled_rows() -> dict[int, str]:
    """Row id -> species label, for every row the upstream serves, but MODEL_MISSES."""
    return {row_id: row["species"] for row_id, row in observations().items() if row_id not in MODEL_MISSES}


def check_batch(status: int, body: Any, expected_species: list[str]) -> Problem:
    if problem := status_problem(status, 200):
        return problem
    if not isinstance(body, dict) or set(body) != {"model_version", "predictions"}:
        return f"batch keys {sorted(body) if isinstance(body, dict) else body!r}"
    predictions = body["predictions"]
    if not isinstance(predictions, list) or len(predictions) != len(expected_species):
        count = len(predictions) if isinstance(predictions, list) else "no"
        return f"{count} predictions, expected {len(expected_species)}"
    for index, (prediction, species) in enumerate(zip(predictions, expected_species, strict=True)):
        if problem := probabilities_problem(prediction, species):
            return f"item {index}: {problem}"
    return None


def check_invalid(status: int, body: Any) -> Problem:
    """The 422 for shared.examples.INVALID_PENGUIN: every problem reported, with loc, msg and type only."""
    if problem := status_problem(status, 422):
        return problem
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list) or not all(
        isinstance(error, dict) and set(error) == {"loc", "msg", "type"} for error in detail
    ):
        return f"422 body {body!r}"
    reported = sorted((str(error["loc"][-1]), str(error["type"])) for error in detail)
    if reported != sorted(INVALID_PENGUIN_ERRORS):
        return f"422 errors {reported}, expected {sorted(INVALID_PENGUIN_ERRORS)}"
    return None
