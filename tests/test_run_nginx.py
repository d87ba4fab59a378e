"""`make run-nginx` (deploy/run.py) as a process manager: it keeps the usual ports when only TIME_WAIT holds
them and says when it must move; it starts again what exits, gives up what keeps exiting, and one service's
crash never stops the other (deploy/supervise.py). Its stop on every signal: tests/test_lifecycle.py."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

import deploy.run
import deploy.supervise
from deploy.nginx import stop_group
from deploy.supervise import Child, keep_running
from shared.examples import EXAMPLE_PENGUIN
from shared.lifecycle import child_setup
from shared.settings import REPO_ROOT
from tests.conftest import require_nginx
from tests.servers import free_port


def time_wait_on(port: int) -> None:
    """A connection to `port` closed by its server first: the server's end waits in TIME_WAIT, on `port`. The
    server binds as gunicorn and uvicorn do, with SO_REUSEADDR, which its TIME_WAIT connections keep."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server closes first
        client.recv(1)  # its FIN arrives
        client.close()
        time.sleep(0.05)


def test_a_port_held_only_by_time_wait_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    time_wait_on(port)
    with socket.socket() as plain, pytest.raises(OSError):  # what the old probe did: refused
        plain.bind(("127.0.0.1", port))
    assert deploy.run.usual_or_free("127.0.0.1", port, "flask's server") == port
    assert capsys.readouterr().err == ""


def test_a_port_in_use_is_replaced_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        moved = deploy.run.usual_or_free("127.0.0.1", taken, "flask's server")
    assert moved != taken
    assert (
        capsys.readouterr().err
        == f"port {taken} is in use by another process: flask's server on {moved} instead\n"
    )


def test_a_child_that_exits_is_started_again_then_given_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(deploy.supervise, "WATCH_EVERY_S", 0.02)
    starts = []

    def launch() -> subprocess.Popen[bytes]:
        starts.append(time.monotonic())
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)

    crashing = Child("crashing", launch)
    crashing.start()
    assert keep_running([crashing]) == 1  # every child given up
    err = capsys.readouterr().err
    assert len(starts) == deploy.supervise.RESTARTS
    assert err.count("crashing exited (exit code 3): starting it again") == deploy.supervise.RESTARTS - 1
    assert f"crashing exited {deploy.supervise.RESTARTS} times within 60 s" in err and "given up" in err


@pytest.fixture
def run_nginx(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`make run-nginx`'s code on free ports, its output in a file; stopped by its process group."""
    require_nginx()
    knobs = {f"{name.upper()}_{kind}": "0" for name in deploy.run.SERVICES for kind in ("PORT", "NGINX_PORT")}
    log = tmp_path / "run-nginx.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.run"],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **knobs},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child_setup(),
        )
    try:
        yield process, log
    finally:
        stop_group(process, signal.SIGTERM, 30)


def urls_in_front(log: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + 90
    while not (found := re.findall(r"(\w+) at (http://[\d.:]+) ", log.read_text())):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return {name.lower(): url for name, url in found}


@pytest.mark.live
def test_one_service_dying_leaves_the_other_serving_and_is_started_again(
    run_nginx: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, log = run_nginx
    urls = urls_in_front(log, process)
    server = next(
        p for p in psutil.Process(process.pid).children() if "fastapi_service.server" in p.cmdline()
    )
    server.kill()  # the whole server, its supervisor included: what its worker's crash cannot do
    flask_answers = []
    deadline = time.monotonic() + 60
    while "fastapi exited" not in log.read_text() or not serves(urls["fastapi"]):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        flask_answers.append(
            httpx.post(f"{urls['flask']}/predict", json=EXAMPLE_PENGUIN, timeout=10).status_code
        )
        time.sleep(0.1)
    assert flask_answers and set(flask_answers) == {200}, "Flask stopped serving while FastAPI was down"
    assert "fastapi exited (exit code -9): starting it again" in log.read_text()
    assert process.poll() is None


def serves(url: str) -> bool:
    try:
        return httpx.post(f"{url}/predict", json=EXAMPLE_PENGUIN, timeout=5).status_code == 200
    except httpx.TransportError:
        return False
