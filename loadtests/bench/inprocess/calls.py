"""Call a WSGI or an ASGI app in-process: no socket, no server, only the app's own work.

Each function returns a zero-argument callable that makes one request and returns (status, body), so that
`inprocess.microbench.time_call` can time it. What a call costs beyond the app is a dict copy and a few
small objects, the same for every app of a protocol.

    with asgi_lifespan(app) as lifespan:           # the app's startup runs once; app.state is filled
        call = asgi_call(app, "GET", "/health", lifespan=lifespan)
        status, body = call()
"""

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from wsgiref.util import setup_testing_defaults

Headers = Iterable[tuple[str, str]]
Call = Callable[[], tuple[int, bytes]]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def wsgi_call(app: WSGIApp, method: str, path: str, body: bytes | None = None, headers: Headers = ()) -> Call:
    """One request to a WSGI app (PEP 3333), its environ built once and copied per call."""
    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote(route, "latin-1"),
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    setup_testing_defaults(environ)
    payload = body or b""

    def call() -> tuple[int, bytes]:
        status: list[str] = []

        def start_response(line: str, response_headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
            status.append(line)
            return lambda data: None

        result = app({**environ, "wsgi.input": io.BytesIO(payload)}, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(status[-1].split(" ", 1)[0]), content

    return call


@dataclass(frozen=True)
class Lifespan:
    """A started ASGI app: the state its startup left for requests, and how to run one on its loop."""

    state: dict[str, Any]
    run: Callable[[Coroutine[Any, Any, tuple[int, bytes]]], tuple[int, bytes]]


@contextmanager
def asgi_lifespan(
    app: ASGIApp, loop_factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
) -> Iterator[Lifespan]:
    """The app started as a server starts it: its lifespan once, on a new event loop (uvicorn's is
    `uvloop.new_event_loop`), its shutdown on exit; each request then a task on that loop.

    The loop only runs inside `run_until_complete(main)`, as a server's loop runs inside
    `asyncio.run(server.serve())`: anyio takes `main` for its root task, so the thread pool that runs
    FastAPI's `def` endpoints keeps its threads from one request to the next (with each request its own
    root, anyio would start and stop a thread per request, as no server does).
    """
    loop = loop_factory()
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    started: asyncio.Future[Message] = loop.create_future()
    stopped: asyncio.Future[Message] = loop.create_future()
    closing: asyncio.Future[None] = loop.create_future()
    state: dict[str, Any] = {}

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        future = started if message["type"].startswith("lifespan.startup") else stopped
        if not future.done():
            future.set_result(message)

    async def lifespan() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}, receive, send)

    async def first(*awaitables: asyncio.Future[Any]) -> None:
        await asyncio.wait(awaitables, return_when=asyncio.FIRST_COMPLETED)

    async def server() -> None:
        await closing

    main = loop.create_task(server())

    def advance(until: asyncio.Future[Any]) -> None:
        """Run the loop until `until` is done, then pause it with `main` still pending."""
        until.add_done_callback(lambda _: loop.stop())
        try:
            loop.run_until_complete(main)
        except RuntimeError:
            if main.done():  # raised by main itself, not "Event loop stopped before Future completed"
                raise

    def run(request: Coroutine[Any, Any, tuple[int, bytes]]) -> tuple[int, bytes]:
        task = loop.create_task(request)
        advance(task)
        return task.result()

    inbox.put_nowait({"type": "lifespan.startup"})
    lifespan_task = loop.create_task(lifespan())
    try:
        advance(loop.create_task(first(started, lifespan_task)))
        reply = started.result() if started.done() else {"type": "lifespan.startup.failed"}
        if reply["type"] != "lifespan.startup.complete":
            if lifespan_task.done():
                lifespan_task.result()  # the app's own exception, if it raised one
            raise RuntimeError(f"the app's startup failed: {reply.get('message', reply['type'])}")
        yield Lifespan(state, run)
        inbox.put_nowait({"type": "lifespan.shutdown"})
        advance(loop.create_task(first(stopped, lifespan_task)))
        closing.set_result(None)
        loop.run_until_complete(asyncio.gather(main, lifespan_task))
    finally:
        # When the app or the caller raised, the app's tasks are cancelled before their loop is closed.
        for task in (main, lifespan_task):
            task.cancel()
        loop.run_until_complete(asyncio.gather(main, lifespan_task, return_exceptions=True))
        loop.close()


def asgi_call(
    app: ASGIApp,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Headers = (),
    *,
    lifespan: Lifespan,
) -> Call:
    """One request to an ASGI app (HTTP, ASGI 3), run on the loop that `asgi_lifespan(app)` started."""
    request = asgi_request(app, method, path, body, headers, lifespan=lifespan)
    return lambda: lifespan.run(request())


def asgi_calls(
    app: ASGIApp,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Headers = (),
    *,
    lifespan: Lifespan,
    concurrency: int,
) -> Call:
    """`concurrency` identical requests at once on the app's loop, as a server with that many connections
    delivers them; the answer is the first one's, and every other must be the same."""
    request = asgi_request(app, method, path, body, headers, lifespan=lifespan)

    async def together() -> tuple[int, bytes]:
        answers = await asyncio.gather(*(request() for _ in range(concurrency)))
        if any(answer != answers[0] for answer in answers):
            raise AssertionError("concurrent requests got different answers")
        return answers[0]

    return lambda: lifespan.run(together())


def asgi_request(
    app: ASGIApp,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Headers = (),
    *,
    lifespan: Lifespan,
) -> Callable[[], Coroutine[Any, Any, tuple[int, bytes]]]:
    """A coroutine function that makes one request to an ASGI app and returns (status, body)."""
    route, _, query = path.partition("?")
    raw_headers = [(b"host", b"testserver")]
    raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if body is not None:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(route),
        "raw_path": route.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    request_message = {"type": "http.request", "body": body or b"", "more_body": False}

    async def one_request() -> tuple[int, bytes]:
        status: list[int] = []
        chunks: list[bytes] = []
        done = asyncio.Event()
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return dict(request_message)
            await done.wait()  # a server says "disconnected" only once the client is gone
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await app({**scope, "state": dict(lifespan.state)}, receive, send)
        done.set()
        return status[0], b"".join(chunks)

    return one_request
