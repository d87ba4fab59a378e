"""Same request, same answer: every app compared with FastAPI's, body for body, over a corpus of requests."""

import math
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from shared.examples import EXAMPLE_PENGUIN, INVALID_PENGUIN, batch_of
from shared.limits import MAX_BATCH_SIZE
from shared.settings import Settings
from tests.canned_upstream import BAD_OBSERVATION_IDS
from tests.clients import FRAMEWORKS, REFERENCE, ApiClient, Reply, make_client
from tests.rawhttp import LiveClient

JSON = "application/json"

# (expected status, method, path, body bytes or JSON, content type): every app must give that status, not
# merely the same one (identical 500s are no parity).
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


def assert_same_json(body: Any, reference: Any, where: str = "body") -> None:
    """Equal, key order included, allowing floats that differ in the last bits (every encoder here prints
    the shortest repr)."""
    if isinstance(body, float) and isinstance(reference, float):
        assert math.isclose(body, reference, rel_tol=1e-12), where
    elif isinstance(body, dict) and isinstance(reference, dict):
        assert list(body) == list(reference), where
        for key in body:
            assert_same_json(body[key], reference[key], f"{where}.{key}")
    elif isinstance(body, list) and isinstance(reference, list):
        assert len(body) == len(reference), where
        for i, (a, b) in enumerate(zip(body, reference, strict=True)):
            assert_same_json(a, b, f"{where}[{i}]")
    else:
        assert body == reference, where


def assert_same_replies(replies: dict[str, Reply], status: int) -> None:
    """Every app's reply has `status` and the reference's headers that matter and body."""
    reference = replies[REFERENCE]
    for framework, reply in replies.items():
        assert (framework, reply.status) == (framework, status), reply.body[:200]
        assert (framework, reply.content_type) == (framework, "application/json")
        assert reply.headers.get("allow") == reference.headers.get("allow"), framework
        assert_same_json(reply.json(), reference.json(), f"{framework}'s body")


@pytest.fixture(params=["in-process", "behind nginx"])
def clients(request: pytest.FixtureRequest, apps: dict[str, ApiClient]) -> dict[str, ApiClient]:
    """Every app in-process, or every service under its server behind nginx (conftest's `proxied`)."""
    if request.param == "in-process":
        return apps
    proxied: dict[str, str] = request.getfixturevalue("proxied")
    return {framework: LiveClient(framework, url) for framework, url in proxied.items()}


@pytest.mark.parametrize(
    ("status", "method", "path", "body", "content_type"),
    CORPUS,
    ids=[f"{i:02d}-{s}-{m}-{p}" for i, (s, m, p, _, _) in enumerate(CORPUS)],
)
def test_same_status_and_body(
    clients: dict[str, ApiClient],
    status: int,
    method: str,
    path: str,
    body: Any,
    content_type: str | None,
) -> None:
    replies = {framework: send(c, method, path, body, content_type) for framework, c in clients.items()}
    assert sorted(replies) == sorted(FRAMEWORKS)
    assert_same_replies(replies, status)


@pytest.fixture(scope="module")
def apps_of_bad_upstream(bad_upstream: str) -> Iterator[dict[str, ApiClient]]:
    settings = Settings(upstream_url=bad_upstream)
    with ExitStack() as stack:
        yield {framework: stack.enter_context(make_client(framework, settings)) for framework in FRAMEWORKS}


@pytest.mark.parametrize("name", BAD_OBSERVATION_IDS)
def test_same_502_for_a_bad_observation(apps_of_bad_upstream: dict[str, ApiClient], name: str) -> None:
    path = f"/penguins/{BAD_OBSERVATION_IDS[name]}/prediction"
    replies = {framework: client.request("GET", path) for framework, client in apps_of_bad_upstream.items()}
    assert_same_replies(replies, 502)
