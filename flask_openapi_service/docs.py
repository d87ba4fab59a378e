"""Swagger UI at /docs and ReDoc at /redoc, from the files inside the extension's plugin wheels (offline), and
the spec at /openapi.json: FastAPI's paths.

flask-openapi3's `doc_ui` registers the spec and every installed UI plugin under `doc_prefix`, with a page
listing them at the prefix itself (https://luolingchun.github.io/flask-openapi3/latest/Usage/Specification/);
with the contract's paths that page would be "/", a 404 on FastAPI. So the app turns `doc_ui` off and this
registers the same plugins as `doc_ui` does (OpenAPI._init_doc), at the root, without that page.
"""

from flask import Response, make_response, redirect
from flask_openapi3 import OpenAPI
from flask_openapi3_redoc.plugins import RegisterPlugin as ReDocPlugin
from flask_openapi3_swagger.plugins import RegisterPlugin as SwaggerPlugin

from flask_openapi_service.contract import documented
from shared.docs import DOC_EXPANSION, REDOC_CSP

SPEC_URL = "/openapi.json"


def add_docs(app: OpenAPI) -> None:
    app.add_url_rule(SPEC_URL, "openapi_json", lambda: documented(app.api_doc))
    for plugin in (SwaggerPlugin, ReDocPlugin):
        # Each page finds its files beside it (swagger/..., redoc/...) and the spec by the URL given.
        app.register_blueprint(plugin.register(doc_url=SPEC_URL.lstrip("/")))
    app.add_url_rule("/docs", "docs", app.view_functions["swagger.swagger"])
    # The plugin's own path, kept as a redirect to FastAPI's.
    app.view_functions["swagger.swagger"] = lambda: redirect("/docs")
    redoc_page = app.view_functions["redoc.redoc"]

    def redoc() -> Response:
        page = make_response(redoc_page())
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page

    app.view_functions["redoc.redoc"] = redoc
    # validatorUrl: the plugin's page leaves Swagger UI's default, which sends the spec's URL to
    # validator.swagger.io for a badge whenever the page is not on localhost.
    app.config["SWAGGER_CONFIG"] = {"docExpansion": DOC_EXPANSION, "validatorUrl": None}
