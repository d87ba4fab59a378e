"""In-process calls (loadtests/bench/inprocess/calls.py) and the contract's price built on them
(`python -m loadtests.bench.inprocess.glue`), on tiny loops: the figures are not judged, the answers are."""

import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_service.app import create_app as create_fastapi_app
from flask_service.app import create_app as create_flask_app
from loadtests.bench.inprocess import glue
from loadtests.bench.inprocess.calls import asgi_call, asgi_lifespan, wsgi_call
from loadtests.bench.inprocess.reference_apps import create_flask_openapi_reference
from loadtests.bench.render.split_report import glue_table
from shared.examples import EXAMPLE_PENGUIN

JSON = [("Content-Type", "application/json")]
PENGUIN = json.dumps(EXAMPLE_PENGUIN).encode()


def test_a_wsgi_app_answers_as_over_http() -> None:
    app = create_flask_app()
    assert wsgi_call(app, "GET", "/health")() == (200, b'{"status": "ok"}\n')
    status, body = wsgi_call(app, "POST", "/predict", PENGUIN, JSON)()
    assert status == 200 and json.loads(body)["species"] == "Gentoo"
    status, body = wsgi_call(app, "GET", "/health?" + "q" * 5000)()
    assert status == 414 and json.loads(body) == {"detail": "Request target (path and query) is too long"}


def test_an_asgi_app_is_started_once_and_stopped_after() -> None:
    app = create_fastapi_app()
    with asgi_lifespan(app) as lifespan:
        assert app.state.penguin_model.version == "1.0.0", "the lifespan's startup ran"
        upstream = app.state.upstream
        status, body = asgi_call(app, "POST", "/predict", PENGUIN, JSON, lifespan=lifespan)()
        assert status == 200 and json.loads(body)["species"] == "Gentoo"
        assert asgi_call(app, "GET", "/health", lifespan=lifespan)() == (200, b'{"status":"ok"}')
        assert not upstream.is_closed
    assert upstream.is_closed, "the lifespan's shutdown ran"


def test_a_def_endpoint_reuses_the_thread_pool_as_under_a_server() -> None:
    app, ran_on = FastAPI(), []

    @app.get("/where")
    def where() -> None:
        ran_on.append(threading.current_thread())  # kept, so no thread's identity is reused

    with asgi_lifespan(app) as lifespan:
        call = asgi_call(app, "GET", "/where", lifespan=lifespan)
        for _ in range(5):
            assert call() == (200, b"null")
    assert len(ran_on) == 5 and len(set(ran_on)) == 1


def test_a_failed_startup_is_raised() -> None:
    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no model here")
        yield

    with pytest.raises(RuntimeError, match="no model here"), asgi_lifespan(FastAPI(lifespan=broken)):
        pass


def test_a_timed_call_whose_answer_changes_is_caught() -> None:
    answers = iter([(200, b'{"status": "ok"}'), (200, b'{"status": "ok"}'), (500, b'{"detail": "x"}')])
    checked = glue.verified("health", lambda: next(answers))
    checked()
    with pytest.raises(AssertionError, match="the answer changed"):
        checked()


def test_a_wrong_first_answer_is_caught() -> None:
    with pytest.raises(AssertionError):
        glue.verified("predict", lambda: (200, b'{"species": "Adelie"}'))


def test_glue_figures_pair_every_service_with_its_reference() -> None:
    figures: dict[str, Any] = glue.glue_figures(pairs=2, repeats=1, target_s=0.002)
    assert sorted(figures) == ["fastapi", "flask", "flask_openapi"]
    for by_endpoint in figures.values():
        assert sorted(by_endpoint) == ["health", "predict"]
        for figure in by_endpoint.values():
            assert figure["pairs"] == 2
            assert figure["ratio_min"] <= figure["ratio"] <= figure["ratio_max"]
            assert figure["service_cpu_us"] > 0 and figure["reference_cpu_us"] > 0
    assert any(line.startswith("| Flask | health |") for line in glue_table({"glue": figures}))
    assert any(line.startswith("| Flask-OpenAPI3 | predict |") for line in glue_table({"glue": figures}))


def test_the_third_stack_s_reference_answers_as_its_docs_show() -> None:
    """flask-openapi3 on its own: the /predict of its reference app, and its own 422 (pydantic's list, where
    the service answers the contract's)."""
    app = create_flask_openapi_reference()
    status, body = wsgi_call(app, "POST", "/predict", PENGUIN, JSON)()
    assert status == 200 and json.loads(body)["species"] == "Gentoo"
    status, body = wsgi_call(app, "POST", "/predict", b"{}", JSON)()
    assert status == 422 and isinstance(json.loads(body), list)
