"""Faults under the real servers: a worker killed under load, the one worker of the default killed, a
corrupted model, SIGTERM under load."""

import json
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from loadtests.bench.load.sampling import ProcessTree
from loadtests.crash import said_ready
from shared.examples import EXAMPLE_PENGUIN, batch_of
from shared.model import artifact_paths
from shared.settings import Settings
from tests.clients import FRAMEWORKS
from tests.servers import live_server, workers_of

pytestmark = pytest.mark.live

# Variants whose shutdown differs: gunicorn's sync worker (ours drains its queue), threads, and uvicorn.
SERVERS: dict[str, tuple[str, Mapping[str, str]]] = {
    "flask-sync": ("flask", {}),
    "flask-gthread": ("flask", {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "4"}),
    "fastapi": ("fastapi", {}),
    "flask_openapi-sync": ("flask_openapi", {}),
}


@dataclass
class Outcome:
    started: float
    ended: float
    result: int | str  # a status code, or the name of the exception


@dataclass
class Load:
    """Closed-loop users posting batches of 50 penguins until told to stop: a small Locust in threads."""

    url: str
    users: int = 8
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def user(self) -> None:
        # The body encoded once, before the clock starts: a request counts as sent before SIGTERM only if its
        # bytes could be on their way then, not while eight threads still built their JSON under a busy GIL.
        body = json.dumps(batch_of(50)).encode()
        headers = {"Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, timeout=15) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                try:
                    result: int | str = client.post(
                        "/predict/batch", content=body, headers=headers
                    ).status_code
                except httpx.TransportError as exc:
                    result = type(exc).__name__
                self.outcomes.append(Outcome(started, time.monotonic(), result))

    @contextmanager
    def running(self) -> Iterator["Load"]:
        threads = [threading.Thread(target=self.user) for _ in range(self.users)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)  # every user has requests going
            yield self
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(30)

    def results(self, started_before: float = float("inf"), started_after: float = 0) -> Counter[int | str]:
        return Counter(o.result for o in self.outcomes if started_after <= o.started < started_before)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_killed_worker_is_replaced(framework: str, tmp_path: Path) -> None:
    with live_server(framework, tmp_path, env={"WORKERS": "2"}) as server:
        before = workers_of(server)
        assert len(before) == 2
        with Load(server.url).running() as load:
            before[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            deadline = killed_at + 20
            while time.monotonic() < deadline:
                pids = {p.pid for p in workers_of(server)}
                if len(pids) == 2 and before[0].pid not in pids:
                    break
                time.sleep(0.2)
            replaced_after = time.monotonic() - killed_at
            # Answers after the replacement: up to 10 s for the first, on a machine busy with other tests.
            deadline = time.monotonic() + 10
            while not load.results(started_after=killed_at + replaced_after)[200]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert len(pids) == 2 and before[0].pid not in pids, f"not replaced in 20 s: {server.log.read_text()}"
        print(f"{framework}: worker replaced in {replaced_after:.1f} s; outcomes {load.results()}")
        # Only requests the killed worker was answering can fail; the service went on answering.
        failed = sum(n for result, n in load.results().items() if result != 200)
        assert failed <= load.users
        assert load.results(started_after=killed_at + replaced_after)[200] > 0
        assert httpx.get(f"{server.url}/health").status_code == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_one_worker_default_comes_back_after_a_crash(framework: str, tmp_path: Path) -> None:
    """One worker, the default, killed: its master (gunicorn's, uvicorn's supervisor) starts another, and
    holds the listening socket meanwhile, so that a request sent at once waits for it rather than being
    refused. uvicorn run as one process would be gone for good."""
    with live_server(framework, tmp_path) as server:
        (worker,) = workers_of(server)
        assert worker.pid != server.process.pid, "the worker has a master above it"
        # The bench counts the worker alone, not its master or multiprocessing's resource tracker.
        assert [p.pid for p in ProcessTree(server.process.pid).workers()] == [worker.pid]
        worker.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        reply = httpx.post(f"{server.url}/predict", json=EXAMPLE_PENGUIN, timeout=30)
        answered_after = time.monotonic() - killed_at
        assert reply.status_code == 200, server.log.read_text()[-3000:]
        (replacement,) = workers_of(server)
        assert replacement.pid != worker.pid
        # Its log says when it was ready, as the crash measurement reads it (loadtests/crash.py).
        assert said_ready(server.log.read_text(), replacement.pid)
        print(f"{framework}: the request sent at the kill answered after {answered_after:.1f} s")


@pytest.mark.parametrize("name", SERVERS)
def test_sigterm_under_load_loses_no_request(name: str, tmp_path: Path) -> None:
    framework, env = SERVERS[name]
    with (
        live_server(framework, tmp_path, env={"WORKERS": "1", **env}) as server,
        Load(server.url).running() as load,
    ):
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(15)
        exited_after = time.monotonic() - signalled
        load.stopping.set()
    in_flight = Counter(o.result for o in load.outcomes if o.started < signalled < o.ended)
    print(f"{name}: exit {exit_code} after {exited_after:.2f} s; in flight at SIGTERM {in_flight}")
    # uvicorn re-raises the signal once it has shut down gracefully, as its docs say; gunicorn exits 0.
    assert exit_code in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log.read_text()
    assert exited_after < 10  # the graceful timeout both servers are given
    assert in_flight, "no request was in flight at SIGTERM: the test proved nothing"
    assert set(load.results(started_before=signalled)) == {200}, "a request sent before SIGTERM failed"
    # After SIGTERM new requests are refused at the connection, never answered with an error.
    assert all(isinstance(r, str) or r == 200 for r in load.results(started_after=signalled))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_corrupted_model_refuses_to_start(framework: str, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(Settings().model_dir, model_dir)
    estimator, _ = artifact_paths(model_dir)  # the one served by default
    estimator.write_bytes(estimator.read_bytes()[:-100] + b"\0" * 100)
    with (
        pytest.raises(RuntimeError, match="did not become healthy") as failure,
        live_server(framework, tmp_path, env={"MODEL_DIR": str(model_dir)}, timeout_s=20),
    ):
        pass
    assert "Checksum mismatch" in str(failure.value)
    assert "make model" in str(failure.value)
