"""Docs cannot drift from validation: the specs describe the same API, and the docs pages work offline.

flask-restx publishes Swagger 2.0, FastAPI and flask-openapi3 OpenAPI 3.1; `normalise` maps them to one plain
form (resolved references, one spelling of bounds, examples and nullability) so they can be compared
structurally, each with FastAPI's.
"""

import re
from typing import Any
from urllib.parse import urljoin

import pytest

from shared.docs import DOC_EXPANSION
from shared.examples import EXAMPLE_PENGUIN
from shared.limits import MAX_BATCH_SIZE, MEASUREMENTS
from shared.settings import Settings
from tests.clients import FRAMEWORKS, REFERENCE, ApiClient, make_client

SPEC_URL = {"flask": "/swagger.json", "fastapi": "/openapi.json", "flask_openapi": "/openapi.json"}
DOCS_PAGES = ("/docs", "/redoc")
# docs/contract.md: the pages' files are under /static/ on Flask and FastAPI, and restx's own Swagger UI under
# /swaggerui/; flask-openapi3's plugins keep theirs under /swagger/ and /redoc/.
DOCS_ASSET_PREFIXES = {
    "flask": ("/static/", "/swaggerui/"),
    "fastapi": ("/static/",),
    "flask_openapi": ("/swagger/", "/redoc/"),
}
# What a page loads: src= and href= outside HTML comments, resolved against the page's URL.
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
# flask-openapi3's own paths for its pages (the swagger plugin's, a redirect to /docs when on).
EXTENSION_PATHS = ("/swagger", "/openapi", "/openapi/", "/openapi/openapi.json", "/oauth2-redirect.html")
KEPT = ("type", "enum", "required", "minItems", "maxItems", "maximum", "exclusiveMinimum", "description")


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        definitions = spec.get("definitions") or spec["components"]["schemas"]
        return {**definitions[name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def normalise(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    schema = resolve(schema, spec)
    out: dict[str, Any] = {}
    if "anyOf" in schema:
        alternatives = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(alternatives) > 1:  # str | int: Swagger 2.0 cannot say it, so both sides are "any"
            return {}
        out["nullable"] = True  # OpenAPI 3.1's "X or null"
        schema = {**resolve(alternatives[0], spec), **{k: v for k, v in schema.items() if k != "anyOf"}}
    if schema.get("x-nullable"):  # Swagger 2.0's extension for the same, null listed in an enum too
        out["nullable"] = True
        if "enum" in schema:
            assert schema["enum"][-1] is None, "a nullable enum must list null, or null fails validation"
            schema = {**schema, "enum": schema["enum"][:-1]}
    for key in KEPT:
        if key in schema:
            out[key] = sorted(schema[key]) if key == "required" else schema[key]
    if schema.get("exclusiveMinimum") is True:  # Swagger 2.0 spells `gt` as minimum + a flag
        out["exclusiveMinimum"] = schema["minimum"]
    if "examples" in schema or "example" in schema:
        out["example"] = schema["examples"][0] if "examples" in schema else schema["example"]
    if schema.get("additionalProperties") is False:
        out["closed"] = True
    if "properties" in schema:
        out["properties"] = {name: normalise(s, spec) for name, s in schema["properties"].items()}
    if "items" in schema:
        out["items"] = normalise(schema["items"], spec)
    return out


def parameters(listed: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    """Path and query parameters by name; Swagger 2.0 puts the schema on the parameter itself."""
    found = {}
    for parameter in listed:
        if parameter["in"] != "body":
            own = ("name", "in", "required", "description")
            schema = parameter.get("schema") or {k: v for k, v in parameter.items() if k not in own}
            found[f"{parameter['in']} {parameter['name']}"] = {
                **normalise(schema, spec),
                "description": parameter.get("description") or schema.get("description"),
                "required": parameter.get("required", False),
            }
    return found


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each operation's summary, parameters, request body and responses, in the normalised form."""
    found = {}
    for path, methods in spec["paths"].items():
        shared_parameters = methods.get("parameters", [])  # Swagger 2.0 may list them for the whole path
        for method, operation in methods.items():
            if method == "parameters":
                continue
            listed = [*shared_parameters, *operation.get("parameters", [])]
            if "requestBody" in operation:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
            else:
                body = next((p["schema"] for p in listed if p["in"] == "body"), None)
            responses = {}
            for code, response in operation["responses"].items():
                content = response.get("content")
                schema = content["application/json"]["schema"] if content else response.get("schema")
                responses[code] = normalise(schema, spec) if schema else None
            summary = (operation.get("description") or operation["summary"]).rstrip(".")
            # Swagger 2.0 and Flask write `<penguin_id>`, OpenAPI and FastAPI `{penguin_id}`.
            openapi_path = re.sub(r"<([^>]+)>", r"{\1}", path)
            found[f"{method.upper()} {openapi_path}"] = {
                "summary": summary,
                "parameters": parameters(listed, spec),
                "body": normalise(body, spec) if body else None,
                "responses": responses,
            }
    return found


@pytest.fixture(scope="module")
def specs() -> dict[str, dict[str, Any]]:
    found = {}
    for framework in FRAMEWORKS:
        url = SPEC_URL[framework]
        with make_client(framework) as client:
            reply = client.request("GET", url)
            assert reply.status == 200
            found[framework] = reply.json()
    return found


def test_spec_versions(specs: dict[str, dict[str, Any]]) -> None:
    assert specs["flask"]["swagger"] == "2.0"
    assert specs["fastapi"]["openapi"].startswith("3.1")
    assert specs["flask_openapi"]["openapi"].startswith("3.1")


@pytest.mark.parametrize("framework", [f for f in FRAMEWORKS if f != REFERENCE])
def test_specs_describe_the_same_operations(specs: dict[str, dict[str, Any]], framework: str) -> None:
    own, reference = operations(specs[framework]), operations(specs[REFERENCE])
    assert sorted(own) == sorted(reference)
    for name, operation in own.items():
        assert operation == reference[name], name


def test_penguin_schema_follows_the_limits(specs: dict[str, dict[str, Any]]) -> None:
    for framework, spec in specs.items():
        body = operations(spec)["POST /predict"]["body"]
        assert body["closed"] is True, framework
        assert body["required"] == sorted(["island", *MEASUREMENTS])
        assert body["properties"]["sex"]["nullable"] is True
        for name, bound in MEASUREMENTS.items():
            field = body["properties"][name]
            assert (field["exclusiveMinimum"], field["maximum"]) == (bound.gt, bound.le), framework
            assert field["example"] == EXAMPLE_PENGUIN[name]
        batch = operations(spec)["POST /predict/batch"]["body"]["properties"]["items"]
        assert (batch["minItems"], batch["maxItems"]) == (1, MAX_BATCH_SIZE)


def test_validation_error_body_is_documented(specs: dict[str, dict[str, Any]]) -> None:
    for spec in specs.values():
        error = operations(spec)["POST /predict"]["responses"]["422"]
        item = error["properties"]["detail"]["items"]
        assert sorted(item["properties"]) == ["loc", "msg", "type"]
        assert item["required"] == ["loc", "msg", "type"]


def test_upstream_errors_are_documented(specs: dict[str, dict[str, Any]]) -> None:
    for framework, spec in specs.items():
        responses = operations(spec)["GET /penguins/{penguin_id}/prediction"]["responses"]
        assert sorted(responses) == ["200", "404", "422", "502", "503", "504"], framework
        for status in ("404", "502", "503", "504"):
            assert responses[status]["properties"]["detail"]["type"] == "string", (framework, status)


def assets_of(page: str, html: str) -> list[str]:
    """The paths of what an HTML page loads, as a browser resolves them from the page's URL."""
    return [urljoin(page, asset) for asset in ASSET.findall(re.sub(r"<!--.*?-->", "", html, flags=re.S))]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_outside(client: ApiClient, page: str) -> None:
    reply = client.request("GET", page)
    assert reply.status == 200
    html = reply.body.decode()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "a page loads a remote resource"
    assert "fonts.googleapis" not in html
    for asset in assets_of(page, html):
        assert client.request("GET", asset).status == 200, asset


def test_swagger_ui_assets_load_nothing_from_outside(client: ApiClient) -> None:
    for asset in assets_of("/docs", client.request("GET", "/docs").body.decode()):
        if asset.endswith(".css"):
            css = client.request("GET", asset).body.decode()
            assert not re.search(r"url\(\s*[\"']?(https?:)?//", css), asset


def test_swagger_ui_opens_the_same_way(client: ApiClient) -> None:
    """Operations listed, each collapsed: Swagger UI's own default, which flask-restx changes to "none"."""
    config = re.findall(
        r"""["']?docExpansion["']?\s*:\s*["']([a-z]+)["']""", client.request("GET", "/docs").body.decode()
    )
    assert config == [DOC_EXPANSION] == ["list"]


def assets_of_docs_pages(client: ApiClient) -> list[str]:
    """Every file the docs pages load (scripts, styles, icons), as the pages name them."""
    found = []
    for page in DOCS_PAGES:
        found += assets_of(page, client.request("GET", page).body.decode())
    return found


def test_docs_assets_are_where_the_contract_says(client: ApiClient) -> None:
    assets = assets_of_docs_pages(client)
    assert assets
    assert [a for a in assets if not a.startswith(DOCS_ASSET_PREFIXES[client.framework])] == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_docs_can_be_switched_off(framework: str) -> None:
    """Off is gone: every page, the spec, and every file the pages load when on (restx's /swaggerui/ too, and
    flask-openapi3's own paths)."""
    with make_client(framework) as docs_on:
        assets = assets_of_docs_pages(docs_on)
    paths = [
        *DOCS_PAGES,
        SPEC_URL[framework],
        *assets,
        *(f"{p}favicon.png" for p in DOCS_ASSET_PREFIXES[framework]),
        *(EXTENSION_PATHS if framework == "flask_openapi" else ()),
    ]
    with make_client(framework, Settings(docs_enabled=False)) as client:
        assert {path: client.request("GET", path).status for path in paths} == dict.fromkeys(paths, 404)
        assert client.request("GET", "/health").status == 200
