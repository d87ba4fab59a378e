"""The contract's glue: what this service does only so that both services answer one contract.

Left to itself, FastAPI would answer a few requests its own way: its 422 echoes the rejected input, it parses
a body that is not JSON or is over the limit, and it sets no limit on the request line and headers.
"""

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import (
    UNSUPPORTED_MEDIA_TYPE,
    header_field_bytes,
    is_json_media_type,
    payload_too_large,
    request_head_problem,
)
from shared.json_body import parse_json_body
from shared.limits import DRAIN_MAX_BYTES, DRAIN_MAX_S


class LimitedRequest(Request):
    """Reads at most `max_body_bytes`, whether the client declared a length or streamed in chunks, and
    parses JSON as the Flask service does (FastAPI turns a JSONDecodeError into the contract's 422)."""

    max_body_bytes: int

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await self.drain(int(declared))
                raise HTTPException(413, payload_too_large(self.max_body_bytes))
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > self.max_body_bytes:
                    await self.drain(None)
                    raise HTTPException(413, payload_too_large(self.max_body_bytes))
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def drain(self, declared: int | None) -> None:
        """Read and drop the rest of a refused body, within bounds: the client then reads the 413."""
        if declared is not None and declared > DRAIN_MAX_BYTES:
            return  # it would be reset anyway: do not read what cannot help
        left = DRAIN_MAX_BYTES
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_MAX_S):
                while left > 0:
                    message = await self.receive()  # not self.stream(): a refused one is half consumed
                    if message["type"] != "http.request":
                        return
                    left -= len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


class JSONBodyRoute(APIRoute):
    """A route whose body, if it takes one, must be JSON and within the size limit, checked before parsing.

    FastAPI's documented way to customise request handling per route: https://fastapi.tiangolo.com/how-to/custom-request-and-route/
    Not FastAPI's own `max_body_size`: its limit (Starlette's RequestBodyLimitMiddleware,
    https://github.com/Kludex/starlette/pull/3431) answers a declared oversized body with a plain-text
    "Content Too Large" that replaces whatever the app answers, its JSON handlers and the 415 included.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def guarded_handler(request: Request) -> Response:
            if not is_json_media_type(request.headers.get("content-type")):
                raise HTTPException(415, UNSUPPORTED_MEDIA_TYPE)
            limited = LimitedRequest(request.scope, request.receive)
            limited.max_body_bytes = request.app.state.settings.max_body_bytes
            return await handler(limited)

        return guarded_handler


class RequestHeadLimits:
    """414 or 431 for an oversized request target or headers, in the contract's JSON, before routing.

    A pure ASGI middleware: Starlette's BaseHTTPMiddleware would cost every request far more.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target_bytes = len(scope["path"].encode()) + len(scope["query_string"])
            problem = request_head_problem(target_bytes, header_field_bytes(scope["headers"]))
            if problem is not None:
                status, detail = problem
                await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with loc, msg and type only: never the rejected input."""
    # FastAPI's default handler echoes the input, and fails on NaN.
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def add_contract(app: FastAPI) -> None:
    """The glue of this module, installed on the app."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_middleware(RequestHeadLimits)
