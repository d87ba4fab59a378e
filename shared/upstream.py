"""What the services make of the upstream observation service's answers, the same on both.

Each service fetches with httpx2 (a pooled `Client` in Flask, an `AsyncClient` in FastAPI); everything after
the fetch, including which failure becomes which status, is here, but for the check of the observation itself:
each service makes it with the schema it checks a request's Penguin with (its `observed_penguin`).

Why httpx2, not httpx 0.28: the same API (httpx's author started it; Pydantic maintains it), but httpx 0.28's
transport, httpcore 1.0.9, costs an `AsyncClient` about 0.9 ms of CPU per call with 32 calls in flight on a
50 ms upstream, and 1.4-2.3 ms when its CPU is the limit (a 0 ms upstream), against 0.45-0.5 ms for httpx2's
either way (`python -m loadtests.bench.inprocess.upstream_client` measures it). Two known causes, fixed in
httpx2, not in httpcore: its pool re-scans every connection, polling each idle socket, whenever a request is
queued or released, and re-counts them per idle one (https://github.com/encode/httpcore/pull/1035, fixed by
pydantic/httpx2#974 and #1075); and it retries `import sniffio`, which anyio no longer installs, on every lock
it sets up (https://github.com/encode/httpcore/pull/1103, pydantic/httpx2#1132). No client option avoids
either (trust_env, pool limits, the transport's: measured). On one CPU that held the FastAPI service to about
half of the io bench's bound.
"""

from typing import Any

import httpx2

from shared.json_body import parse_json_body
from shared.limits import PENGUIN_FIELDS


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


def error_for_transport(exc: httpx2.HTTPError) -> UpstreamError:
    """A timeout is a 504; anything else that stops the exchange (refused, reset) is a 503."""
    if isinstance(exc, httpx2.TimeoutException):
        return UpstreamError(504, TIMED_OUT)
    return UpstreamError(503, UNAVAILABLE)


BAD_OBSERVATION = "The observation service answered with an invalid observation"


def bad_observation() -> UpstreamError:
    """The upstream answered 200 with something no request's Penguin could be: a 502 (RFC 9110, 15.6.3)."""
    return UpstreamError(502, BAD_OBSERVATION)


def observation_from_response(penguin_id: int, response: httpx2.Response) -> dict[str, Any]:
    """The Penguin's fields of an upstream answer, still to be validated by the service's own Penguin schema
    (marshmallow's on Flask, pydantic's on FastAPI, as for a request), or the error the client gets instead.

    The upstream's other fields (id, year, species) are no part of a Penguin and are left out; a Penguin
    field it did not send is left out too, so that the schema reports it missing.
    """
    if response.status_code == 404:
        raise not_found(penguin_id)
    if response.status_code != 200:
        raise UpstreamError(503, UNAVAILABLE)
    try:
        # The requests' parser: every way json.loads can fail (deep nesting too) is one ValueError.
        observation = parse_json_body(response.content)
    except ValueError:
        raise bad_observation() from None
    if not isinstance(observation, dict):
        raise bad_observation()
    return {name: observation[name] for name in PENGUIN_FIELDS if name in observation}


# Enough kept-alive connections for every request a worker can have in flight.
POOL_CONNECTIONS = 512


def client_options(upstream_url: str, timeout_s: float) -> dict[str, Any]:
    """The same pool and timeouts for Flask's `httpx2.Client` and FastAPI's `httpx2.AsyncClient`."""
    return {
        "base_url": upstream_url,
        # Applies to connecting, each read and waiting for a pooled connection alike.
        "timeout": httpx2.Timeout(timeout_s),
        "limits": httpx2.Limits(max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_CONNECTIONS),
    }
