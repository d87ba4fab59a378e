"""Where the docs pages' scripts and styles live on disk, so no page loads anything from a CDN.

The files come from the `fastapi-offline` package (Swagger UI, ReDoc and a favicon). It is located
without being imported, so `shared/` stays free of any web framework.
"""

import importlib.util
from pathlib import Path

API_TITLE = "Penguin species API"
API_DESCRIPTION = (
    "Predicts the species of a Palmer penguin (Adelie, Chinstrap or Gentoo) from its measurements."
)
# The model card's cost figures, as both specs describe them.
COST_DESCRIPTION = "CPU microseconds per model call on {rows}, measured by `make model` on the CPU it ran on"
# The path parameter of GET /penguins/{penguin_id}/prediction, as every spec describes it.
PENGUIN_ID = "1-based row of the Palmer Penguins data"
STATIC_URL = "/static"
# How Swagger UI opens on every service: every operation listed, collapsed (Swagger UI's own default).
DOC_EXPANSION = "list"
# ReDoc's bundle asks cdn.redoc.ly for the logo of its "API docs by Redocly" link, whoever serves its files:
# this policy on the ReDoc page keeps every request the page makes on the service (scripts and styles inline
# or its own, images its own or inline, its search worker from a blob). tests/test_docs_browser.py checks it.
REDOC_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:"
)


def docs_assets_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("fastapi-offline is not installed; run `make venv`")
    return Path(spec.origin).parent / "static"
