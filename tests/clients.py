"""One small client interface over Flask's test client and FastAPI's TestClient.

The behaviour suite talks to both apps through it, so every test runs unchanged against each framework.
"""

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.testclient import TestClient
from flask import Flask

from shared.settings import Settings

FRAMEWORKS = ["flask", "fastapi"]


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
        headers: Mapping[str, str] | None = None,
    ) -> Reply: ...


def encode(
    json_body: Any, content: bytes | None, headers: Mapping[str, str] | None
) -> tuple[bytes | None, dict[str, str]]:
    all_headers = dict(headers or {})
    if json_body is not None:
        content = json.dumps(json_body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return content, all_headers


class FlaskClient:
    framework = "flask"

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        data, all_headers = encode(json, content, headers)
        # buffered, then closed: a file response (the docs' static files) would otherwise stay open.
        with self.client.open(path, method=method, data=data, headers=all_headers, buffered=True) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Reply(response.status_code, headers, response.get_data())


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
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        data, all_headers = encode(json, content, headers)
        response = self.client.request(method, path, content=data, headers=all_headers)
        return Reply(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )


@contextmanager
def make_client(framework: str, settings: Settings | None = None) -> Iterator[ApiClient]:
    """A client for a freshly created app, its model loaded as at server start."""
    if framework == "flask":
        from flask_service.app import create_app as create_flask_app

        yield FlaskClient(create_flask_app(settings))
    else:
        from fastapi_service.app import create_app as create_fastapi_app

        # raise_server_exceptions=False: a 500 is answered as a server would, not re-raised into the test.
        with TestClient(create_fastapi_app(settings), raise_server_exceptions=False) as client:
            yield FastAPIClient(client)
