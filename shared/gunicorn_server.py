"""gunicorn as both Flask services run it: the settings, the draining sync worker, the proxy's client address.

gunicorn's documented custom-application API, so that the settings live in Python beside the apps:
https://docs.gunicorn.org/en/stable/custom.html. `flask_service/server.py` and
`flask_openapi_service/server.py` each name their app and port and run `GunicornServer`; everything else is
here, once. No web framework: gunicorn and werkzeug's WSGI middleware only.
"""

import functools
import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.util import import_app
from gunicorn.workers.sync import SyncWorker
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.server import ServerOptions

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class DrainingSyncWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker, which on SIGTERM also answers the requests already queued for it.

    A sync worker takes one connection at a time; the others wait in the kernel's accept queue, their requests
    sent. gunicorn stops accepting on SIGTERM, and those clients get a reset (measured: 7 of 8 Locust users'
    requests). uvicorn, gthread and gevent accept every connection at once and finish them all. This worker
    takes what was queued when it stopped, answers it, and closes: only requests sent later are refused.
    """

    def run(self) -> None:
        super().run()
        for listener in self.sockets:
            listener.setblocking(False)
            # Twice: what was queued when it stopped, then what joined the queue while that was answered (a
            # connection sent before the stop whose handshake ended meanwhile; one count left it to the
            # master's close, a reset). What comes later still is refused, or the drain would never end.
            for _ in range(2):
                for _ in range(queued_connections(listener)):
                    try:
                        self.accept(listener)
                    except OSError:  # BlockingIOError: another worker took it
                        break
            listener.close()


def queued_connections(listener: Any) -> int:
    """Connections waiting in a listening socket's accept queue (Linux's TCP_INFO; elsewhere unknown: 0)."""
    if sys.platform != "linux" or listener.family not in (socket.AF_INET, socket.AF_INET6):
        return 0
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
    # struct tcp_info: 8 one-byte fields, then u32s; on a listener, tcpi_unacked is the accept queue's length.
    return int(struct.unpack_from("8B5I", info)[-1])


class ProxyFixFrom:
    """werkzeug's ProxyFix (Flask's docs, "Tell Flask it is Behind a Proxy"), for a trusted proxy's requests.

    uvicorn takes the client's address from X-Forwarded-For when the peer is in forwarded_allow_ips; gunicorn
    reads that setting for the scheme alone and leaves REMOTE_ADDR, which its access log prints, the peer's:
    nginx's. ProxyFix trusts any peer, so it is applied here only to requests from those addresses.
    """

    def __init__(self, app: "WSGIApplication", trusted: Callable[[str], bool]) -> None:
        self.app, self.fixed, self.trusted = app, ProxyFix(app, x_for=1, x_proto=1), trusted

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if self.trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def address_in(allowed: str) -> Callable[[str], bool]:
    """Whether an address is in a comma-separated list of addresses and networks ("*": any), as gunicorn and
    uvicorn read FORWARDED_ALLOW_IPS."""
    entries = [entry.strip() for entry in allowed.split(",") if entry.strip()]
    networks = [ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"]

    # A few addresses, asked on every request: a dict lookup after the first time.
    @functools.lru_cache(maxsize=1024)
    def check(address: str) -> bool:
        if "*" in entries:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    return check


def say_ready(worker: Any) -> None:
    """gunicorn's post_worker_init hook: each worker says when it has loaded the app, as uvicorn's workers do
    ("Application startup complete."), so that a replaced worker's return is in the log (loadtests/crash.py
    reads it)."""
    worker.log.info("Worker ready (pid: %s)", worker.pid)


def server_config(options: ServerOptions) -> dict[str, Any]:
    worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
    if worker_class == "sync":
        worker_class = f"{__name__}.DrainingSyncWorker"
    return {
        "bind": f"{options.host}:{options.port}",
        "workers": options.workers,
        "worker_class": worker_class,
        "threads": int(os.environ.get("GUNICORN_THREADS", "1")),
        "accesslog": "-" if options.access_log else None,
        # The scheme from nginx's X-Forwarded-Proto, trusted from nginx only; the address: ProxyFixFrom.
        "forwarded_allow_ips": options.forwarded_allow_ips,
        # Each worker imports the app, so each loads the model once; no --preload.
        "preload_app": False,
        # SIGTERM lets requests in flight finish for up to this long.
        "graceful_timeout": 10,
        "timeout": 30,
        # Above the limits the apps enforce (shared/limits.py), so that the apps answer first, in JSON.
        "limit_request_line": 8190,
        "limit_request_fields": 200,
        "limit_request_field_size": 16380,
        # gunicorn 24+ opens a control socket at a fixed path; two servers on one machine would share it.
        "control_socket_disable": True,
    }


class ForegroundArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which stops on SIGHUP as on SIGTERM, gracefully: it runs in the foreground of a
    command (make run-flask, make run-nginx), where SIGHUP means the terminal closed. gunicorn's own SIGHUP
    reloads the workers, for a daemon, and would keep it running with nobody to stop it."""

    def handle_hup(self) -> None:
        self.handle_term()


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving the app at `app` ("package.module:variable") with `config` (server_config's)."""

    def __init__(self, app: str, config: dict[str, Any]) -> None:
        self.app, self.config = app, config
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.config.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", say_ready)  # a hook, not a setting: not in the line printed

    def load(self) -> Any:
        return ProxyFixFrom(import_app(self.app), address_in(self.config["forwarded_allow_ips"]))

    def run(self) -> None:
        """BaseApplication.run, with the master above."""
        try:
            ForegroundArbiter(self).run()
        except RuntimeError as exc:
            sys.exit(f"\nError: {exc}\n")
