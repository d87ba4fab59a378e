"""Classic mistake 2: an `async def` Flask view, expecting it to serve other requests while it waits.

Flask 2+ accepts `async def` views (with `flask[async]`, i.e. asgiref), but runs each one to completion in a
fresh event loop inside the worker that received the request: under gunicorn's sync worker that worker still
holds one request at a time, so throughput stays at about workers / upstream latency, as with the plain
`def` view. Nothing else can run on that loop, and a pooled `httpx2.AsyncClient` cannot outlive it, so each
request opens its own client and connection. For I/O, Flask users change the worker (gthread or gevent).
https://flask.palletsprojects.com/en/stable/async-await/#performance

    python -m examples.flask_async_view     # the Flask service with this one view swapped, on :8001
"""

import ssl
from typing import Any

import httpx2
from flask import Flask, current_app
from gunicorn.util import import_app

from flask_service.app import create_app
from flask_service.contract import load_path_param, penguin_id_field
from flask_service.routes import observed_penguin
from flask_service.server import DEFAULT_PORT
from shared.gunicorn_server import GunicornServer, server_config
from shared.model import PenguinModel
from shared.server import ServerOptions
from shared.settings import Settings
from shared.upstream import client_options, error_for_transport, observation_path

APP = "examples.flask_async_view:app"
RULE = "/penguins/<penguin_id>/prediction"

settings = Settings.from_env()
# Built once: a new client otherwise loads the CA bundle on every request, a cost that is not the point here.
TLS = ssl.create_default_context()


async def penguin_prediction(penguin_id: str) -> dict[str, object]:
    """Fetch a penguin's observation from the upstream service and predict its species."""
    valid_id: int = load_path_param(penguin_id_field, "penguin_id", penguin_id)
    # THE MISTAKE: `await` here frees nothing; the sync worker waits for this coroutine to finish.
    async with httpx2.AsyncClient(
        **client_options(settings.upstream_url, settings.upstream_timeout_s), verify=TLS
    ) as upstream:
        try:
            response = await upstream.get(observation_path(valid_id))
        except httpx2.HTTPError as exc:
            raise error_for_transport(exc) from None
    model: PenguinModel = current_app.extensions["penguin_model"]
    result = model.predict_one(observed_penguin(valid_id, response))
    return {
        "penguin_id": valid_id,
        "species": result.species,
        "probabilities": result.probabilities,
        "model_version": model.version,
    }


def with_async_view(app: Flask) -> Flask:
    """The service's app, its prediction view replaced by the one above; the URL rule and errors unchanged."""
    [rule] = [rule for rule in app.url_map.iter_rules() if rule.rule == RULE]
    app.view_functions[rule.endpoint] = penguin_prediction
    return app


app = with_async_view(create_app(settings))


class ExampleServer(GunicornServer):
    def load(self) -> Any:
        return import_app(self.app)


def main() -> None:
    config = server_config(ServerOptions.from_env(DEFAULT_PORT))
    print(f"gunicorn {APP} {config}", flush=True)
    ExampleServer(APP, config).run()


if __name__ == "__main__":
    main()
