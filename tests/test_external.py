"""What the containers rely on beyond their files: the health probe, and how the compose bench finds the
servers' processes to read their CPU time (loadtests/external.py)."""

import json
from pathlib import Path

import psutil
import pytest

from loadtests.attach import ServerNotFound, find_server, server_roots, visible_processes
from loadtests.external import Deployment, main
from shared import healthcheck
from tests.servers import LiveServer, free_port, live_server

GUNICORN = ["/opt/venv/bin/python", "-m", "flask_service.server"]


@pytest.mark.live
def test_health_probe_passes_a_healthy_service(upstream: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert healthcheck.main([f"{upstream.url}/health"]) == 0
    monkeypatch.setenv("PORT", upstream.url.rsplit(":", 1)[1])
    assert healthcheck.main([]) == 0  # in a container: its own server, on PORT


@pytest.mark.live
def test_health_probe_fails_an_error_or_no_answer(
    upstream: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert healthcheck.main([f"{upstream.url}/nowhere"]) == 1
    assert healthcheck.main([f"http://127.0.0.1:{free_port()}/health"]) == 1
    monkeypatch.delenv("PORT", raising=False)
    assert healthcheck.main([]) == 2


def test_server_roots_are_masters_not_their_workers() -> None:
    listing = [
        (1, 0, ["/sbin/init"]),
        (10, 1, GUNICORN),  # gunicorn's master ...
        (11, 10, GUNICORN),  # ... and its forked workers, with the same command line
        (12, 10, GUNICORN),
        (20, 1, ["python", "-m", "fastapi_service.server"]),
        (21, 20, ["python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main()"]),
        (30, 1, ["python", "-m", "shared.healthcheck"]),
        (40, 1, ["python", "-m", "pytest", "flask_service.server"]),  # names the module, does not run it
    ]
    assert server_roots("flask_service.server", listing) == [10]
    assert server_roots("fastapi_service.server", listing) == [20]
    assert server_roots("upstream.server", listing) == []
    assert server_roots("flask_service.server", [*listing, (50, 1, GUNICORN)]) == [10, 50]


@pytest.mark.live
def test_finds_a_real_servers_master_among_its_workers(tmp_path: Path) -> None:
    """gunicorn's forked workers run the master's very command line: only the master is the server."""
    with live_server("flask", tmp_path, env={"WORKERS": "2"}) as server:
        roots = server_roots("flask_service.server", visible_processes())
        children = {child.pid for child in psutil.Process(server.process.pid).children(recursive=True)}
        assert server.process.pid in roots  # (other people's servers may run on this machine too)
        assert len(children) == 2 and children.isdisjoint(roots)
        assert find_server("flask", server.process.pid) == server.process.pid


def test_a_server_out_of_sight_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ServerNotFound, match="no such process"):
        find_server("flask", 2**22 + 1)
    code = main(
        [
            "--flask-url=http://127.0.0.1:1",
            "--fastapi-url=http://127.0.0.1:1",
            "--flask-pid=4194305",
            f"--results-dir={tmp_path}",
        ]
    )
    assert code == 2 and "--flask-pid 4194305: no such process" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing measured, nothing written


def test_the_report_says_how_the_servers_were_deployed() -> None:
    assert (
        "limited to 1.5 CPU(s)" in Deployment(2, 1.5, "2g").note
        and "2g of memory" in Deployment(2, 1.5, "2g").note
    )
    assert "already running" in Deployment(1, None, None).note


@pytest.mark.live
def test_the_bench_attaches_to_running_services_on_its_one_code_path(
    tmp_path: Path, services: dict[str, LiveServer]
) -> None:
    """What the compose bench runs, against the suite's running services: the same plan, summary and report,
    the servers never started or stopped by the bench."""
    flask, fastapi = services["flask"], services["fastapi"]
    code = main(
        [
            f"--flask-url={flask.url}",
            f"--fastapi-url={fastapi.url}",
            f"--flask-pid={flask.process.pid}",
            f"--fastapi-pid={fastapi.process.pid}",
            *("--profile=quick", "--rounds=1", "--duration=1", "--warmup=0", "--users=8", "--rates=200"),
            f"--results-dir={tmp_path / 'results'}",
        ]
    )
    assert flask.process.poll() is None and fastapi.process.poll() is None  # still theirs, still up
    assert code == 0
    summary = json.loads((tmp_path / "results" / "latest" / "summary.json").read_text())
    environment = summary["environment"]
    assert environment["attached"] and environment["server_starts"] == []
    assert "already running" in environment["cpu_plan"]["note"]
    assert [e["comparison"] for e in summary["ratios"] if e["metric"] == "rps"] == ["default"]
    assert {p["framework"] for p in summary["curve"]} == {"flask", "fastapi"}
    assert all(run["failures"] == 0 and run["requests"] > 0 for run in summary["runs"])
    report = (tmp_path / "results" / "latest" / "report.md").read_text()
    assert "already running (attached by URL)" in report
