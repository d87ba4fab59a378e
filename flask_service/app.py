"""The Flask application factory."""

import weakref

import httpx2
from flask import Flask
from flask_restx import Api

from flask_service.contract import add_contract
from flask_service.docs import DOCS_ASSETS, add_docs, without_restx_assets
from flask_service.errors import register_error_handlers
from flask_service.routes import ns
from shared import collector
from shared.docs import API_DESCRIPTION, API_TITLE
from shared.model import load_served_model
from shared.settings import Settings
from shared.upstream import client_options


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()

    # No static folder of its own: the docs pages' files are the only ones, served by add_docs.
    app = Flask(__name__, static_folder=None)
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
    if not settings.docs_enabled:
        without_restx_assets(app)
    api = Api(
        title=API_TITLE,
        description=API_DESCRIPTION,
        version="1.0.0",
        doc="/docs" if settings.docs_enabled else False,
        # Errors on every URL, not only on the API's routes, get the contract's JSON body.
        catch_all_404s=True,
    )
    # First: restx answers with the first handler registered for a matching class, and errors.py's last is
    # the catch-all Exception.
    add_contract(app, api)
    register_error_handlers(app, api)
    api.add_namespace(ns)
    # add_specs given to init_app: Api(app, add_specs=False) loses it (init_app re-reads its own kwargs).
    api.init_app(app, add_specs=settings.docs_enabled)
    if settings.docs_enabled:
        add_docs(app)
    # werkzeug adds HEAD to every GET rule; FastAPI routes answer only the methods they declare (and its
    # static files, GET and HEAD, as here).
    for rule in app.url_map.iter_rules():
        if rule.methods is not None and rule.endpoint != f"{DOCS_ASSETS}.static":
            rule.methods.discard("HEAD")
    # Start-up done, model and client made: out of the collector's scans (shared/collector.py).
    collector.install()
    return app


app = create_app()
