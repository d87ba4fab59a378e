"""The hostile-input corpus (tests/hostile.py) against every app: same status, same JSON, nothing leaked."""

import re
import time
from dataclasses import replace

import pytest

from shared.server import ServerOptions
from shared.settings import Settings
from tests.canned_upstream import silent_upstream
from tests.clients import FRAMEWORKS, REFERENCE, ApiClient, Reply, make_client
from tests.hostile import CORPUS, JSON, Case

# What must never reach a client: a traceback, a file of the service, a Python exception's name.
LEAKS = re.compile(rb"Traceback|File \"|\.py\b|/work/|site-packages|Error:|Exception")


def check_answer(case: Case, reply: Reply) -> None:
    assert reply.status == case.status, reply.body[:300]
    assert reply.content_type == "application/json"
    if case.method == "HEAD":  # headers only, by HTTP's rules
        assert reply.body == b""
        return
    assert not LEAKS.search(reply.body), reply.body[:300]
    # Error bodies are short and name problems, never carry the rejected input back.
    assert len(reply.body) < 4096
    if reply.status >= 400:
        assert "detail" in reply.json()


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_every_app_answers_alike(apps: dict[str, ApiClient], case: Case) -> None:
    replies = {
        framework: client.request(
            case.method, case.path, content=case.body, headers=case.headers, chunked=case.chunked
        )
        for framework, client in apps.items()
    }
    for framework, reply in replies.items():
        check_answer(case, reply)
        if case.method != "HEAD":
            assert (framework, reply.json()) == (framework, replies[REFERENCE].json())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_safe_defaults(framework: str) -> None:
    """What a copy of this repo takes to production: no debugger, no reloader, bounded bodies and waits."""
    defaults = Settings.from_env(environ={})
    # docs/contract.md's numbers, written out here: not read back from the code that set them.
    assert (defaults.max_body_bytes, defaults.upstream_timeout_s) == (1 << 20, 1.0)
    options = ServerOptions.from_env(8000, environ={})
    assert not options.access_log  # nothing from requests is logged unless asked for
    with silent_upstream() as url, make_client(framework, replace(defaults, upstream_url=url)) as client:
        # Enforced, not merely configured: one byte past the default limit is refused...
        too_big = client.request("POST", "/predict", content=b" " * ((1 << 20) + 1), headers=JSON)
        assert too_big.status == 413
        # ...and an upstream that never answers is given up on after the default timeout, on both.
        started = time.monotonic()
        reply = client.request("GET", "/penguins/1/prediction")
        assert (reply.status, 1.0 <= time.monotonic() - started < 2.0) == (504, True)
    if framework in ("flask", "flask_openapi"):
        from flask_openapi_service.app import create_app as create_flask_openapi_app
        from flask_service.app import create_app as create_flask_app
        from shared.gunicorn_server import server_config

        create = create_flask_app if framework == "flask" else create_flask_openapi_app
        flask_app = create(defaults)
        assert not flask_app.debug and not flask_app.testing
        config = server_config(options)
        assert not config.get("reload") and config["timeout"] > 0 and config["graceful_timeout"] > 0
    else:
        from fastapi_service import server as fastapi_server
        from fastapi_service.app import create_app as create_fastapi_app

        assert not create_fastapi_app(defaults).debug
        config = fastapi_server.server_config(options)
        assert not config.get("reload") and config["timeout_graceful_shutdown"] > 0
