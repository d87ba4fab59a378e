"""What each spec feeds (docs/argument.md): openapi-python-client generates a typed Python client from
FastAPI's OpenAPI 3.1 spec, and that one client drives every service alike; flask-openapi3's OpenAPI 3.1 spec
it takes too; flask-restx's Swagger 2.0 it refuses.

Offline and in-process: the spec comes from `app.openapi()`, the client talks to each app through an httpx
transport (WSGI for Flask, ASGI for FastAPI, its lifespan run), no server started.
"""

import asyncio
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from fastapi_service.app import create_app as create_fastapi_app
from flask_openapi_service.app import create_app as create_flask_openapi_app
from flask_service.app import create_app as create_flask_app
from shared.examples import KNOWN_PENGUINS, batch_of
from shared.settings import Settings
from tests.test_parity import assert_same_json

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "penguin_client"
# No ruff over the generated code: it is imported here, not read.
CONFIG = {"post_hooks": [], "package_name_override": PACKAGE, "project_name_override": PACKAGE}
SWAGGER_REFUSED = "You may be trying to use a Swagger document; this is not supported by this project."
BASE_URL = "http://service"


def generate(spec: dict[str, Any], root: Path) -> subprocess.CompletedProcess[str]:
    (root / "spec.json").write_text(json.dumps(spec))
    (root / "config.json").write_text(json.dumps(CONFIG))
    command = [str(GENERATOR), "generate", "--path", "spec.json", "--output-path", PACKAGE, "--meta", "none"]
    return subprocess.run(
        [*command, "--config", "config.json"], cwd=root, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package generated from the FastAPI service's own spec, importable for this module's tests."""
    root = tmp_path_factory.mktemp("generated")
    generated = generate(create_fastapi_app().openapi(), root)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def call_flask(
    package: ModuleType, operation: ModuleType, create_app: Any = create_flask_app, **kwargs: Any
) -> Any:
    client = package.Client(base_url=BASE_URL)
    transport = httpx.WSGITransport(app=create_app(Settings()))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        client.set_httpx_client(http)
        return operation.sync_detailed(client=client, **kwargs)


def call_fastapi(package: ModuleType, operation: ModuleType, **kwargs: Any) -> Any:
    app = create_fastapi_app(Settings())

    async def call() -> Any:
        client = package.Client(base_url=BASE_URL)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                client.set_async_httpx_client(http)
                return await operation.asyncio_detailed(client=client, **kwargs)

    return asyncio.run(call())


def every(package: ModuleType, name: str, **kwargs: Any) -> Any:
    """One generated operation, called against each service; the parsed answer, the same from each, after the
    same status."""
    operation = importlib.import_module(f"{PACKAGE}.api.penguins.{name}")
    fastapi = call_fastapi(package, operation, **kwargs)
    for create_app in (create_flask_app, create_flask_openapi_app):
        flask = call_flask(package, operation, create_app, **kwargs)
        assert flask.status_code == fastapi.status_code, (
            create_app.__module__,
            flask.content,
            fastapi.content,
        )
        assert type(flask.parsed) is type(fastapi.parsed)
        assert_same_json(flask.parsed.to_dict(), fastapi.parsed.to_dict())
    return fastapi.parsed


def test_the_generated_client_drives_every_service_alike(client_package: ModuleType) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    health = every(client_package, "health_health_get")
    assert isinstance(health, models.Health) and health.status == "ok"
    card = every(client_package, "model_card_model_get")
    assert card.classes == ["Adelie", "Chinstrap", "Gentoo"]
    prediction = every(
        client_package, "predict_predict_post", body=models.Penguin.from_dict(KNOWN_PENGUINS["Gentoo"])
    )
    assert isinstance(prediction, models.Prediction) and prediction.species == "Gentoo"
    batch = every(
        client_package, "predict_batch_predict_batch_post", body=models.Batch.from_dict(batch_of(3))
    )
    assert [item.species for item in batch.predictions] == ["Adelie", "Chinstrap", "Gentoo"]


def test_the_generated_client_reads_every_service_s_errors_alike(client_package: ModuleType) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    refused = every(client_package, "penguin_prediction_penguins_penguin_id_prediction_get", penguin_id=0)
    assert isinstance(refused, models.ValidationErrorBody)
    assert [(item.loc, item.type_) for item in refused.detail] == [(["path", "penguin_id"], "greater_than")]


def test_the_generator_refuses_flask_restx_swagger_2(tmp_path: Path) -> None:
    spec = create_flask_app().test_client().get("/swagger.json").get_json()
    assert spec["swagger"] == "2.0"
    refused = generate(spec, tmp_path)
    assert refused.returncode != 0
    assert SWAGGER_REFUSED in refused.stdout + refused.stderr
    assert not (tmp_path / PACKAGE).exists()


def test_the_generator_takes_flask_openapi3_s_spec_too(tmp_path: Path) -> None:
    """The same generator on flask-openapi3 4.x's OpenAPI 3.1.0 spec: a client with the same models (its 5.0
    rename writes 3.2.0, which the generator refuses: docs/running.md)."""
    spec = create_flask_openapi_app().test_client().get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    generated = generate(spec, tmp_path)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    models = {path.stem for path in (tmp_path / PACKAGE / "models").glob("*.py")}
    assert {"penguin", "batch", "prediction", "batch_prediction", "validation_error_body"} <= models


def test_docs_argument_quotes_the_generated_client_s_size(client_package: ModuleType) -> None:
    """docs/argument.md's "What the spec feeds" row: the modules and lines generated, counted here."""
    files = sorted(Path(str(client_package.__file__)).parent.rglob("*.py"))
    lines = sum(len(path.read_text().splitlines()) for path in files)
    argument = (Path(__file__).resolve().parent.parent / "docs" / "argument.md").read_text()
    assert f"offline: {len(files)} modules, {lines:,} lines;" in argument
