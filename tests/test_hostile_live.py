"""The hostile-input corpus through the real servers, where gunicorn and uvicorn parse the request first."""

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.errors import URI_TOO_LONG, payload_too_large
from shared.settings import Settings
from tests.clients import FRAMEWORKS, REFERENCE
from tests.conftest import Targets
from tests.hostile import CORPUS, LONG_CHUNK_LINE, MALFORMED_HTTP, Case
from tests.rawhttp import send, send_bytes
from tests.servers import LiveServer, access_log_with, live_server
from tests.test_hostile import check_answer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def servers(services: dict[str, LiveServer]) -> Iterator[dict[str, LiveServer]]:
    yield services
    for server in services.values():
        assert "Traceback" not in server.log.read_text(), server.log


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_every_server_answers_alike(servers: dict[str, LiveServer], targets: Targets, case: Case) -> None:
    """Directly and through nginx (conftest's `targets`), where nginx refuses a few paths itself."""
    replies = {
        name: send(targets.urls[name], case.method, case.path, case.body, case.headers, case.chunked)
        for name in FRAMEWORKS
    }
    if targets.via == "behind nginx" and case.nginx_status is not None:
        case = replace(case, status=case.nginx_status)
    for name, reply in replies.items():
        check_answer(case, reply)
        if case.method != "HEAD":
            assert (name, reply.json()) == (name, replies[REFERENCE].json())


@pytest.mark.parametrize("name", MALFORMED_HTTP)
def test_malformed_http_is_a_400_from_the_server(servers: dict[str, LiveServer], name: str) -> None:
    """Not JSON where the server answers: gunicorn in HTML, uvicorn in text, before any app code; a broken
    chunk in a body Flask reads is Flask's 400 in JSON (docs/reliability.md)."""
    for server in servers.values():
        status, _ = send_bytes(server.url, MALFORMED_HTTP[name])
        assert status == 400
        assert send(server.url, "GET", "/health", None, {}).status == 200


@pytest.mark.parametrize("name", MALFORMED_HTTP)
def test_malformed_http_through_nginx_is_one_4xx_for_all(
    servers: dict[str, LiveServer], proxied: dict[str, str], name: str
) -> None:
    """nginx reads the request first: its own 400 in the contract's JSON, or, where it reads the request (a
    chunk line it tolerates, a non-ASCII path), the services' answers, the same status from all."""
    answers = {framework: send_bytes(url, MALFORMED_HTTP[name]) for framework, url in proxied.items()}
    statuses = {status for status, _ in answers.values()}
    assert len(statuses) == 1 and 400 <= statuses.pop() < 500, answers
    for url in proxied.values():
        assert send(url, "GET", "/health", None, {}).status == 200


def test_a_long_chunk_line_is_a_4xx_on_all(targets: Targets) -> None:
    """gunicorn refuses a chunk line past its limit (both Flask services' 400); uvicorn reads on (FastAPI's
    422 for {}). nginx reads on too, and hands every service the body with a Content-Length."""
    statuses = {name: send_bytes(url, LONG_CHUNK_LINE)[0] for name, url in targets.urls.items()}
    gunicorn = 400 if targets.via == "direct" else 422
    assert statuses == {"flask": gunicorn, "fastapi": 422, "flask_openapi": gunicorn}


def test_request_line_past_gunicorn_limit_is_still_414(servers: dict[str, LiveServer]) -> None:
    """Past gunicorn's own limit (8190 bytes) gunicorn answers 414 in HTML, uvicorn's app in JSON."""
    request = b"GET /health?" + b"q" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    statuses = {name: send_bytes(server.url, request) for name, server in servers.items()}
    gunicorn = (414, "text/html")
    assert statuses == {"flask": gunicorn, "fastapi": (414, "application/json"), "flask_openapi": gunicorn}


def test_request_line_past_nginx_limit_is_its_414_in_json(proxied: dict[str, str]) -> None:
    """nginx's own limit (8 KiB, below gunicorn's) comes first: the contract's 414 for all."""
    request = b"GET /health?" + b"q" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    replies = [send(url, "GET", "/health?" + "q" * 10_000, None, {}) for url in proxied.values()]
    assert [send_bytes(url, request) for url in proxied.values()] == [(414, "application/json")] * 3
    assert [reply.json() for reply in replies] == [{"detail": URI_TOO_LONG}] * 3


def test_logs_do_not_carry_injected_lines(servers: dict[str, LiveServer], tmp_path: Path) -> None:
    """A CR/LF sent percent-encoded in a path stays escaped in the access log: no forged log line."""
    for server in servers.values():
        send(server.url, "GET", "/nowhere%0d%0aINJECTED%20200%20OK", None, {})
        log = access_log_with(server, "/nowhere")
        assert not any(line.startswith("INJECTED") for line in log.splitlines())


def urllib_post(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    """POST with Python's urllib, which sends the whole body before it reads a byte of the answer."""
    request = urllib.request.Request(
        f"{url}/predict", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_a_client_that_sends_its_whole_body_first_reads_the_early_413(
    servers: dict[str, LiveServer], worker: str, tmp_path: Path
) -> None:
    """An 8 MiB body is refused from its declared length; the server reads and drops it before closing, so
    urllib gets the 413 instead of a connection reset (before: `ConnectionResetError` on both servers)."""
    body = b" " * (8 << 20)
    under_test = dict(servers)
    with contextlib.ExitStack() as stack:
        if worker == "gthread":  # each gunicorn service again, under the threaded worker
            for name in ("flask", "flask_openapi"):
                env = {"GUNICORN_WORKER_CLASS": "gthread"}
                under_test[name] = stack.enter_context(live_server(name, tmp_path, env=env))
        for server in under_test.values():
            for _ in range(3):
                status, answer = urllib_post(server.url, body)
                assert status == 413 and "limit" in answer["detail"], server.framework


def test_through_nginx_the_early_413_is_nginxs_in_the_services_words(
    servers: dict[str, LiveServer], proxied: dict[str, str]
) -> None:
    """nginx refuses the 8 MiB body from its declared length (client_max_body_size is the services' limit)
    and reads the rest before closing (its lingering close): the client reads the services' 413."""
    refused = (413, {"detail": payload_too_large(Settings().max_body_bytes)})
    for url in [*(server.url for server in servers.values()), *proxied.values()]:
        assert urllib_post(url, b" " * (8 << 20)) == refused, url
