"""The checks of each lab: steps in order, each a sentence and a function that raises NotYet with a hint.

Every step asks the lab's apps (Flask's and FastAPI's; all three for lab 6) the same thing through the test
suite's ApiClient, and most compare the answers as the parity suite does: a lab is done when the change is
right on every side and they agree.
"""

import importlib
import inspect
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.routing import APIRoute

from shared.examples import EXAMPLE_PENGUIN, batch_of
from shared.limits import PENGUIN_FIELDS
from shared.observations import observations
from shared.settings import Settings
from tests.clients import FastAPIClient
from tests.servers import free_port
from workshop.probe import (
    SERVER_TIMING,
    Both,
    NotYet,
    both_apps,
    expect_same,
    expect_status,
    first_difference,
    shown,
)

Step = tuple[str, Callable[[], None]]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def spec_operation(both: Both, name: str, hints: dict[str, str]) -> None:
    """`name` ("GET /species") is in both specs, described the same way."""
    missing = [
        f"{fw}: {name} is not in its spec. {hints[fw]}" for fw in hints if name not in both.operations(fw)
    ]
    if missing:
        raise NotYet("\n".join(missing))
    operations = both.operations("flask")[name], both.operations("fastapi")[name]
    difference = first_difference(*operations, name, ordered=False)
    if difference:
        hint = " It comes from the docstring on both sides." if f"{name}.summary" in difference else ""
        raise NotYet(f"the two specs describe it differently at {difference}.{hint}")


# Lab 1: GET /species --------------------------------------------------------------------------------------


def lab1_steps(both: Both) -> list[Step]:
    def answers() -> None:
        expect_status(
            both.request("GET", "/species"),
            200,
            "GET /species",
            {
                "flask": 'Add a Resource class on `ns` with @ns.route("/species") and a `get` method in '
                "flask_service/routes.py (see how ModelCard is declared).",
                "fastapi": 'Add a function decorated with @router.get("/species") in '
                "fastapi_service/routes.py (see model_card).",
            },
        )

    def body() -> None:
        expected = {"species": both.request("GET", "/model")["fastapi"].json()["classes"]}
        for framework, reply in both.request("GET", "/species").items():
            if reply.json() != expected:
                raise NotYet(
                    f"{framework}: the body is {reply.json()}, expected {expected}: the model's classes, in "
                    "order (the app's model: penguin_model_of_app() on Flask, the PenguinModelDep "
                    "dependency on FastAPI). Declare the response's shape too: a restx Model with "
                    "marshal_with on Flask, a pydantic model as the function's return type on FastAPI."
                )

    def same() -> None:
        expect_same(both.request("GET", "/species"), "GET /species")

    def other_methods() -> None:
        replies = both.request("POST", "/species", json={})
        expect_status(replies, 405, "POST /species", {})
        for framework, reply in replies.items():
            if reply.headers.get("allow") != "GET":
                raise NotYet(f"{framework}: a 405 for POST /species says Allow: {reply.headers.get('allow')}")

    def documented() -> None:
        spec_operation(
            both,
            "GET /species",
            {
                "flask": "restx documents the Resource's method; is the class on `ns`?",
                "fastapi": "Is the route on `router`, without include_in_schema=False?",
            },
        )

    return [
        ("GET /species answers 200 on both services", answers),
        ('the body is {"species": [...]}, the model\'s classes in order', body),
        ("both answer with the same status and body", same),
        ("POST /species is a 405 with Allow: GET on both", other_methods),
        ("GET /species is in both specs, described the same way", documented),
    ]


# Lab 2: the optional `year` field -------------------------------------------------------------------------


def post_penguin(both: Both, **fields: Any) -> dict[str, Any]:
    penguin = {**EXAMPLE_PENGUIN, **fields}
    return both.request("POST", "/predict", json={k: v for k, v in penguin.items() if v is not ...})


BAD_YEARS: list[tuple[Any, str]] = [
    ("2008", "int_type"),
    (2008.5, "int_type"),
    (2006, "greater_than_equal"),
    (2010, "less_than_equal"),
]


def lab2_steps(both: Both) -> list[Step]:
    def accepted() -> None:
        expect_status(
            post_penguin(both, year=2008),
            200,
            "POST /predict with year 2008",
            {
                "flask": "marshmallow validates on the Flask side: add a `year` field to PenguinSchema in "
                "flask_service/schemas.py (and to the restx penguin_model, which documents it).",
                "fastapi": "Add `year` to the Penguin model in fastapi_service/schemas.py.",
            },
        )

    def optional() -> None:
        expect_status(
            post_penguin(both, year=...),
            200,
            "POST /predict without a year",
            {
                "flask": "load_default=None makes it optional.",
                "fastapi": "A default of None makes it optional.",
            },
        )
        expect_status(
            post_penguin(both, year=None),
            200,
            "POST /predict with year null",
            {"flask": "allow_none=True lets it be null.", "fastapi": "Type it `int | None`."},
        )

    def whole() -> None:
        expect_status(
            post_penguin(both, year=2008.0),
            200,
            "POST /predict with year 2008.0",
            {
                "flask": "JSON Schema's integer includes 2008.0 (Schemathesis, in make test, sends it): "
                "turn a whole float into an int before marshmallow's strict Integer sees it.",
                "fastapi": "JSON Schema's integer includes 2008.0 (Schemathesis, in make test, sends it): "
                "a BeforeValidator can turn a whole float into an int before the strict check.",
            },
        )

    def unchanged() -> None:
        with_year, without = post_penguin(both, year=2008), post_penguin(both, year=...)
        for framework in with_year:
            if with_year[framework].json() != without[framework].json():
                raise NotYet(f"{framework}: the prediction changed with a year; the model does not use it")

    def refused() -> None:
        for year, error_type in BAD_YEARS:
            replies = post_penguin(both, year=year)
            for framework, reply in replies.items():
                body = reply.json() if reply.status == 422 else None
                types = [(e["loc"], e["type"]) for e in body["detail"]] if body else None
                if types != [(["body", "year"], error_type)]:
                    raise NotYet(
                        f"{framework}: year {year!r} answered {shown(reply)}; expected a 422 with one error "
                        f"at ['body', 'year'] of type {error_type!r}, as pydantic names it (an integer, "
                        "strictly: no strings or fractions; 2007 to 2009). On Flask, ContractSchema reports "
                        "what flask_service/contract.py's MESSAGES knows: a new type needs its sentence."
                    )
            expect_same(replies, f"year {year!r}")
        batch = {"items": [{**EXAMPLE_PENGUIN, "year": "2008"}]}
        expect_same(both.request("POST", "/predict/batch", json=batch), "a batch item with year '2008'")

    def documented() -> None:
        found = {}
        for framework in ("flask", "fastapi"):
            body = both.operations(framework)["POST /predict"]["body"]
            year = body["properties"].get("year")
            if year is None or year.get("type") != "integer" or not year.get("nullable"):
                raise NotYet(
                    f"{framework}: the spec's Penguin says year is {year}; expected an integer that may be "
                    "null. On Flask the restx model documents it (Swagger 2.0 says null with x-nullable, as "
                    "NullableString does); on FastAPI the pydantic model."
                )
            if "year" in body.get("required", []):
                raise NotYet(f"{framework}: the spec lists year as required")
            found[framework] = year
        difference = first_difference(found["flask"], found["fastapi"], "year")
        if difference:
            raise NotYet(f"the two specs document year differently: {difference}")

    return [
        ("a Penguin with year 2008 is accepted on both", accepted),
        ("year is optional and may be null", optional),
        ("2008.0 is 2008: JSON Schema's integer includes it", whole),
        ("the year does not change the prediction", unchanged),
        ("bad years get the same 422 on both (a string, a fraction, 2006, 2010, in a batch)", refused),
        ("both specs document year as an optional, nullable integer, the same way", documented),
    ]


# Lab 3: tags in the interactive docs ----------------------------------------------------------------------


def tags_of(both: Both, framework: str) -> dict[str, list[str]]:
    found = {}
    for path, methods in both.spec(framework)["paths"].items():
        for method, operation in methods.items():
            if method != "parameters":
                found[f"{method.upper()} {path}"] = operation.get("tags", [])
    return found


OPS = {"GET /health", "GET /model"}


def lab3_steps(both: Both) -> list[Step]:
    def ops_tagged() -> None:
        wrong: list[str] = []
        for framework in ("flask", "fastapi"):
            tags = tags_of(both, framework)
            wrong.extend(
                f"{framework}: {name} is tagged {tags[name]}" for name in sorted(OPS) if tags[name] != ["ops"]
            )
        if wrong:
            raise NotYet(
                "\n".join(wrong)
                + "\nExpected exactly ['ops']. Flask: a second Namespace('ops', path='/') for "
                "Health and ModelCard, added to the Api in flask_service/app.py. FastAPI: a second "
                "APIRouter(tags=['ops']) included in the app (tags on a route add to its router's)."
            )

    def others_tagged() -> None:
        for framework in ("flask", "fastapi"):
            for name, tags in tags_of(both, framework).items():
                if name.split(" ", 1)[1] not in ("/health", "/model") and tags != ["penguins"]:
                    raise NotYet(
                        f"{framework}: {name} is tagged {tags}; the other operations stay ['penguins']"
                    )

    def described() -> None:
        found = {}
        for framework in ("flask", "fastapi"):
            listed = {tag["name"]: tag.get("description", "") for tag in both.spec(framework).get("tags", [])}
            missing = [name for name in ("penguins", "ops") if not listed.get(name)]
            if missing:
                hint = {
                    "flask": "a Namespace's description is its tag's.",
                    "fastapi": "FastAPI(openapi_tags=[{'name': ..., 'description': ...}, ...]) in "
                    "fastapi_service/app.py.",
                }[framework]
                raise NotYet(f"{framework}: the spec's tags have no description for {missing}: {hint}")
            found[framework] = {name: listed[name] for name in ("penguins", "ops")}
        difference = first_difference(found["flask"], found["fastapi"], "tags")
        if difference:
            raise NotYet(f"the tags are described differently: {difference}. Keep the text in one place.")

    def still_answer() -> None:
        for path in ("/health", "/model"):
            replies = both.request("GET", path)
            expect_status(replies, 200, f"GET {path}", {})
            expect_same(replies, f"GET {path}")

    def pages() -> None:
        for page in ("/docs", "/redoc"):
            expect_status(both.request("GET", page), 200, f"GET {page}", {})

    return [
        ("GET /health and GET /model are under the `ops` tag in both specs", ops_tagged),
        ("every other operation stays under `penguins`", others_tagged),
        ("both specs describe both tags, with the same words", described),
        ("GET /health and GET /model still answer the same", still_answer),
        ("Swagger UI and ReDoc still load on both", pages),
    ]


# Lab 4: GET /penguins/{penguin_id}/observation, async on FastAPI ------------------------------------------

OBSERVATION = "/penguins/{}/observation"


def expected_observation(penguin_id: int) -> dict[str, Any]:
    row = observations()[penguin_id]
    return {"penguin_id": penguin_id, **{name: row[name] for name in PENGUIN_FIELDS}}


@contextmanager
def quiet_flask() -> Iterator[None]:
    """Flask logs a traceback for every 5xx it answers, 503s included; not wanted in a check's output."""
    logger = logging.getLogger("flask_service.app")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # Recent FastAPI keeps an included router as one entry (`original_router`), not a copy of its routes.
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def fastapi_endpoint(both: Both, path: str) -> Callable[..., Any] | None:
    client = both.clients["fastapi"]
    assert isinstance(client, FastAPIClient)
    for route in api_routes(client.client.app.routes):  # type: ignore[attr-defined]
        if route.path == path:
            return route.endpoint
    return None


def lab4_steps(both: Both) -> list[Step]:
    def answers() -> None:
        expect_status(
            both.request("GET", OBSERVATION.format(1)),
            200,
            f"GET {OBSERVATION.format(1)}",
            {
                "flask": 'Add a Resource on `ns` with @ns.route("/penguins/<penguin_id>/observation") in '
                "flask_service/routes.py: PenguinPrediction shows how to fetch and validate the id.",
                "fastapi": "Add an `async def` view with "
                '@router.get("/penguins/{penguin_id}/observation") in fastapi_service/routes.py: '
                "penguin_prediction shows how to await the upstream.",
            },
        )

    def body() -> None:
        for penguin_id in (1, 9, 153, 277):  # Adelie (9 with no sex recorded), Gentoo, Chinstrap
            replies = both.request("GET", OBSERVATION.format(penguin_id))
            expected = expected_observation(penguin_id)
            for framework, reply in replies.items():
                difference = first_difference(reply.json(), expected, names=(framework, "expected"))
                if difference:
                    raise NotYet(
                        f"{framework}: penguin {penguin_id}: {difference}. "
                        f"Expected {expected}: penguin_id, then the Penguin's fields in their usual order "
                        "(observed_penguin gives them)."
                    )
            expect_same(replies, f"penguin {penguin_id}")

    def errors() -> None:
        for penguin_id, status in (("4", 404), ("0", 422), ("x", 422), ("1.5", 422)):
            path = OBSERVATION.format(penguin_id)
            replies = both.request("GET", path)
            expect_status(
                replies, status, f"GET {path}", {"flask": "load_path_param validates the id on Flask."}
            )
            expect_same(replies, f"GET {path}")

    def unavailable() -> None:
        with quiet_flask(), both_apps(Settings(upstream_url=f"http://127.0.0.1:{free_port()}")) as down:
            replies = down.request("GET", OBSERVATION.format(1))
        expect_status(
            replies,
            503,
            "with the upstream down, the request",
            {
                "flask": "error_for_transport maps httpx2's errors.",
                "fastapi": "error_for_transport maps httpx2's errors.",
            },
        )
        expect_same(replies, "with the upstream down")

    def documented() -> None:
        spec_operation(
            both,
            "GET /penguins/{penguin_id}/observation",
            {
                "flask": "Document the id (@ns.param on the method) and the errors "
                "(@ns.doc(responses=UPSTREAM_ERRORS)) as PenguinPrediction does.",
                "fastapi": "Document errors with responses=UPSTREAM_ERRORS, as penguin_prediction does.",
            },
        )

    def is_async() -> None:
        endpoint = fastapi_endpoint(both, "/penguins/{penguin_id}/observation")
        if endpoint is None or not inspect.iscoroutinefunction(endpoint):
            raise NotYet(
                "fastapi: the view is a plain `def`. It works, but FastAPI runs it in its thread pool, where "
                "each waiting request holds one of 40 threads. Make it `async def` and `await` the app's "
                "httpx2.AsyncClient (the UpstreamDep dependency)."
            )

    return [
        (f"GET {OBSERVATION.format(1)} answers 200 on both", answers),
        ("the body is the upstream's observation, the same on both", body),
        ("404 for a penguin without an observation, 422 for a bad id, the same on both", errors),
        ("503 on both when the upstream is down", unavailable),
        ("both specs document it the same way", documented),
        ("FastAPI's view is `async def`", is_async),
    ]


# Lab 5: the Server-Timing header --------------------------------------------------------------------------


def model_ms(framework: str, reply: Any, what: str) -> float:
    value = reply.headers.get("server-timing")
    if value is None:
        hint = {
            "flask": "Return (body, 200, {'Server-Timing': ...}) from the view: marshal_with shapes the body "
            "and passes the status and headers through.",
            "fastapi": "Take a `response: Response` parameter and set response.headers['Server-Timing'].",
        }[framework]
        raise NotYet(f"{framework}: {what} answered {reply.status} without a Server-Timing header. {hint}")
    match = SERVER_TIMING.fullmatch(value.strip())
    if match is None:
        raise NotYet(
            f"{framework}: {what}: Server-Timing is {value!r}; expected 'model;dur=<milliseconds>', e.g. "
            "'model;dur=0.412' (shared/ is the place for the one function both sides call)."
        )
    return float(match.group(1))


def lab5_steps(both: Both) -> list[Step]:
    def timed(replies: dict[str, Any], what: str) -> None:
        problems = []
        for framework, reply in replies.items():
            try:
                model_ms(framework, reply, what)
            except NotYet as problem:
                problems.append(str(problem))
        if problems:
            raise NotYet("\n".join(problems))

    def on_predict() -> None:
        timed(post_penguin(both), "POST /predict")

    def on_batch() -> None:
        timed(both.request("POST", "/predict/batch", json=batch_of(10)), "POST /predict/batch")

    def only_when_the_model_ran() -> None:
        probes = {
            "a 422 (POST /predict with {})": both.request("POST", "/predict", json={}),
            "GET /health": both.request("GET", "/health"),
        }
        for what, replies in probes.items():
            for framework, reply in replies.items():
                if "server-timing" in reply.headers:
                    raise NotYet(f"{framework}: {what} has a Server-Timing header, but the model did not run")

    def bodies() -> None:
        expect_same(post_penguin(both), "POST /predict")
        expect_same(both.request("POST", "/predict/batch", json=batch_of(10)), "POST /predict/batch")

    return [
        ("POST /predict answers with Server-Timing: model;dur=<ms> on both", on_predict),
        ("POST /predict/batch too", on_batch),
        ("no Server-Timing when the model did not run (a 422, GET /health)", only_when_the_model_ran),
        ("the bodies are unchanged and the same on both", bodies),
    ]


# Lab 6: a `confidence` in every prediction, on all three services -------------------------------------------

CONFIDENCE_HINTS = {
    "flask": "flask-restx shapes the answer from its models: add `confidence` (fields.Float, required, "
    "described) to species_model in flask_service/schemas.py (Prediction's model is a clone of it) and set "
    "it in the views.",
    "fastapi": "Declare `confidence: float` on Species in fastapi_service/schemas.py, after probabilities "
    "(Prediction inherits it), and set it in the views; the model's result (shared/model.py's Prediction) is "
    "the one place to compute it for every service.",
    "flask_openapi": "The same lines as FastAPI's, in flask_openapi_service/schemas.py and routes.py.",
}


def expect_confidence(replies: dict[str, Any], what: str) -> None:
    """Every prediction in each reply has a `confidence`: its highest probability."""
    problems = []
    for framework, reply in replies.items():
        body = reply.json()
        for prediction in body.get("predictions", [body]):
            confidence = prediction.get("confidence")
            highest = max(prediction["probabilities"].values())
            if confidence is None:
                problems.append(
                    f"{framework}: {what} answered {shown(reply)} without a `confidence`. "
                    f"{CONFIDENCE_HINTS[framework]}"
                )
            elif not math.isclose(confidence, highest, rel_tol=1e-12):
                problems.append(
                    f"{framework}: {what}: confidence {confidence}, highest probability {highest}"
                )
            else:
                continue
            break
    if problems:
        raise NotYet("\n".join(problems))


def lab6_steps(both: Both) -> list[Step]:
    def on_predict() -> None:
        replies = post_penguin(both)
        expect_status(replies, 200, "POST /predict", {})
        expect_confidence(replies, "POST /predict")

    def on_batch() -> None:
        replies = both.request("POST", "/predict/batch", json=batch_of(5))
        expect_status(replies, 200, "POST /predict/batch", {})
        expect_confidence(replies, "POST /predict/batch")

    def same() -> None:
        expect_same(post_penguin(both), "POST /predict")
        expect_same(both.request("POST", "/predict/batch", json=batch_of(5)), "POST /predict/batch")

    def documented() -> None:
        for framework in both.clients:
            operations = both.operations(framework)
            shapes = {
                "Prediction": operations["POST /predict"]["responses"]["200"],
                "Species": operations["POST /predict/batch"]["responses"]["200"]["properties"]["predictions"][
                    "items"
                ],
            }
            for name, shape in shapes.items():
                field = shape["properties"].get("confidence")
                if field is None or field.get("type") != "number" or "confidence" not in shape["required"]:
                    raise NotYet(
                        f"{framework}: the spec's {name} says confidence is {field}, required: "
                        f"{'confidence' in shape['required']}; expected a required number. "
                        f"{CONFIDENCE_HINTS[framework]}"
                    )
        for framework in both.clients:
            difference = first_difference(
                both.operations(framework), both.operations("fastapi"), "spec", (framework, "fastapi"), False
            )
            if difference:
                raise NotYet(f"the specs describe the API differently: {difference}")

    def declared_once() -> None:
        for framework, package in (
            ("fastapi", "fastapi_service"),
            ("flask_openapi", "flask_openapi_service"),
        ):
            species = importlib.import_module(f"{package}.schemas").Species
            if "confidence" not in species.model_fields:
                raise NotYet(
                    f"{framework}: Species does not declare `confidence`: declared once, pydantic both "
                    f"documents it and writes it. {CONFIDENCE_HINTS[framework]}"
                )

    return [
        ("POST /predict answers a `confidence`, the highest probability, on all three", on_predict),
        ("every prediction of POST /predict/batch has one too", on_batch),
        ("the three answer the same, key order included", same),
        ("every spec documents it as a required number, the three alike", documented),
        ("both pydantic services declare it once, on Species", declared_once),
    ]
