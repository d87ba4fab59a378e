"""HTTP on a bare connection, for requests that clients such as httpx normalise or refuse to send."""

import contextlib
import http.client
import socket
from typing import Any

from tests.clients import CHUNK, Headers, Reply, encode, header_pairs


def send(
    url: str, method: str, path: str, body: bytes | None, headers: Headers, chunked: bool = False
) -> Reply:
    """One request with the path exactly as given (httpx would resolve "/static/../x" first), its body
    declared or, `chunked`, sent in chunks of 64 KiB."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in header_pairs(headers):
            connection.putheader(name, value)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            connection.putheader("Content-Length", str(len(body)))
        # A server may answer early (a 413 from the declared length) and close without reading the rest,
        # as gunicorn's sync worker does: its answer is still there to read, as httpx would.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if chunked:
                data = body or b""
                connection.endheaders(
                    (data[i : i + CHUNK] for i in range(0, len(data), CHUNK)), encode_chunked=True
                )
            else:
                connection.endheaders(body)
        response = connection.getresponse()
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, reply_headers, response.read())
    finally:
        connection.close()


def send_bytes(url: str, data: bytes) -> tuple[int, str]:
    """Raw bytes, then the status and content type of whatever the server answers before closing."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheader("Content-Type", "")


class LiveClient:
    """The behaviour suite's client interface (tests/clients.py) over a live server, so that a suite written
    for the apps in-process also runs against a URL (through nginx, for one)."""

    def __init__(self, framework: str, url: str) -> None:
        self.framework, self.url = framework, url

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
        return send(self.url, method, path, data, all_headers, chunked)
