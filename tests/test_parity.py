"""Same request, same answer: both apps compared body for body over a corpus of requests."""

import math
from collections.abc import Iterator
from typing import Any

import pytest

from shared.examples import EXAMPLE_PENGUIN, INVALID_PENGUIN, batch_of
from shared.limits import MAX_BATCH_SIZE
from shared.settings import Settings
from tests.canned_upstream import BAD_OBSERVATION_IDS
from tests.clients import ApiClient, Reply, make_client
from tests.rawhttp import LiveClient

JSON = "application/json"

# (expected status, method, path, body bytes or JSON, content type): both apps must give that status, not
# merely the same one (two identical 500s are no parity).
CORPUS: list[tuple[int, str, str, Any, str | None]] = [
    (200, "GET", "/health", None, None),
    (200, "GET", "/model", None, None),
    (200, "POST", "/predict", EXAMPLE_PENGUIN, JSON),
    (200, "POST", "/predict", {**EXAMPLE_PENGUIN, "sex": None}, JSON),
    (200, "POST", "/predict/batch", batch_of(5), JSON),
    (422, "POST", "/predict", INVALID_PENGUIN, JSON),
    (422, "POST", "/predict", {}, JSON),
    (422, "POST", "/predict", {**EXAMPLE_PENGUIN, "body_mass_g": 10_000.5, "flipper_length_mm": "big"}, JSON),
    (422, "POST", "/predict", b'{"island": "Dream", "bill_length_mm": NaN, "body_mass_g": -Infinity}', JSON),
    (422, "POST", "/predict", b"{", JSON),
    (422, "POST", "/predict", b"", JSON),
    (422, "POST", "/predict", b"[]", JSON),
    (415, "POST", "/predict", b"{}", "text/plain"),
    (415, "POST", "/predict", b"{}", None),
    (422, "POST", "/predict/batch", {"items": []}, JSON),
    (422, "POST", "/predict/batch", batch_of(MAX_BATCH_SIZE + 1), JSON),
    (422, "POST", "/predict/batch", {"items": [EXAMPLE_PENGUIN, {"island": "Mars"}, "x", None]}, JSON),
    (422, "POST", "/predict/batch", {"items": "all of them"}, JSON),
    (422, "POST", "/predict/batch", {"penguins": []}, JSON),
    (404, "GET", "/nowhere", None, None),
    (405, "GET", "/predict", None, None),
    (405, "DELETE", "/health", None, None),
    (405, "PATCH", "/predict/batch", None, None),
    (405, "OPTIONS", "/predict", None, None),
    (404, "GET", "/health/", None, None),
    (200, "GET", "/penguins/3/prediction", None, None),
    (404, "GET", "/penguins/4/prediction", None, None),
    (422, "GET", "/penguins/0/prediction", None, None),
    (422, "GET", "/penguins/x/prediction", None, None),
    (200, "GET", "/penguins/1.0/prediction", None, None),
    (404, "GET", "/penguins//prediction", None, None),
    (405, "POST", "/penguins/1/prediction", None, None),
]


def send(client: ApiClient, method: str, path: str, body: Any, content_type: str | None) -> Reply:
    headers = {"Content-Type": content_type} if content_type else {}
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers=headers)
    return client.request(method, path, json=body, headers=headers)


def assert_same_json(flask_body: Any, fastapi_body: Any) -> None:
    """Equal, allowing floats that differ in the last bits (both encoders print shortest repr)."""
    if isinstance(flask_body, float) and isinstance(fastapi_body, float):
        assert math.isclose(flask_body, fastapi_body, rel_tol=1e-12)
    elif isinstance(flask_body, dict) and isinstance(fastapi_body, dict):
        assert list(flask_body) == list(fastapi_body)
        for key in flask_body:
            assert_same_json(flask_body[key], fastapi_body[key])
    elif isinstance(flask_body, list) and isinstance(fastapi_body, list):
        assert len(flask_body) == len(fastapi_body)
        for a, b in zip(flask_body, fastapi_body, strict=True):
            assert_same_json(a, b)
    else:
        assert flask_body == fastapi_body


@pytest.fixture(params=["in-process", "behind nginx"])
def pair(request: pytest.FixtureRequest, both: tuple[ApiClient, ApiClient]) -> tuple[ApiClient, ApiClient]:
    """Both apps in-process, or both services under their servers behind nginx (conftest's `proxied`)."""
    if request.param == "in-process":
        return both
    proxied: dict[str, str] = request.getfixturevalue("proxied")
    return LiveClient("flask", proxied["flask"]), LiveClient("fastapi", proxied["fastapi"])


@pytest.mark.parametrize(
    ("status", "method", "path", "body", "content_type"),
    CORPUS,
    ids=[f"{i:02d}-{s}-{m}-{p}" for i, (s, m, p, _, _) in enumerate(CORPUS)],
)
def test_same_status_and_body(
    pair: tuple[ApiClient, ApiClient],
    status: int,
    method: str,
    path: str,
    body: Any,
    content_type: str | None,
) -> None:
    flask_reply, fastapi_reply = (send(c, method, path, body, content_type) for c in pair)
    assert (flask_reply.status, fastapi_reply.status) == (status, status), flask_reply.body[:200]
    assert flask_reply.content_type == fastapi_reply.content_type == "application/json"
    assert flask_reply.headers.get("allow") == fastapi_reply.headers.get("allow")
    assert_same_json(flask_reply.json(), fastapi_reply.json())


@pytest.fixture(scope="module")
def both_of_bad_upstream(bad_upstream: str) -> Iterator[tuple[ApiClient, ApiClient]]:
    settings = Settings(upstream_url=bad_upstream)
    with make_client("flask", settings) as flask_client, make_client("fastapi", settings) as fastapi_client:
        yield flask_client, fastapi_client


@pytest.mark.parametrize("name", BAD_OBSERVATION_IDS)
def test_same_502_for_a_bad_observation(both_of_bad_upstream: tuple[ApiClient, ApiClient], name: str) -> None:
    path = f"/penguins/{BAD_OBSERVATION_IDS[name]}/prediction"
    flask_reply, fastapi_reply = (client.request("GET", path) for client in both_of_bad_upstream)
    assert (flask_reply.status, fastapi_reply.status) == (502, 502)
    assert flask_reply.content_type == fastapi_reply.content_type == "application/json"
    assert flask_reply.json() == fastapi_reply.json()
