"""The load-test scenarios: one Locust user class per scenario, every answer checked.

`make bench` runs one class at a time, headless, against a service it started; `make locust` opens the web
UI with every class on offer. A wrong answer (status, body shape, species of a known penguin) is a failure.

Distributed (`--processes N`, or `--master` and `--worker`s): --rate stays the total for all workers, and each
worker process writes its own part of the window file, which the bench merges (loadtests/recorder.py).

Options added to Locust's own (also settable as LOCUST_* environment variables):
  --rate R          total requests per second for the whole run, shared by the users; 0 (default): no wait
  --warmup S        seconds before the measured window; Locust's statistics are reset when it ends
  --window-file F   where to write the window's latency histograms and counts (loadtests/recorder.py)

With --rate, each user's requests are due every users / rate seconds, on a schedule a slow answer does not
push back, and the recorder also times each request from when it was due (loadtests/recorder.py says why).
"""

import ipaddress
import itertools
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.resolver.blocking
from locust import FastHttpUser, TaskSet, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.checks import (
    check_batch,
    check_health,
    check_invalid,
    check_penguin_prediction,
    check_prediction,
    labelled_rows,
    parse,
)
from loadtests.recorder import LatencyRecorder, Schedule, part_path
from loadtests.scenarios import BATCH, BATCH_SIZE, HEALTH, INVALID, IO, MIXED_WEIGHTS, PREDICT
from shared.examples import INVALID_PENGUIN, KNOWN_PENGUINS, batch_of, expected_species_of_batch
from shared.settings import positive_int_from_env

# The bench's batch-size axis (make bench PROFILE=crossover) sets another size; read at import, as the body is
# built once.
BATCH_ITEMS = positive_int_from_env("LOCUST_BATCH_SIZE", BATCH_SIZE)
BATCH_BODY = batch_of(BATCH_ITEMS)
BATCH_SPECIES = expected_species_of_batch(BATCH_ITEMS)

recorder = LatencyRecorder()


def options(environment: Environment) -> Any:
    assert environment.parsed_options is not None, "run by the locust command"
    return environment.parsed_options


def add_options(parser: Any) -> None:
    parser.add_argument("--rate", type=float, env_var="LOCUST_RATE", default=0.0, help="total requests/s")
    parser.add_argument("--warmup", type=float, env_var="LOCUST_WARMUP", default=0.0, help="seconds")
    parser.add_argument("--window-file", env_var="LOCUST_WINDOW_FILE", default="", help="JSON output")


def on_request(name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    recorder.record(name, response_time, exception is not None, time.time())


def expected_interval_s(environment: Environment) -> float:
    """Each user's intended time between sends at --rate (0: a closed loop, no schedule to keep)."""
    rate: float = options(environment).rate
    if rate <= 0:
        return 0.0
    users = getattr(options(environment), "total_users", 0) or (
        environment.runner.user_count if environment.runner else 1
    )
    return max(1, users) / rate


def on_init(environment: Environment, **_: Any) -> None:
    """Read the clock anew just before Locust arms --run-time: gevent's timers count from the loop's cached
    time, which Locust's start-up leaves up to a second stale, so a 1 s run stopped after 0.05 s and every run
    lost that much of its measured window.

    And resolve a numeric host in the loop. FastHttpUser looks the host up for every new connection, through
    gevent's default resolver: a hop to a thread and back, for "127.0.0.1". Against a server that closes every
    connection (gunicorn's sync worker) that was 27% of Locust's CPU here (py-spy), and Locust's CPU on the
    CPU next to the server's slows the server (docs/bench/method.md, "A generator that takes no side"). A
    numeric address needs no lookup, so the blocking resolver answers at once; a name keeps the default.
    """
    hub = gevent.get_hub()
    hub.loop.update_now()
    if numeric_host(environment.host or ""):
        hub.resolver = gevent.resolver.blocking.Resolver(hub)


def numeric_host(url: str) -> bool:
    """Whether the URL's host is an IP address (no lookup needed), e.g. http://127.0.0.1:8001."""
    try:
        ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return False
    return True


def on_test_start(environment: Environment, **_: Any) -> None:
    """The window opens after the warm-up: Locust's statistics restart from zero and the recorder starts.

    A master also tells its workers how many users share --rate: its options go to them with each spawn.
    """
    if isinstance(environment.runner, MasterRunner):
        options(environment).total_users = environment.runner.target_user_count

    def open_window() -> None:
        gevent.sleep(options(environment).warmup)
        environment.stats.reset_all()
        recorder.start(time.time(), expected_interval_s(environment))

    if options(environment).window_file:
        gevent.spawn(open_window)


def on_test_stopping(environment: Environment, **_: Any) -> None:
    recorder.stop(time.time())


def on_test_stop(environment: Environment, **_: Any) -> None:
    """A worker writes its part, its histograms encoded, as soon as its users stop: the master pools them
    after the run (a master records no requests; its workers send it statistics, not response times)."""
    if options(environment).window_file and isinstance(environment.runner, WorkerRunner):
        recorder.stop(time.time())
        recorder.write(part_path(Path(options(environment).window_file), os.getpid()))


def on_quitting(environment: Environment, **_: Any) -> None:
    if options(environment).window_file and not isinstance(environment.runner, MasterRunner | WorkerRunner):
        recorder.stop(time.time())
        recorder.write(Path(options(environment).window_file))


for hook, listener in (
    (events.init_command_line_parser, add_options),
    (events.init, on_init),
    (events.request, on_request),
    (events.test_start, on_test_start),
    (events.test_stopping, on_test_stopping),
    (events.test_stop, on_test_stop),
    (events.quitting, on_quitting),
):
    hook.add_listener(listener)  # type: ignore[no-untyped-call]  # Locust's EventHook has no annotations


class ScenarioUser(FastHttpUser):
    abstract = True
    penguins = itertools.cycle(KNOWN_PENGUINS.items())
    # Read here, at import: before --processes forks, and before gevent's loop runs (a blocking load in a
    # running Locust stalls it and skews its timers).
    rows: Iterator[tuple[int, str]] = itertools.cycle(sorted(labelled_rows().items()))

    def per_user_rate(self) -> float:
        """Requests/s for this user: its share of --rate, or 0 for a closed loop. A worker's users share it
        with every other worker's: the total comes from the master."""
        interval = expected_interval_s(self.environment)
        return 1 / interval if interval else 0.0

    schedule: Schedule | None = None

    def on_start(self) -> None:
        # Users spawn together: left in phase, they would send in bursts of `users` requests at once.
        if rate := self.per_user_rate():
            self.schedule = Schedule(1 / rate, time.perf_counter() + random.uniform(0, 1 / rate))
            gevent.sleep(self.schedule.wait(time.perf_counter()))

    def wait_time(self) -> float:
        """No wait in a closed loop; with --rate, until the user's next request is due (none if it is late:
        a slow answer does not push the schedule back, unlike Locust's constant_throughput)."""
        return self.schedule.wait(time.perf_counter()) if self.schedule else 0.0

    def checked(
        self, method: str, path: str, name: str, check: Callable[[int, Any], str | None], body: Any
    ) -> None:
        """Send one request; Locust counts it as a failure unless `check` finds nothing wrong."""
        with self.client.request(method, path, name=name, json=body, catch_response=True) as response:
            problem = check(response.status_code, parse(response.content))
            if problem:
                response.failure(problem)
            else:
                response.success()
        if self.schedule:
            recorder.record_from_due(self.schedule.answered(time.perf_counter()))

    def health(self) -> None:
        self.checked("GET", "/health", HEALTH, check_health, None)

    def predict(self) -> None:
        species, penguin = next(self.penguins)
        self.checked("POST", "/predict", PREDICT, lambda s, b: check_prediction(s, b, species), penguin)

    def batch(self) -> None:
        self.checked(
            "POST", "/predict/batch", BATCH, lambda s, b: check_batch(s, b, BATCH_SPECIES), BATCH_BODY
        )

    def invalid(self) -> None:
        self.checked("POST", "/predict", INVALID, check_invalid, INVALID_PENGUIN)

    def io(self) -> None:
        penguin_id, species = next(self.rows)
        self.checked(
            "GET",
            f"/penguins/{penguin_id}/prediction",
            IO,
            lambda s, b: check_penguin_prediction(s, b, penguin_id, species),
            None,
        )


def weighted(tasks: Mapping[Callable[[ScenarioUser], None], int]) -> list[TaskSet | Callable[..., Any]]:
    """What Locust makes of a {task: weight} dict: each task listed `weight` times."""
    return [task for task, weight in tasks.items() for _ in range(weight)]


class HealthUser(ScenarioUser):
    tasks = weighted({ScenarioUser.health: 1})


class PredictUser(ScenarioUser):
    tasks = weighted({ScenarioUser.predict: 1})


class BatchUser(ScenarioUser):
    tasks = weighted({ScenarioUser.batch: 1})


class InvalidUser(ScenarioUser):
    tasks = weighted({ScenarioUser.invalid: 1})


class MixedUser(ScenarioUser):
    tasks = weighted(
        {
            ScenarioUser.predict: MIXED_WEIGHTS[PREDICT],
            ScenarioUser.health: MIXED_WEIGHTS[HEALTH],
            ScenarioUser.invalid: MIXED_WEIGHTS[INVALID],
            ScenarioUser.batch: MIXED_WEIGHTS[BATCH],
        }
    )


class IoUser(ScenarioUser):
    tasks = weighted({ScenarioUser.io: 1})
