"""Verify before measuring: the contract checks, live, against each server the bench started.

A service that fails any check is not benchmarked, and the report says which check failed and how.
The checks on successful answers are the ones the Locust users apply to every response (loadtests/checks.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from loadtests.checks import (
    Problem,
    check_batch,
    check_health,
    check_invalid,
    check_penguin_prediction,
    check_prediction,
    labelled_rows,
    status_problem,
)
from loadtests.scenarios import BATCH_SIZE
from shared.examples import INVALID_PENGUIN, KNOWN_PENGUINS, batch_of, expected_species_of_batch
from shared.limits import SPECIES


@dataclass(frozen=True)
class CheckResult:
    name: str
    problem: Problem

    @property
    def passed(self) -> bool:
        return self.problem is None


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def detail_problem(response: httpx.Response, status: int, detail: str | None = None) -> Problem:
    """An error answer: the status, and a JSON body that is {"detail": str} (that string, if given)."""
    if problem := status_problem(response.status_code, status):
        return problem
    body = body_of(response)
    if not isinstance(body, dict) or set(body) != {"detail"} or not isinstance(body["detail"], str):
        return f"error body {body!r}"
    return None if detail is None or body["detail"] == detail else f"detail {body['detail']!r}"


def model_card_problem(response: httpx.Response) -> Problem:
    if problem := status_problem(response.status_code, 200):
        return problem
    card = body_of(response)
    if not isinstance(card, dict) or not {"name", "version", "classes", "features", "metrics"} <= set(card):
        return f"model card {card!r}"
    return None if card["classes"] == list(SPECIES) else f"classes {card['classes']!r}"


def contract_checks(
    client: httpx.Client, more: list[tuple[str, Callable[[], Problem]]] | None = None
) -> list[CheckResult]:
    """Each check sends one request and judges its answer; `more` are checks of the same kind."""
    checks: list[tuple[str, Callable[[], Problem]]] = [
        ("GET /health", lambda: check_health(*answer(client.get("/health")))),
        ("GET /model", lambda: model_card_problem(client.get("/model"))),
        *[
            (
                f"POST /predict ({species})",
                lambda species=species, penguin=penguin: check_prediction(
                    *answer(client.post("/predict", json=penguin)), species
                ),
            )
            for species, penguin in KNOWN_PENGUINS.items()
        ],
        (
            f"POST /predict/batch ({BATCH_SIZE} items)",
            lambda: check_batch(
                *answer(client.post("/predict/batch", json=batch_of(BATCH_SIZE))),
                expected_species_of_batch(BATCH_SIZE),
            ),
        ),
        (
            "POST /predict invalid -> 422",
            lambda: check_invalid(*answer(client.post("/predict", json=INVALID_PENGUIN))),
        ),
        (
            "POST /predict/batch empty -> 422",
            lambda: status_problem(client.post("/predict/batch", json={"items": []}).status_code, 422),
        ),
        (
            "POST /predict text/plain -> 415",
            lambda: detail_problem(
                client.post("/predict", content=b"{}", headers={"Content-Type": "text/plain"}), 415
            ),
        ),
        (
            "POST /predict 2 MiB -> 413",
            # On a connection of its own: Flask under gunicorn's gthread worker answers 413 "keep-alive"
            # without reading the body, then drops the connection, which would fail the next check.
            lambda: detail_problem(
                httpx.post(
                    client.base_url.join("/predict"),
                    content=b" " * (2 << 20),
                    headers={"Content-Type": "application/json"},
                    timeout=10,
                ),
                413,
            ),
        ),
        ("GET /nowhere -> 404", lambda: detail_problem(client.get("/nowhere"), 404, "Not Found")),
        (
            "DELETE /predict -> 405",
            lambda: detail_problem(client.delete("/predict"), 405, "Method Not Allowed"),
        ),
        *(more or []),
    ]
    results = []
    for name, check in checks:
        try:
            problem = check()
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(name, problem))
    return results


def upstream_checks(client: httpx.Client) -> list[tuple[str, Callable[[], Problem]]]:
    """GET /penguins/{id}/prediction through the bench's upstream: one row of each species, a row with a
    missing measurement (the upstream's 404) and an id that is not positive (422)."""
    rows = labelled_rows()
    firsts = {species: row_id for row_id, species in sorted(rows.items(), reverse=True)}
    missing = min(set(range(1, max(rows) + 1)) - set(rows))
    return [
        *[
            (
                f"GET /penguins/{row_id}/prediction ({species})",
                lambda row_id=row_id, species=species: check_penguin_prediction(
                    *answer(client.get(f"/penguins/{row_id}/prediction")), row_id, species
                ),
            )
            for species, row_id in sorted(firsts.items())
        ],
        (
            f"GET /penguins/{missing}/prediction (no observation) -> 404",
            lambda: detail_problem(client.get(f"/penguins/{missing}/prediction"), 404),
        ),
        (
            "GET /penguins/0/prediction -> 422",
            lambda: status_problem(client.get("/penguins/0/prediction").status_code, 422),
        ),
    ]


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, body_of(response)


def verify(url: str, upstream: bool = False) -> list[CheckResult]:
    """The contract checks; with `upstream` (one runs for the server), GET /penguins/{id}/prediction too."""
    with httpx.Client(base_url=url, timeout=10) as client:
        return contract_checks(client, upstream_checks(client) if upstream else [])
