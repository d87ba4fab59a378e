"""What both servers are told, read from the environment: where to listen and how many workers to run."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.settings import positive_int_from_env


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    workers: int
    access_log: bool
    # Who may tell the server a request's client address and scheme (X-Forwarded-For, X-Forwarded-Proto):
    # nginx's address (docs/deployment.md). gunicorn's and uvicorn's own variable and default.
    forwarded_allow_ips: str

    @classmethod
    def from_env(cls, default_port: int, environ: Mapping[str, str] = os.environ) -> "ServerOptions":
        return cls(
            host=environ.get("HOST", "127.0.0.1"),
            port=positive_int_from_env("PORT", default_port, environ),
            # One worker per core given to the server; the benchmark sets WORKERS for both services alike.
            workers=positive_int_from_env("WORKERS", 1, environ),
            # Off by default: a log line per request costs both servers CPU the benchmark does not measure.
            access_log=environ.get("ACCESS_LOG", "0").lower() in {"1", "true", "yes", "on"},
            forwarded_allow_ips=environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        )
