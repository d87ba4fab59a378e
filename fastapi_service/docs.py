"""Swagger UI at /docs and ReDoc at /redoc, served with local files so they work offline.

FastAPI's defaults load both from a CDN; its docs show how to self-host them:
https://fastapi.tiangolo.com/how-to/custom-docs-ui-assets/#self-hosting-javascript-and-css-for-docs
"""

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.docs import API_TITLE, DOC_EXPANSION, REDOC_CSP, STATIC_URL, docs_assets_dir

FAVICON_URL = f"{STATIC_URL}/favicon.png"


def add_docs(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=docs_assets_dir()), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{API_TITLE} - Swagger UI",
            swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=FAVICON_URL,
            swagger_ui_parameters={"docExpansion": DOC_EXPANSION},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{API_TITLE} - ReDoc",
            redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=FAVICON_URL,
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
