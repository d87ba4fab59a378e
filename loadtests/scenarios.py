"""The scenarios as data: what each sends, and how much model work each request carries.

Imported by the Locust file and by the bench runner alike; it imports no Locust (which patches the standard
library with gevent on import), so the runner can read it safely.
"""

from dataclasses import dataclass

# Locust request names: one row each in Locust's statistics, whatever the scenario.
HEALTH = "GET /health"
PREDICT = "POST /predict"
BATCH = "POST /predict/batch"
INVALID = "POST /predict (invalid)"
IO = "GET /penguins/{id}/prediction"

BATCH_SIZE = 100

# The model's work behind one request of each name, as the micro-benchmark names it (None: no model call).
MODEL_WORK: dict[str, str | None] = {
    HEALTH: None,
    PREDICT: "predict_one",
    BATCH: f"predict_many_{BATCH_SIZE}",
    INVALID: None,
    IO: "predict_one",
}

# The mixed scenario: mostly single predictions, some health probes, a few client errors and batches.
MIXED_WEIGHTS: dict[str, int] = {PREDICT: 70, HEALTH: 15, INVALID: 10, BATCH: 5}


UPSTREAM = "upstream"
# What a scenario's requests mostly cost the server: CPU (the model, validation, the framework) or waiting on
# I/O (the upstream). The server variants (loadtests/bench/plan/variants.py) say which they are for.
CPU, IO_BOUND = "cpu", "io"


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: str  # in loadtests/locustfile.py
    description: str
    # Names of auxiliary processes the scenario needs running: "upstream", the observation service.
    auxiliaries: tuple[str, ...] = ()
    kind: str = CPU
    # io is measured at capacity only: what it compares is how many requests each server keeps in flight
    # while they wait, against the Little's-law bound, and the slowest variant (about 20 requests/s) would
    # set the rates of a latency curve.
    curve: bool = True


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("health", "HealthUser", "GET /health: the framework's floor, no model, no validation"),
        Scenario("predict", "PredictUser", "POST /predict with one known penguin, species checked"),
        Scenario(
            "batch",
            "BatchUser",
            f"POST /predict/batch with {BATCH_SIZE} penguins: validation-heavy, one model call",
        ),
        Scenario("invalid", "InvalidUser", "POST /predict with a penguin wrong in every field: must be 422"),
        Scenario(
            "mixed",
            "MixedUser",
            "weighted mix: " + ", ".join(f"{weight}% {name}" for name, weight in MIXED_WEIGHTS.items()),
        ),
        Scenario(
            "io",
            "IoUser",
            "GET /penguins/{id}/prediction: the service waits on the upstream (UPSTREAM_LATENCY_MS), then "
            "predicts; the species checked against the row's label",
            auxiliaries=(UPSTREAM,),
            kind=IO_BOUND,
            curve=False,
        ),
    )
}
