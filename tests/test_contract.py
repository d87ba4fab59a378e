"""The API contract (docs/contract.md), run unchanged against every app."""

import math
from typing import Any

import pytest

from shared.examples import (
    EXAMPLE_PENGUIN,
    INVALID_PENGUIN,
    INVALID_PENGUIN_ERRORS,
    KNOWN_PENGUINS,
    batch_of,
    expected_species_of_batch,
)
from shared.limits import MAX_BATCH_SIZE, SPECIES
from shared.settings import Settings
from tests.clients import FRAMEWORKS, ApiClient, Reply, make_client

JSON = {"Content-Type": "application/json"}


def post(client: ApiClient, path: str, body: Any) -> Reply:
    return client.request("POST", path, json=body)


def post_raw(client: ApiClient, path: str, content: bytes, content_type: str = "application/json") -> Reply:
    return client.request("POST", path, content=content, headers={"Content-Type": content_type})


def errors_of(reply: Reply) -> list[tuple[list[Any], str]]:
    """The (loc, type) pairs of a 422, after checking the shape of every error item."""
    assert reply.status == 422, reply.body
    assert reply.content_type.startswith("application/json")
    detail = reply.json()["detail"]
    assert detail, "a 422 lists at least one error"
    for item in detail:
        assert set(item) == {"loc", "msg", "type"}
        assert item["loc"][0] == "body"
        assert isinstance(item["msg"], str) and item["msg"]
    return [(item["loc"], item["type"]) for item in detail]


def assert_probabilities(probabilities: dict[str, float], species: str) -> None:
    assert list(probabilities) == list(SPECIES)
    assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-9)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert species == max(probabilities, key=lambda s: probabilities[s])


# GET /health, GET /model


def test_health(client: ApiClient) -> None:
    reply = client.request("GET", "/health")
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    assert reply.json() == {"status": "ok"}


def test_model_card(client: ApiClient) -> None:
    card = client.request("GET", "/model").json()
    assert set(card) == {"name", "version", "classes", "features", "metrics", "estimator", "cost"}
    assert card["name"] == "penguin-species"
    assert card["estimator"] == "StandardScaler + LogisticRegression"
    assert set(card["cost"]) == {"cpu_us_1_row", "cpu_us_100_rows"}
    assert all(isinstance(cpu_us, float) and cpu_us > 0 for cpu_us in card["cost"].values())
    assert isinstance(card["version"], str) and card["version"]
    assert card["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert card["features"] == list(EXAMPLE_PENGUIN)
    assert isinstance(card["metrics"]["accuracy"], float)
    assert card["metrics"]["accuracy"] >= 0.95


# POST /predict


@pytest.mark.parametrize("species", SPECIES)
def test_predict_known_penguins(client: ApiClient, species: str) -> None:
    reply = post(client, "/predict", KNOWN_PENGUINS[species])
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"species", "probabilities", "model_version"}
    assert body["species"] == species
    assert_probabilities(body["probabilities"], body["species"])
    assert body["model_version"] == client.request("GET", "/model").json()["version"]


@pytest.mark.parametrize(
    "change",
    [
        {"sex": None},
        {"sex": "female"},
        {"bill_length_mm": 100, "body_mass_g": 10_000},
        {"bill_depth_mm": 1e-9},
    ],
    ids=["sex-null", "sex-female", "integers-at-upper-bounds", "just-above-zero"],
)
def test_predict_accepts_valid_variations(client: ApiClient, change: dict[str, Any]) -> None:
    reply = post(client, "/predict", {**EXAMPLE_PENGUIN, **change})
    assert reply.status == 200, reply.body
    assert_probabilities(reply.json()["probabilities"], reply.json()["species"])


def test_predict_sex_is_optional_and_defaults_to_null(client: ApiClient) -> None:
    without = {k: v for k, v in EXAMPLE_PENGUIN.items() if k != "sex"}
    assert (
        post(client, "/predict", without).json() == post(client, "/predict", {**without, "sex": None}).json()
    )


def test_predict_accepts_json_with_charset(client: ApiClient) -> None:
    reply = client.request(
        "POST", "/predict", json=EXAMPLE_PENGUIN, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert reply.status == 200


# POST /predict/batch


def test_batch_keeps_item_order(client: ApiClient) -> None:
    reply = post(client, "/predict/batch", batch_of(7))
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"model_version", "predictions"}
    assert [p["species"] for p in body["predictions"]] == expected_species_of_batch(7)
    for prediction in body["predictions"]:
        assert set(prediction) == {"species", "probabilities"}
        assert_probabilities(prediction["probabilities"], prediction["species"])


def test_batch_matches_single_predictions(client: ApiClient) -> None:
    batch = post(client, "/predict/batch", batch_of(3)).json()["predictions"]
    singles = [post(client, "/predict", item).json() for item in batch_of(3)["items"]]
    for one, single in zip(batch, singles, strict=True):
        assert one["species"] == single["species"]
        for species in SPECIES:
            assert math.isclose(one["probabilities"][species], single["probabilities"][species], rel_tol=1e-9)


@pytest.mark.parametrize("size", [1, MAX_BATCH_SIZE])
def test_batch_size_limits_accepted(client: ApiClient, size: int) -> None:
    reply = post(client, "/predict/batch", batch_of(size))
    assert reply.status == 200
    assert len(reply.json()["predictions"]) == size


# 422: every problem at once, each with loc, msg and type


def test_every_problem_is_reported_at_once(client: ApiClient) -> None:
    errors = errors_of(post(client, "/predict", INVALID_PENGUIN))
    assert errors == [(["body", field], type_) for field, type_ in INVALID_PENGUIN_ERRORS]


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("39.1", "float_type"),
        (True, "float_type"),
        (None, "float_type"),
        ([39.1], "float_type"),
        (0, "greater_than"),
        (-5, "greater_than"),
        (100.0001, "less_than_equal"),
    ],
    ids=["string", "boolean", "null", "list", "zero", "negative", "above-max"],
)
def test_measurement_errors(client: ApiClient, value: Any, error_type: str) -> None:
    reply = post(client, "/predict", {**EXAMPLE_PENGUIN, "bill_length_mm": value})
    assert errors_of(reply) == [(["body", "bill_length_mm"], error_type)]


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_are_refused(client: ApiClient, token: bytes) -> None:
    body = b'{"island": "Dream", "bill_length_mm": %s, "bill_depth_mm": 17.9, ' % token
    body += b'"flipper_length_mm": 192, "body_mass_g": 3500}'
    reply = post_raw(client, "/predict", body)
    assert errors_of(reply) == [(["body", "bill_length_mm"], "finite_number")]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"island": "Atlantis"}, (["body", "island"], "enum")),
        ({"island": None}, (["body", "island"], "enum")),
        ({"island": 3}, (["body", "island"], "enum")),
        ({"sex": "unknown"}, (["body", "sex"], "enum")),
        ({"year": 2007}, (["body", "year"], "extra_forbidden")),
    ],
    ids=["island-unknown", "island-null", "island-number", "sex-unknown", "extra-field"],
)
def test_field_errors(client: ApiClient, change: dict[str, Any], error: tuple[list[Any], str]) -> None:
    assert errors_of(post(client, "/predict", {**EXAMPLE_PENGUIN, **change})) == [error]


def test_missing_fields(client: ApiClient) -> None:
    errors = errors_of(post(client, "/predict", {"sex": "male"}))
    assert errors == [(["body", field], "missing") for field in list(EXAMPLE_PENGUIN)[:-1]]


@pytest.mark.parametrize("body", [b"[1, 2]", b'"penguin"', b"42", b"null"])
def test_body_must_be_an_object(client: ApiClient, body: bytes) -> None:
    assert errors_of(post_raw(client, "/predict", body)) == [(["body"], "model_attributes_type")]


def test_empty_body_is_missing(client: ApiClient) -> None:
    assert errors_of(post_raw(client, "/predict", b"")) == [(["body"], "missing")]


@pytest.mark.parametrize(("body", "position"), [(b"{bad", 1), (b'{"island": "Dream",', 19)])
def test_invalid_json(client: ApiClient, body: bytes, position: int) -> None:
    assert errors_of(post_raw(client, "/predict", body)) == [(["body", position], "json_invalid")]


def test_batch_item_errors_have_their_path(client: ApiClient) -> None:
    items = [EXAMPLE_PENGUIN, EXAMPLE_PENGUIN, EXAMPLE_PENGUIN, {**EXAMPLE_PENGUIN, "bill_length_mm": -1}, 7]
    errors = errors_of(post(client, "/predict/batch", {"items": items}))
    assert errors == [
        (["body", "items", 3, "bill_length_mm"], "greater_than"),
        (["body", "items", 4], "model_attributes_type"),
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"items": []}, (["body", "items"], "too_short")),
        (batch_of(MAX_BATCH_SIZE + 1), (["body", "items"], "too_long")),
        ({"items": {"island": "Dream"}}, (["body", "items"], "list_type")),
        ({"items": None}, (["body", "items"], "list_type")),
        ({}, (["body", "items"], "missing")),
        ({"items": [EXAMPLE_PENGUIN], "extra": 1}, (["body", "extra"], "extra_forbidden")),
        ([EXAMPLE_PENGUIN], (["body"], "model_attributes_type")),
    ],
    ids=["empty", "too-long", "not-a-list", "null", "missing", "extra", "bare-list"],
)
def test_batch_errors(client: ApiClient, body: Any, error: tuple[list[Any], str]) -> None:
    assert errors_of(post(client, "/predict/batch", body)) == [error]


def test_rejected_input_is_never_echoed(client: ApiClient) -> None:
    secret = "<script>s3cr3t</script>"
    reply = post(client, "/predict", {**EXAMPLE_PENGUIN, "island": secret, "bill_depth_mm": secret})
    assert reply.status == 422
    assert b"s3cr3t" not in reply.body


# 415, 413


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/problem+json",
        "multipart/form-data",
    ],
)
def test_body_must_be_sent_as_json(client: ApiClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    reply = client.request("POST", "/predict", content=b'{"island": "Dream"}', headers=headers)
    assert reply.status == 415
    assert reply.content_type.startswith("application/json")
    assert isinstance(reply.json()["detail"], str)


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_oversized_body_is_refused(client: ApiClient, path: str) -> None:
    limit = Settings().max_body_bytes
    reply = post_raw(client, path, b" " * (limit + 1))
    assert reply.status == 413
    assert str(limit) in reply.json()["detail"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_body_limit_is_a_setting(framework: str) -> None:
    with make_client(framework, Settings(max_body_bytes=200)) as small:
        assert post(small, "/predict", EXAMPLE_PENGUIN).status == 200
        assert post(small, "/predict/batch", batch_of(3)).status == 413


# 404, 405, 500


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("POST", "/nowhere"),
        ("GET", "/health/"),
        ("GET", "/predict/batch/1"),
        ("GET", "/"),
    ],
)
def test_not_found(client: ApiClient, method: str, path: str) -> None:
    reply = client.request(method, path)
    assert reply.status == 404
    assert reply.content_type.startswith("application/json")
    assert reply.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/predict", "POST"),
        ("PUT", "/predict/batch", "POST"),
        ("POST", "/health", "GET"),
        ("DELETE", "/model", "GET"),
        ("OPTIONS", "/health", "GET"),
        ("HEAD", "/health", "GET"),
    ],
)
def test_method_not_allowed(client: ApiClient, method: str, path: str, allowed: str) -> None:
    reply = client.request(method, path)
    assert reply.status == 405
    assert reply.headers["allow"] == allowed
    if method != "HEAD":  # a HEAD answer has no body
        assert reply.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_internal_error_hides_everything(framework: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.model import PenguinModel

    def explode(*args: Any) -> None:
        raise RuntimeError("secret detail at /srv/app/model.py")

    monkeypatch.setattr(PenguinModel, "predict_many", explode)
    with make_client(framework) as broken:
        reply = post(broken, "/predict", EXAMPLE_PENGUIN)
    assert reply.status == 500
    assert reply.content_type.startswith("application/json")
    assert reply.json() == {"detail": "Internal Server Error"}
