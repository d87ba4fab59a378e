"""Each service under its real server (gunicorn, uvicorn) on a free loopback port, end to end: directly and
through nginx."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from shared.examples import EXAMPLE_PENGUIN, KNOWN_PENGUINS, batch_of, expected_species_of_batch
from tests.clients import FRAMEWORKS
from tests.conftest import Targets
from tests.servers import LiveServer, live_server, workers_of

pytestmark = pytest.mark.live


@pytest.fixture(scope="module", params=FRAMEWORKS)
def server(request: pytest.FixtureRequest, services: dict[str, LiveServer]) -> LiveServer:
    return services[request.param]


@pytest.fixture
def http(server: LiveServer, targets: Targets) -> Iterator[httpx.Client]:
    """The service, directly or through nginx (conftest's `targets`)."""
    with httpx.Client(base_url=targets.urls[server.framework], timeout=10) as client:
        yield client


def test_health_and_model(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/model").json()["classes"] == ["Adelie", "Chinstrap", "Gentoo"]


def test_predictions(http: httpx.Client) -> None:
    for species, penguin in KNOWN_PENGUINS.items():
        assert http.post("/predict", json=penguin).json()["species"] == species
    batch = http.post("/predict/batch", json=batch_of(10)).json()
    assert [p["species"] for p in batch["predictions"]] == expected_species_of_batch(10)


def test_errors(http: httpx.Client) -> None:
    reply = http.post("/predict", json={**EXAMPLE_PENGUIN, "bill_length_mm": "long"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["type"] == "float_type"
    assert http.post("/predict", content=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert http.get("/nowhere").json() == {"detail": "Not Found"}


def test_oversized_bodies_declared_and_chunked(http: httpx.Client) -> None:
    big = b" " * (2 << 20)
    assert http.post("/predict", content=big, headers={"Content-Type": "application/json"}).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        for _ in range(32):
            yield b" " * 65536

    reply = http.post("/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert "limit" in reply.json()["detail"]


def test_docs_are_served(http: httpx.Client, server: LiveServer) -> None:
    spec = "/swagger.json" if server.framework == "flask" else "/openapi.json"
    assert http.get(spec).status_code == 200
    assert http.get("/docs").status_code == 200
    assert http.get("/redoc").status_code == 200


def test_runs_the_workers_asked_for(server: LiveServer) -> None:
    """WORKERS=2 is two worker processes under the master, counted, not read from what the server printed."""
    workers = workers_of(server)
    assert len(workers) == 2, [" ".join(worker.cmdline()) for worker in workers]
    assert all(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_missing_model_refuses_to_start(framework: str, tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="did not become healthy") as failure,
        live_server(framework, tmp_path, env={"MODEL_DIR": str(tmp_path / "empty")}, timeout_s=20),
    ):
        pass
    assert "make model" in str(failure.value)
