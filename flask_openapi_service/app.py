"""The Flask application factory, with flask-openapi3: pydantic validates and documents (OpenAPI 3.1)."""

import weakref

import httpx2
from flask_openapi3 import Info, OpenAPI

from flask_openapi_service.contract import add_contract, validation_error
from flask_openapi_service.docs import add_docs
from flask_openapi_service.errors import register_error_handlers
from flask_openapi_service.routes import api
from flask_openapi_service.schemas import ValidationErrorBody
from shared import collector
from shared.docs import API_DESCRIPTION, API_TITLE
from shared.model import load_served_model
from shared.settings import Settings
from shared.upstream import client_options

STATIC_ENDPOINTS = ("swagger.static", "redoc.static")


def create_app(settings: Settings | None = None) -> OpenAPI:
    settings = settings or Settings.from_env()

    app = OpenAPI(
        __name__,
        info=Info(title=API_TITLE, description=API_DESCRIPTION, version="1.0.0"),
        # Its pages would sit under /openapi/, a page at the prefix; add_docs serves them at FastAPI's paths.
        doc_ui=False,
        validation_error_model=ValidationErrorBody,
        validation_error_callback=validation_error,
        # No static folder of its own: the docs pages' files are the only ones, served by their plugins.
        static_folder=None,
    )
    # Once per worker process: gunicorn imports the app in each worker (no --preload).
    app.extensions["penguin_model"] = load_served_model(settings)
    # One pooled client per worker, shared by its threads. Flask has no shutdown hook: closed with the app.
    upstream = httpx2.Client(**client_options(settings.upstream_url, settings.upstream_timeout_s))
    app.extensions["upstream"] = upstream
    weakref.finalize(app, upstream.close)
    # "/penguins//1/prediction" is a 404, as on the FastAPI service, not a redirect to the merged path.
    app.url_map.merge_slashes = False
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # OPTIONS answers 405, as on the FastAPI service, instead of Flask's automatic reply.
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.extensions["settings"] = settings
    add_contract(app)
    register_error_handlers(app)
    app.register_api(api)
    if settings.docs_enabled:
        add_docs(app)
    # werkzeug adds HEAD to every GET rule; FastAPI routes answer only the methods they declare (and its
    # static files, GET and HEAD, as here).
    for rule in app.url_map.iter_rules():
        if rule.methods is not None and rule.endpoint not in STATIC_ENDPOINTS:
            rule.methods.discard("HEAD")
    # Start-up done, model and client made: out of the collector's scans (shared/collector.py).
    collector.install()
    return app


app = create_app()
