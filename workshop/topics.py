"""What to read in the diff, topic by topic, in course order, with what each difference teaches.

The code shown is read from the packages when the diff runs; only these notes are written by hand.
Each note names a few `anchors`, strings that must still be in the files it describes: if one disappears,
the note may be out of date, and `make diff` and tests/test_workshop.py say so.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

FLASK_FASTAPI = ("flask_service", "fastapi_service")


@dataclass(frozen=True)
class Topic:
    name: str
    title: str
    file: str  # the pair: <left package>/<file> and <right package>/<file>
    module: str  # the course module in docs/workshop/ that reads it
    note: str
    # Top-level definitions to show instead of the whole file: (the left side's names, the right side's).
    focus: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    anchors: tuple[tuple[str, ...], tuple[str, ...]] = field(default=((), ()))
    packages: tuple[str, str] = FLASK_FASTAPI  # the left side and the right side


TOPICS: tuple[Topic, ...] = (
    Topic(
        "structure",
        "App structure: one factory each, and where the model lives",
        "app.py",
        "01-structure-and-routing.md",
        "Both build the app in create_app(settings). Flask loads the model in the factory, into "
        "app.extensions, once per gunicorn worker, and has no shutdown hook (weakref.finalize closes the "
        "upstream client). FastAPI loads it in the lifespan, into app.state, before the first request, and "
        "closes the client when the server stops. The rest of each file is what it takes to make both answer "
        "every request the same way.",
        anchors=(("app.extensions", "def create_app"), ("lifespan", "app.state", "def create_app")),
    ),
    Topic(
        "routing",
        "Routing: Resource classes against decorated functions",
        "routes.py",
        "01-structure-and-routing.md",
        "The same five operations in the same order with the same docstrings. flask-restx: a Resource class"
        " per URL on a Namespace, one method per HTTP verb, the body read by calling load_json_body, the "
        "model fetched from the app context, the answer shaped by marshal_with. FastAPI: one decorated "
        "function per operation whose parameters say what it reads (a Penguin body, a path integer, the "
        "model as a dependency, PenguinModelDep) and whose return type shapes the answer. Note def against "
        "async def in FastAPI: CPU-bound views are plain def and run in the thread pool.",
        anchors=(("Resource", "marshal_with", "load_json_body"), ("@router.get", "PenguinModelDep")),
    ),
    Topic(
        "validation",
        "Validation: marshmallow and restx models against one pydantic model",
        "schemas.py",
        "02-validation.md",
        "FastAPI declares each shape once, as a pydantic model, and gets validation, error messages and the"
        " OpenAPI schema from it. The Flask side declares the request shapes twice: a marshmallow Schema "
        "validates, a restx Model documents (Swagger 2.0). Both say the same rules (strict numbers, the "
        "bounds, the enums, no unknown fields) each in its own library's words; tests/test_specs.py keeps the"
        " two Flask declarations in step, and ContractSchema (contract.py) makes marshmallow's errors "
        "pydantic's.",
        anchors=(("class PenguinSchema", "penguin_model = Model"), ("class Penguin(BaseModel)",)),
    ),
    Topic(
        "errors",
        'Error bodies: every error as {"detail": ...} JSON',
        "errors.py",
        "02-validation.md",
        "Each side registers handlers so that every error, whichever layer raised it, answers JSON with a "
        "`detail`: on Flask both restx's handlers and Flask's own (outside restx's resources), with restx's "
        '{"message": ...} switched off and werkzeug\'s sentences replaced by the status phrase; on FastAPI '
        "one handler per exception class, Starlette's HTTPException covering 404, 405, 413 and 415.",
        anchors=(("def http_error", "api.errorhandler"), ("def http_error", "add_exception_handler")),
    ),
    Topic(
        "contract",
        "The contract's glue: what each side adds to answer one contract",
        "contract.py",
        "02-validation.md",
        "Not framework idiom but its price: what exists only so that both services answer alike. Flask "
        "reproduces pydantic: its sentences (MESSAGES), marshmallow's errors turned into them "
        "(ContractSchema), every error at once in pydantic's order (flatten), FastAPI's "
        "RequestValidationError and the body guard that parses JSON (load_json_body: 415, 413, "
        "json_invalid). FastAPI needs less: the body guard as a route class (JSONBodyRoute), a 422 handler "
        "that does not echo the input. Both refuse an oversized request line or headers (414, 431) in "
        "JSON. Compare the two files' lengths.",
        anchors=(("MESSAGES", "class ContractSchema", "def load_json_body"), ("class JSONBodyRoute",)),
    ),
    Topic(
        "docs",
        "Interactive docs: Swagger UI and ReDoc, offline",
        "docs.py",
        "03-interactive-docs.md",
        "flask-restx ships Swagger UI (for its Swagger 2.0 spec) but no ReDoc, so Flask adds a ReDoc page. "
        "FastAPI has both pages for its OpenAPI 3.1 spec but loads them from a CDN by default, so it serves "
        "them from local files, as its docs show. Either way the pages work with no network: the files are "
        "a blueprint's static folder on one side, a StaticFiles mount on the other, and both open Swagger UI "
        "the same way (DOC_EXPANSION).",
        anchors=(
            ("REDOC_PAGE", "Blueprint", "SWAGGER_UI_DOC_EXPANSION"),
            ("get_swagger_ui_html", "StaticFiles"),
        ),
    ),
    Topic(
        "async",
        "Async and I/O: the same upstream call, sync against async",
        "routes.py",
        "04-async-and-io.md",
        "Both fetch an observation with httpx2, the same library. Flask's view calls a pooled httpx2.Client "
        "and waits: a gunicorn sync worker can do nothing else meanwhile. FastAPI's async def awaits a "
        "pooled httpx2.AsyncClient, given to it as a dependency (UpstreamDep): the event loop serves other "
        "requests during the wait, then the CPU-bound model call goes to the thread pool (run_in_threadpool)"
        " so the loop never blocks. What each failure becomes (404, 503, 504) is shared/upstream.py.",
        focus=(
            ("upstream_of_app", "PenguinPrediction"),
            ("upstream_of_app", "UpstreamDep", "penguin_prediction"),
        ),
        anchors=(("httpx2.Client",), ("httpx2.AsyncClient", "await", "run_in_threadpool")),
    ),
    Topic(
        "performance",
        "Performance: where a prediction's CPU goes",
        "routes.py",
        "05-performance.md",
        "The model call is the same shared code on both sides; what differs is everything around it. Flask "
        "parses the JSON, validates with marshmallow (pure Python) and marshals the answer with restx. "
        "FastAPI validates with pydantic-core (compiled Rust) and serialises through the model its return "
        "type names. predict is a plain def on FastAPI: CPU-bound work in async def would stall the event "
        "loop.",
        focus=(("Predict", "PredictBatch"), ("predict", "predict_batch")),
        anchors=(("load_json_body", "marshal_with"), ("def predict(", "def predict_batch(")),
    ),
    Topic(
        "server",
        "Servers: gunicorn against uvicorn, configured alike",
        "server.py",
        "05-performance.md",
        "Both are started by `python -m <package>.server` and read the same variables. gunicorn pre-forks "
        "workers; the default sync worker handles one request at a time and closes the connection after it "
        "(it expects a buffering proxy in front). uvicorn runs one event loop per worker, with uvloop and "
        "httptools, and keeps connections alive. GUNICORN_WORKER_CLASS switches Flask to gthread or gevent. "
        "gunicorn's settings are in shared/gunicorn_server.py (server_config): both Flask services run it, "
        "so flask_openapi_service/server.py is this file with its names; read server_config beside uvicorn's "
        "here.",
        anchors=(("GunicornServer", "server_config"), ("uvicorn.run", "uvloop")),
    ),
    Topic(
        "openapi-validation",
        "Flask with pydantic: FastAPI's models, as they are",
        "schemas.py",
        "06-flask-openapi3.md",
        "flask-openapi3 validates with pydantic and documents with the same models, so this schemas.py is "
        "FastAPI's, line for line. The one model of its own is PenguinPath: the extension reads a path "
        "parameter from a model (a view's `path` argument), where FastAPI reads it from the view's signature "
        "(Path(gt=0)). Set it beside the flask-restx side's two declarations: make diff TOPIC=validation.",
        anchors=(("class PenguinPath(BaseModel)", "class Penguin(BaseModel)"), ("class Penguin(BaseModel)",)),
        packages=("flask_openapi_service", "fastapi_service"),
    ),
    Topic(
        "openapi-routing",
        "Flask with pydantic: views that take their body as a model",
        "routes.py",
        "06-flask-openapi3.md",
        "The views read as FastAPI's: `def predict(body: Penguin)` gets a validated Penguin, and the "
        "decorator names the responses. What differs is Flask's: the model comes from the app context "
        "(penguin_model_of_app) where FastAPI has a dependency, every view is a plain def (gunicorn's sync "
        "worker runs one request at a time), the path parameter arrives as a model (path: PenguinPath), and "
        "each view dumps its response model itself: the extension documents response models but does not "
        "serialise with them. Its responses name a model per status, without FastAPI's descriptions.",
        anchors=(
            ("APIBlueprint", "body: Penguin", "path: PenguinPath", ".model_dump()"),
            ("@router.post", "PenguinModelDep"),
        ),
        packages=("flask_openapi_service", "fastapi_service"),
    ),
    Topic(
        "openapi-contract",
        "The glue, Flask against Flask: with marshmallow, with pydantic",
        "contract.py",
        "06-flask-openapi3.md",
        "One framework, two stacks. With marshmallow, Flask's glue rewrites every error in pydantic's words "
        "(MESSAGES, ContractSchema, flatten, load_json_body). With pydantic the words are right already: "
        "what is left is where they go and what comes before them. validation_error (the extension's "
        "validation_error_callback) puts `body` or `path` before each `loc` and drops input, ctx and url; "
        "guard_json_body answers 415, 413 and the body errors the extension would word its own way, before "
        "it reads the body; documented mends the spec (pydantic's examples, 422s only where something is "
        "validated). What both Flask sides keep alike: RequestHeadLimits, drain_body, detail_of. Compare the "
        "two files' lengths.",
        anchors=(
            ("MESSAGES", "class ContractSchema", "def flatten"),
            ("def validation_error", "def guard_json_body", "def documented"),
        ),
        packages=("flask_service", "flask_openapi_service"),
    ),
    Topic(
        "openapi-docs",
        "Flask with pydantic: the docs pages from the extension's plugins",
        "docs.py",
        "06-flask-openapi3.md",
        "Both serve Swagger UI and ReDoc from local files. FastAPI takes them from fastapi-offline and "
        "renders its own pages; flask-openapi3's plugins (flask-openapi3-swagger, -redoc) bring their pages "
        "and files in their wheels. The extension would put them under /openapi/ with a page listing them at "
        "the prefix; here they are registered at FastAPI's paths instead, the plugin's /swagger kept as a "
        "redirect to /docs, Swagger UI's validator badge (a request to validator.swagger.io) switched off.",
        anchors=(("SwaggerPlugin", "ReDocPlugin", "validatorUrl"), ("get_swagger_ui_html", "StaticFiles")),
        packages=("flask_openapi_service", "fastapi_service"),
    ),
)


def topic_named(name: str, topics: Sequence[Topic] = TOPICS) -> Topic:
    """A topic by name, or the whole-file topic of a pair by file name (`routes` or `routes.py`)."""
    for topic in topics:
        if topic.name == name:
            return topic
    file = name if name.endswith(".py") else f"{name}.py"
    for topic in topics:
        if topic.file == file and topic.focus is None:
            return topic
    choices = ", ".join(topic.name for topic in topics)
    raise KeyError(f"no topic or pair {name!r}; choose one of: {choices} (or a file such as routes.py)")
