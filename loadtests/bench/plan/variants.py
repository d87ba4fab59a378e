"""The servers under test, as data: which framework, which server variant, and how it is started.

A variant is one way to serve a framework (gunicorn sync workers, uvicorn, Granian, ...). Adding one is one
more entry in CATALOGUE; a profile (loadtests/bench/plan/config.py) or VARIANTS= picks those a run
compares, and the plan, analysis and report take whatever is picked. `scenarios` says where a variant means
something: "cpu" (health, predict, batch, invalid, mixed) or "io" (a route that waits on the upstream).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from loadtests.scenarios import CPU, IO_BOUND

# How many requests one worker process of a variant has in flight at once, while they wait on I/O.
ONE = "one"  # a sync worker, or an event loop stalled by a blocking call
THREADS = "threads"  # one per thread
MANY = "many"  # an event loop, or gevent's greenlets: as many as the connections

# How many worker processes a variant runs on the CPUs it is given, as its server's docs advise.
PER_CPU = "one per CPU"  # uvicorn, Granian, gunicorn's gthread and gevent workers: each keeps its CPU busy
# gunicorn's "How many workers?": "(2 x $num_cores) + 1 ... one worker will be reading or writing from the
# socket while the other worker is processing a request". A sync worker also waits after each response for
# the client to close its end (gunicorn 27's close, RFC 9112 9.6), so one per CPU leaves that CPU idle then.
GUNICORN_SYNC = "2 x CPUs + 1"
# The worker sweep's other points (make bench PROFILE=servers): beside each server's own rule.
TWO_PER_CPU = "two per CPU"
WORKERS_BY_RULE = {PER_CPU: (1, 0), TWO_PER_CPU: (2, 0), GUNICORN_SYNC: (2, 1)}  # workers = a x CPUs + b
# A sweep variant's key is its server's with the rule it runs by (when that is not its own) added.
RULE_SUFFIXES = {PER_CPU: "-per-cpu", TWO_PER_CPU: "-2-per-cpu"}
RULE_LABELS = {PER_CPU: "one worker per CPU", TWO_PER_CPU: "two workers per CPU"}

# The collector a variant's workers serve with (shared/collector.py): the interpreter's, as both services
# serve by default and the headline measures, or tuned (GC_TUNING=1), a finding measured beside it.
INTERPRETER, TUNED = "interpreter", "tuned"
TUNED_SUFFIX = "-gc-tuned"  # a tuned variant's key is its interpreter twin's with this added


@dataclass(frozen=True)
class ServerVariant:
    framework: str
    variant: str
    module: str  # run as `python -m module *args`
    # Values may name {threads}: one thread per user the worker can be sent (see threads_per_worker).
    env: Mapping[str, str] = field(default_factory=dict)
    concurrency: str = MANY
    note: str = ""  # what it is, for the report
    # Arguments after the module, which may name {host}, {port} and {workers}; none: the module reads HOST,
    # PORT and WORKERS (the services' own server modules).
    args: tuple[str, ...] = ()
    scenarios: frozenset[str] = frozenset({CPU, IO_BOUND})
    keeps_alive: bool = True  # whether a client's connection serves more than one request
    # A proxy in front ("nginx": deploy/nginx.py's configuration, on the servers' CPUs); the load goes to it.
    proxy: str = ""
    workers_rule: str = PER_CPU  # PER_CPU, TWO_PER_CPU or GUNICORN_SYNC
    collector: str = INTERPRETER  # INTERPRETER or TUNED: every start says which, whatever the environment
    # A point of the worker sweep: its rule holds even when WORKERS= sets every other server's count.
    rule_fixed: bool = False

    def workers(self, cpus: int) -> int:
        """Worker processes on `cpus` CPUs, by its rule (its server's docs', or a point of the sweep's)."""
        per_cpu, more = WORKERS_BY_RULE[self.workers_rule]
        return per_cpu * max(1, cpus) + more

    @property
    def key(self) -> str:
        return f"{self.framework}-{self.variant}"

    @property
    def label(self) -> str:
        return FRAMEWORK_LABELS.get(self.framework, self.framework) + f" ({variant_label(self.variant)})"

    @property
    def direct(self) -> str:
        """The key of the same server without its proxy (its own key when it has none)."""
        return self.key.removesuffix(f"-{self.proxy}") if self.proxy else self.key

    def environment(self, workers: int, users: int) -> dict[str, str]:
        threads = str(threads_per_worker(users, workers))
        collector = {"GC_TUNING": "1" if self.collector == TUNED else "0"}
        return collector | {name: value.format(threads=threads) for name, value in self.env.items()}

    def arguments(self, host: str, port: int, workers: int) -> list[str]:
        return [arg.format(host=host, port=port, workers=workers) for arg in self.args]

    def in_flight(self, workers: int, users: int) -> int | None:
        """Requests the server holds at once while they wait; None: as many as arrive (here, `users`)."""
        if self.concurrency == ONE:
            return workers
        if self.concurrency == THREADS:
            return workers * threads_per_worker(users, workers)
        return None


def threads_per_worker(users: int, workers: int) -> int:
    """gthread's threads: enough for every user's request to have one (users / workers, rounded up). Fewer
    would make requests queue for a thread, so the bound would be threads x workers / latency, not users /
    latency; more only cost memory and GIL contention."""
    return max(1, math.ceil(users / max(1, workers)))


# A framework's name in a key is what comes before its first "-": "flask_openapi", never "flask-openapi".
FRAMEWORK_LABELS = {"flask": "Flask", "fastapi": "FastAPI", "flask_openapi": "Flask-OpenAPI3"}


def variant_label(variant: str) -> str:
    """ "uvicorn-gc-tuned" -> "uvicorn, collector tuned", "gunicorn-sync-2-per-cpu" -> "gunicorn-sync, two
    workers per CPU": how a variant is named in the report."""
    if variant.endswith(TUNED_SUFFIX):
        return f"{variant.removesuffix(TUNED_SUFFIX)}, collector tuned"
    for rule, suffix in sorted(RULE_SUFFIXES.items(), key=lambda item: -len(item[1])):  # "-2-per-cpu" first
        if variant.endswith(suffix):
            return f"{variant.removesuffix(suffix)}, {RULE_LABELS[rule]}"
    return variant


def collector_of(key: str) -> str:
    """Which collector a variant's key serves with: TUNED or INTERPRETER."""
    return TUNED if key.endswith(TUNED_SUFFIX) else INTERPRETER


def gc_tuned(variant: "ServerVariant") -> "ServerVariant":
    """The variant with the collector tuned (GC_TUNING=1, shared/collector.py), everything else alike."""
    return replace(
        variant,
        variant=variant.variant + TUNED_SUFFIX,
        note=f"{variant.note}; the collector tuned (GC_TUNING=1: start-up heap frozen, young every 10,000)",
        collector=TUNED,
    )


def granian(interface: str, app: str) -> tuple[str, ...]:
    """Granian's command line, its defaults otherwise (its README: no thread tuning, one worker per CPU)."""
    return (
        "--interface",
        interface,
        "--host",
        "{host}",
        "--port",
        "{port}",
        "--workers",
        "{workers}",
        "--no-ws",
        app,
    )


FLASK_SYNC = ServerVariant(
    "flask",
    "gunicorn-sync",
    "flask_service.server",
    {"GUNICORN_WORKER_CLASS": "sync"},
    ONE,
    "the default: a sync worker serves one request at a time, waiting included, and closes the connection "
    "after each response",
    keeps_alive=False,
    workers_rule=GUNICORN_SYNC,
)
# Flask with flask-openapi3 (pydantic validation, OpenAPI 3.1): served exactly as FLASK_SYNC is, so that what
# differs from it is the stack, and from FASTAPI_UVICORN the framework and its server.
FLASK_OPENAPI_SYNC = ServerVariant(
    "flask_openapi",
    "gunicorn-sync",
    "flask_openapi_service.server",
    {"GUNICORN_WORKER_CLASS": "sync"},
    ONE,
    "Flask with flask-openapi3 (pydantic), under the same sync worker as Flask's default: one request at a "
    "time, the connection closed after each response",
    keeps_alive=False,
    workers_rule=GUNICORN_SYNC,
)
FASTAPI_UVICORN = ServerVariant(
    "fastapi",
    "uvicorn",
    "fastapi_service.server",
    concurrency=MANY,
    note="the default: uvicorn (uvloop, httptools), connections kept alive; `def` prediction views in the "
    "thread pool, `async def` for the rest",
)
FLASK_GRANIAN = ServerVariant(
    "flask",
    "granian",
    "granian",
    concurrency=THREADS,
    note="Granian's WSGI interface (one Rust HTTP core for both frameworks), connections kept alive",
    args=granian("wsgi", "flask_service.app:app"),
)
FASTAPI_GRANIAN = ServerVariant(
    "fastapi",
    "granian",
    "granian",
    concurrency=MANY,
    note="Granian's ASGI interface, the same server as Flask's Granian variant",
    args=granian("asgi", "fastapi_service.app:app"),
)
FLASK_GTHREAD = ServerVariant(
    "flask",
    "gunicorn-gthread",
    "flask_service.server",
    {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "{threads}"},
    THREADS,
    "gunicorn's threaded worker, one thread per user (users / workers), connections kept alive; the same "
    "`def` views",
)
FASTAPI_ASYNC_DEF = ServerVariant(
    "fastapi",
    "async-def",
    "examples.fastapi_async_predict",
    concurrency=MANY,
    note="`async def` prediction endpoints (examples/fastapi_async_predict.py): the model runs on the event "
    "loop, no thread-pool hop",
    scenarios=frozenset({CPU}),
)

NGINX = "nginx"


def behind_nginx(variant: ServerVariant, note: str) -> ServerVariant:
    """The variant as both servers' deployment docs have it: behind nginx, which buffers requests and
    responses and keeps the clients' connections alive (deploy/nginx.conf.template)."""
    return replace(
        variant,
        variant=f"{variant.variant}-{NGINX}",
        note=f"behind nginx (deploy/): {note}",
        keeps_alive=True,
        scenarios=frozenset({CPU}),
        proxy=NGINX,
    )


VARIANTS: tuple[ServerVariant, ...] = (FLASK_SYNC, FASTAPI_UVICORN)
# The defaults as deployed in production: the same nginx configuration in front of each.
NGINX_VARIANTS: tuple[ServerVariant, ...] = (
    behind_nginx(
        FLASK_SYNC,
        "clients keep their connections to nginx; nginx opens one to gunicorn per request (the sync "
        "worker closes it after each response)",
    ),
    behind_nginx(
        FASTAPI_UVICORN,
        "clients keep their connections to nginx, and nginx keeps its own to uvicorn alive",
    ),
)
CPU_VARIANTS: tuple[ServerVariant, ...] = (
    *VARIANTS,
    *NGINX_VARIANTS,
    FASTAPI_GRANIAN,
    FLASK_GRANIAN,
    FLASK_GTHREAD,
    FASTAPI_ASYNC_DEF,
)
IO_VARIANTS: tuple[ServerVariant, ...] = (
    FLASK_GTHREAD,
    ServerVariant(
        "flask",
        "gunicorn-gevent",
        "flask_service.server",
        {"GUNICORN_WORKER_CLASS": "gevent"},
        MANY,
        "gunicorn's gevent worker (monkey-patched sockets: httpx2's waits yield), up to 1000 connections "
        "per worker; the same `def` view",
        scenarios=frozenset({IO_BOUND}),
    ),
    ServerVariant(
        "fastapi",
        "async-blocking",
        "examples.fastapi_blocking_call",
        concurrency=ONE,
        note="mistake: `async def` calling the sync httpx2.Client (examples/fastapi_blocking_call.py): "
        "the event loop waits with it",
        scenarios=frozenset({IO_BOUND}),
    ),
    ServerVariant(
        "flask",
        "async-view",
        "examples.flask_async_view",
        {"GUNICORN_WORKER_CLASS": "sync"},
        ONE,
        "mistake: an `async def` view under the sync worker (examples/flask_async_view.py): Flask runs "
        "it to completion in a new event loop",
        scenarios=frozenset({IO_BOUND}),
        keeps_alive=False,
        workers_rule=GUNICORN_SYNC,
    ),
)


def with_workers(variant: ServerVariant, rule: str) -> ServerVariant:
    """The variant run by another workers rule (a point of the sweep), everything else alike."""
    return replace(variant, variant=variant.variant + RULE_SUFFIXES[rule], workers_rule=rule, rule_fixed=True)


# The worker sweep (make bench PROFILE=servers): gunicorn's sync worker at one, two and 2 x CPUs + 1 workers
# per CPU (its docs' "starting point"), uvicorn at one and two per CPU, both FastAPI forms.
SWEEP_VARIANTS: tuple[ServerVariant, ...] = (
    with_workers(FLASK_SYNC, PER_CPU),
    with_workers(FLASK_SYNC, TWO_PER_CPU),
    FLASK_SYNC,
    FASTAPI_UVICORN,
    with_workers(FASTAPI_UVICORN, TWO_PER_CPU),
    FASTAPI_ASYNC_DEF,
    with_workers(FASTAPI_ASYNC_DEF, TWO_PER_CPU),
)
# The verdict's three with the collector tuned: its effect on each, measured beside the defaults.
GC_TUNED_VARIANTS: tuple[ServerVariant, ...] = tuple(
    gc_tuned(v) for v in (FLASK_SYNC, FASTAPI_UVICORN, FASTAPI_ASYNC_DEF)
)
# Every variant a run may name (VARIANTS=); a profile (plan/config.py) picks among them.
CATALOGUE: tuple[ServerVariant, ...] = tuple(
    {
        v.key: v
        for v in (*CPU_VARIANTS, FLASK_OPENAPI_SYNC, *GC_TUNED_VARIANTS, *SWEEP_VARIANTS, *IO_VARIANTS)
    }.values()
)


def variants_by_key(
    keys: Sequence[str], catalogue: Sequence[ServerVariant] = CATALOGUE
) -> list[ServerVariant]:
    """The variants named, in catalogue order; an unknown name is an error."""
    known = {variant.key for variant in catalogue}
    if unknown := [key for key in keys if key not in known]:
        raise ValueError(f"unknown server variant(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [variant for variant in catalogue if variant.key in keys]
