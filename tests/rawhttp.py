"""HTTP on a bare connection, for requests that clients such as httpx normalise or refuse to send."""

import contextlib
import http.client
import socket
from collections.abc import Mapping

from tests.clients import Reply


def send(url: str, method: str, path: str, body: bytes | None, headers: Mapping[str, str]) -> Reply:
    """One request with the path exactly as given (httpx would resolve "/static/../x" first)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        # A server may answer early (a 413 from the declared length) and close without reading the rest,
        # as gunicorn's sync worker does: its answer is still there to read, as httpx would.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
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
