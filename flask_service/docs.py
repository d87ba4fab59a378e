"""Swagger UI at /docs (flask-restx's own, which ships its files) and ReDoc at /redoc, both offline.

flask-restx has no ReDoc page; this one is the page ReDoc's docs give, loading the script from local files.
"""

from flask import Blueprint, Flask, Response

from shared.docs import API_TITLE, DOC_EXPANSION, REDOC_CSP, STATIC_URL, docs_assets_dir

FAVICON_URL = f"{STATIC_URL}/favicon.png"
DOCS_ASSETS = "docs_assets"

REDOC_PAGE = f"""<!DOCTYPE html>
<html>
<head>
<title>{API_TITLE} - ReDoc</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="shortcut icon" href="{FAVICON_URL}">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>ReDoc requires Javascript to function. Please enable it to browse the documentation.</noscript>
<redoc spec-url="/swagger.json"></redoc>
<script src="{STATIC_URL}/redoc.standalone.js"></script>
</body>
</html>
"""


def without_restx_assets(app: Flask) -> None:
    """With the docs off, restx's own Swagger UI files (/swaggerui/...) are 404 too.

    restx serves them whatever `doc` says (https://github.com/python-restx/flask-restx/issues/386, open): this
    sets the flag restx reads before registering them, so it takes them as registered already.
    """
    app.extensions.setdefault("restx", {})["apidoc_registered"] = True


def add_docs(app: Flask) -> None:
    # A blueprint's static folder: Flask's way to serve files from a folder that is not the app's own.
    app.register_blueprint(
        Blueprint(DOCS_ASSETS, __name__, static_folder=docs_assets_dir(), static_url_path=STATIC_URL)
    )
    # restx opens Swagger UI with its operations collapsed, where Swagger UI's own default lists them.
    app.config["SWAGGER_UI_DOC_EXPANSION"] = DOC_EXPANSION

    @app.get("/redoc")
    def redoc() -> Response:
        return Response(REDOC_PAGE, mimetype="text/html", headers={"Content-Security-Policy": REDOC_CSP})
