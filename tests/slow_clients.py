"""Slow clients (a phone on a bad link, or a slowloris attack) against the services, directly and
behind nginx: 16 clients each send a request a few bytes every 2 s; meanwhile another asks /health 20 times.

A gunicorn sync worker reads one request at a time, so each slow client holds a worker: directly, both Flask
services answer few health checks in time, which is why gunicorn's docs put the sync worker behind a buffering
proxy.
nginx reads the slow requests itself and passes on only whole ones. tests/test_slow_clients.py asserts it;
`python -m tests.slow_clients` prints the figures docs/reliability.md quotes (every service, 2 workers each).
"""

import argparse
import contextlib
import http.client
import socket
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from tests.clients import FRAMEWORKS
from tests.servers import behind_nginx, live_server

SLOW_CLIENTS = 16
HEALTH_CHECKS = 20
CHECK_EVERY_S = 0.1
ANSWERED_WITHIN_S = 2.0
TRICKLE_EVERY_S = 2.0
# A request that never ends: its headers arrive a few bytes at a time.
REQUEST = (
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + b"X-Slow: " + b"s" * 1000
)


@dataclass
class SlowClients:
    """Connections that each send a few bytes of REQUEST every TRICKLE_EVERY_S until stopped."""

    host: str
    port: int
    count: int
    stopped: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        sockets = [socket.create_connection((self.host, self.port), timeout=5) for _ in range(self.count)]
        try:
            offset = 0
            while not self.stopped.is_set() and offset < len(REQUEST):
                for sock in sockets:
                    with contextlib.suppress(OSError):  # the server gave up on it: its right
                        sock.sendall(REQUEST[offset : offset + 3])
                offset += 3
                self.stopped.wait(TRICKLE_EVERY_S)
        finally:
            for sock in sockets:
                sock.close()


def health_check(host: str, port: int, answered: list[float]) -> None:
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=ANSWERED_WITHIN_S)
    try:
        connection.request("GET", "/health")
        if connection.getresponse().status == 200:
            answered.append(time.monotonic() - started)
    except OSError:  # a timeout: not answered within ANSWERED_WITHIN_S
        pass
    finally:
        connection.close()


def answered_with_slow_clients(url: str, slow_clients: int = SLOW_CLIENTS) -> list[float]:
    """The times of the health checks answered within ANSWERED_WITHIN_S, while SLOW_CLIENTS trickle."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    slow = SlowClients(host, int(port), slow_clients)
    trickling = threading.Thread(target=slow.run)
    trickling.start()
    try:
        time.sleep(0.5)  # every slow connection accepted and started
        answered: list[float] = []
        checks = []
        for _ in range(HEALTH_CHECKS):
            checks.append(threading.Thread(target=health_check, args=(host, int(port), answered)))
            checks[-1].start()
            time.sleep(CHECK_EVERY_S)
        for check in checks:
            check.join()
        return [t for t in answered if t <= ANSWERED_WITHIN_S]
    finally:
        slow.stopped.set()
        trickling.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow-clients", type=int, default=SLOW_CLIENTS)
    slow_clients = parser.parse_args().slow_clients
    with tempfile.TemporaryDirectory() as scratch:
        logs, env = Path(scratch), {"WORKERS": "2"}
        with ExitStack() as stack:
            direct = {
                framework: stack.enter_context(live_server(framework, logs, env=env)).url
                for framework in FRAMEWORKS
            }
            with behind_nginx(direct, logs / "nginx") as proxied:
                for via, urls in (("direct", direct), ("behind nginx", proxied)):
                    for framework in FRAMEWORKS:
                        answered = answered_with_slow_clients(urls[framework], slow_clients)
                        median = f", median {statistics.median(answered) * 1000:.0f} ms" if answered else ""
                        print(
                            f"{framework} {via}: {len(answered)} of {HEALTH_CHECKS} health checks answered "
                            f"within {ANSWERED_WITHIN_S:.0f} s{median}, with {slow_clients} slow clients",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
