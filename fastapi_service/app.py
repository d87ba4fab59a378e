"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from fastapi import FastAPI

from fastapi_service.contract import add_contract
from fastapi_service.docs import add_docs
from fastapi_service.errors import register_error_handlers
from fastapi_service.routes import router
from shared import collector
from shared.docs import API_DESCRIPTION, API_TITLE
from shared.model import load_served_model
from shared.settings import Settings
from shared.upstream import client_options


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Once per worker process, before the first request: https://fastapi.tiangolo.com/advanced/events/
        app.state.penguin_model = load_served_model(settings)
        # One pooled client per worker, closed at shutdown.
        async with httpx2.AsyncClient(
            **client_options(settings.upstream_url, settings.upstream_timeout_s)
        ) as upstream:
            app.state.upstream = upstream
            # Start-up done, model and client made: out of the collector's scans (shared/collector.py).
            collector.install()
            yield

    app = FastAPI(
        title=API_TITLE,
        description=API_DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        # Built-in pages load from a CDN; add_docs serves them from local files instead.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
        # "/health/" is a 404, as on the Flask service, instead of a redirect.
        redirect_slashes=False,
    )
    app.state.settings = settings
    add_contract(app)
    register_error_handlers(app)
    app.include_router(router)
    if settings.docs_enabled:
        add_docs(app)
    return app


app = create_app()
