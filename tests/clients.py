"""One small client interface over Flask's test client and FastAPI's TestClient.

The behaviour suite talks to every app through it, so every test runs unchanged against each framework.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.testclient import TestClient
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from shared.settings import Settings

# The contract's reference, FastAPI, and the two Flask stacks: flask-restx + marshmallow, and flask-openapi3
# (pydantic). Suites that compare answers compare each with FastAPI's.
FRAMEWORKS = ["flask", "fastapi", "flask_openapi"]
REFERENCE = "fastapi"
# A mapping, or pairs when one header is sent more than once.
Headers = Mapping[str, str] | Sequence[tuple[str, str]]
CHUNK = 65536


def header_pairs(headers: Headers | None) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient(Protocol):
    framework: str

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Headers | None = None,
        chunked: bool = False,
    ) -> Reply: ...


def encode(
    json_body: Any, content: bytes | None, headers: Headers | None
) -> tuple[bytes | None, list[tuple[str, str]]]:
    all_headers = header_pairs(headers)
    if json_body is not None:
        content = json.dumps(json_body).encode()
        if not any(name.lower() == "content-type" for name, _ in all_headers):
            all_headers.append(("Content-Type", "application/json"))
    return content, all_headers


class FlaskClient:
    """Either Flask app (flask_service or flask_openapi_service)."""

    def __init__(self, app: Flask, framework: str = "flask") -> None:
        self.client, self.framework = app.test_client(), framework

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Headers | None = None,
        chunked: bool = False,
    ) -> Reply:
        data, all_headers = encode(json, content, headers)
        if chunked:
            return self.chunked(method, path, data or b"", all_headers)
        # buffered, then closed: a file response (the docs' static files) would otherwise stay open.
        with self.client.open(path, method=method, data=data, headers=all_headers, buffered=True) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Reply(response.status_code, headers, response.get_data())

    def chunked(self, method: str, path: str, data: bytes, headers: list[tuple[str, str]]) -> Reply:
        """As a server hands a chunked body to the app: no CONTENT_LENGTH, the stream ended by the server."""
        environ = EnvironBuilder(path=path, method=method, data=data, headers=headers).get_environ()
        del environ["CONTENT_LENGTH"]
        environ.update({"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
        app_iter, status, response_headers = run_wsgi_app(self.client.application, environ, buffered=True)
        body = b"".join(app_iter)
        return Reply(int(status.split()[0]), {k.lower(): v for k, v in response_headers.items()}, body)


class FastAPIClient:
    framework = "fastapi"

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Headers | None = None,
        chunked: bool = False,
    ) -> Reply:
        data, all_headers = encode(json, content, headers)
        body: bytes | Iterator[bytes] | None = data
        if chunked:  # an iterator: httpx sends it with Transfer-Encoding: chunked
            raw = data or b""
            body = iter([raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK)])
        response = self.client.request(method, path, content=body, headers=all_headers)
        return Reply(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )


@contextmanager
def make_client(framework: str, settings: Settings | None = None) -> Iterator[ApiClient]:
    """A client for a freshly created app, its model loaded as at server start."""
    if framework == "flask":
        from flask_service.app import create_app as create_flask_app

        yield FlaskClient(create_flask_app(settings))
    elif framework == "flask_openapi":
        from flask_openapi_service.app import create_app as create_flask_openapi_app

        yield FlaskClient(create_flask_openapi_app(settings), framework)
    elif framework == "fastapi":
        from fastapi_service.app import create_app as create_fastapi_app

        # raise_server_exceptions=False: a 500 is answered as a server would, not re-raised into the test.
        with TestClient(create_fastapi_app(settings), raise_server_exceptions=False) as client:
            yield FastAPIClient(client)
    else:
        raise ValueError(f"no framework {framework!r}; one of {', '.join(FRAMEWORKS)}")
