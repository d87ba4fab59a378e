"""A stand-in for the upstream observation service that answers each penguin id with the bytes it is given.

The real upstream (upstream/app.py) serves only good rows; a test that needs an upstream answering 200 with a
bad observation starts this one instead, on a free loopback port, in a thread of the test process.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from shared.observations import observations
from shared.upstream import observation_path

GOOD = json.dumps(observations()[1]).encode()


def with_value(name: str, raw: bytes) -> bytes:
    """Penguin 1's observation, one field's value replaced by raw JSON text (json.dumps cannot write NaN)."""
    start = GOOD.index(f'"{name}": '.encode()) + len(name) + 4
    end = GOOD.index(b",", start)
    return GOOD[:start] + raw + GOOD[end:]


# Each an answer 200 whose body is not an observation a request's Penguin could be: the services answer 502.
BAD_OBSERVATIONS: dict[str, bytes] = {
    "island not one of the three": with_value("island", b'"Atlantis"'),
    "null island": with_value("island", b"null"),
    "unknown sex": with_value("sex", b'"unknown"'),
    "NaN measurement": with_value("bill_length_mm", b"NaN"),
    "boolean measurement": with_value("bill_depth_mm", b"true"),
    "negative measurement": with_value("flipper_length_mm", b"-5"),
    "body mass of a million": with_value("body_mass_g", b"1000000"),
    "measurement as a string": with_value("bill_length_mm", b'"39.1"'),
    "a measurement missing": GOOD.replace(b'"bill_depth_mm": 18.7, ', b""),
    "not an object": b"[" + GOOD + b"]",
    "not JSON at all": b"<html>Service temporarily rerouted</html>",
    "JSON nested too deeply": b"[" * 100_000 + b"]" * 100_000,
}


class Fault(NamedTuple):
    """An upstream's failure: its status, after a delay (a 200 after a long one is a slow upstream)."""

    status: int
    delay_s: float = 0.0


@contextmanager
def canned_upstream(bodies: Mapping[int, bytes | Fault]) -> Iterator[str]:
    """An upstream at the URL yielded: 200 with `bodies[id]` for each id given, the fault's answer for a
    Fault (the upstream's own body: the injected fault's detail, or a good observation after its delay),
    404 for any other."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the services' pooled clients expect

        def do_GET(self) -> None:
            found = {observation_path(penguin_id): body for penguin_id, body in bodies.items()}
            answer = found.get(self.path)
            status, body = (200, answer) if isinstance(answer, bytes | None) else fault_answer(answer)
            self.send_response(404 if body is None else status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: a test's output is its own

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fault_answer(fault: Fault) -> tuple[int, bytes]:
    time.sleep(fault.delay_s)  # in this request's own thread (ThreadingHTTPServer): the others go on
    return fault.status, GOOD if fault.status == 200 else b'{"detail": "Injected fault"}'


@contextmanager
def silent_upstream() -> Iterator[str]:
    """An upstream at the URL yielded that takes connections (the kernel's backlog does) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


# Where `canned_upstream(BAD_UPSTREAM)` serves each bad observation; the good one is at 1.
BAD_OBSERVATION_IDS = {name: penguin_id for penguin_id, name in enumerate(BAD_OBSERVATIONS, start=2)}
# And the upstream's faults, where the live tests ask for them (no observation has these ids): an error,
# and an answer slower than any timeout a test gives a service. Any other id: 404, as the real upstream's.
ERRORING_ID, SLOW_ID, UNKNOWN_ID = 90, 91, 99
FAULTS = {ERRORING_ID: Fault(500), SLOW_ID: Fault(200, delay_s=3.0)}
BAD_UPSTREAM: dict[int, bytes | Fault] = {
    1: GOOD,
    **{BAD_OBSERVATION_IDS[name]: body for name, body in BAD_OBSERVATIONS.items()},
    **FAULTS,
}
