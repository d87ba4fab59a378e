"""What the services make of the upstream observation service's answers, the same on both.

Each service fetches with httpx (a pooled `Client` in Flask, an `AsyncClient` in FastAPI); everything after
the fetch, including which failure becomes which status, is here.
"""

from typing import Any

import httpx

from shared.limits import MEASUREMENTS, PENGUIN_FIELDS


class UpstreamError(Exception):
    """An upstream failure, already mapped to the status and detail the client gets."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def observation_path(penguin_id: int) -> str:
    return f"/observations/{penguin_id}"


def not_found(penguin_id: int) -> UpstreamError:
    return UpstreamError(404, f"No observation of penguin {penguin_id}")


UNAVAILABLE = "The observation service is unavailable"
TIMED_OUT = "The observation service did not answer in time"


def error_for_transport(exc: httpx.HTTPError) -> UpstreamError:
    """A timeout is a 504; anything else that stops the exchange (refused, reset) is a 503."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(504, TIMED_OUT)
    return UpstreamError(503, UNAVAILABLE)


def penguin_from_response(penguin_id: int, response: httpx.Response) -> dict[str, Any]:
    """The Penguin in an upstream answer, or the error the client gets instead."""
    if response.status_code == 404:
        raise not_found(penguin_id)
    if response.status_code != 200:
        raise UpstreamError(503, UNAVAILABLE)
    try:
        observation = response.json()
        penguin = {name: observation[name] for name in PENGUIN_FIELDS}
    except (ValueError, KeyError, TypeError):
        raise UpstreamError(503, UNAVAILABLE) from None
    if not all(isinstance(penguin[name], int | float) for name in MEASUREMENTS):
        raise UpstreamError(503, UNAVAILABLE)
    return penguin


def client_options(upstream_url: str, timeout_s: float) -> dict[str, Any]:
    """The same pool and timeouts for Flask's `httpx.Client` and FastAPI's `httpx.AsyncClient`."""
    return {
        "base_url": upstream_url,
        # Applies to connecting, each read and waiting for a pooled connection alike.
        "timeout": httpx.Timeout(timeout_s),
        # Enough kept-alive connections for every request a worker can have in flight.
        "limits": httpx.Limits(max_connections=512, max_keepalive_connections=512),
    }
