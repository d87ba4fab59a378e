import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from deploy.nginx import INSTALL, Site, find_nginx, start
from shared.model import load_model
from shared.settings import Settings
from tests.canned_upstream import BAD_UPSTREAM, canned_upstream
from tests.clients import FRAMEWORKS, ApiClient, make_client
from tests.servers import LiveServer, free_port, live_server

VIA = ["direct", "behind nginx"]


def pytest_configure(config: pytest.Config) -> None:
    # Fail early and clearly, not once per test, when `make model` has not been run.
    load_model(Settings.from_env().model_dir)


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real upstream observation service, without its delay, on a free port."""
    with live_server(
        "upstream", tmp_path_factory.mktemp("upstream"), env={"UPSTREAM_LATENCY_MS": "0"}
    ) as server:
        yield server


@pytest.fixture(scope="session")
def bad_upstream() -> Iterator[str]:
    """An upstream answering 200 with a bad observation at each of BAD_OBSERVATION_IDS (a good one at 1)."""
    with canned_upstream(BAD_UPSTREAM) as url:
        yield url


@pytest.fixture(scope="session")
def settings(upstream: LiveServer) -> Settings:
    return Settings(upstream_url=upstream.url)


@pytest.fixture(scope="session", params=FRAMEWORKS)
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[ApiClient]:
    """The same tests, once against each framework's app."""
    with make_client(request.param, settings) as api_client:
        yield api_client


@pytest.fixture(scope="session")
def both(settings: Settings) -> Iterator[tuple[ApiClient, ApiClient]]:
    """Both apps at once, for tests that compare their answers."""
    with make_client("flask", settings) as flask_client, make_client("fastapi", settings) as fastapi_client:
        yield flask_client, fastapi_client


@pytest.fixture(scope="session")
def services(
    tmp_path_factory: pytest.TempPathFactory, upstream: LiveServer
) -> Iterator[dict[str, LiveServer]]:
    """Both services under their real servers, two workers each, with their access logs."""
    logs = tmp_path_factory.mktemp("services")
    env = {"WORKERS": "2", "UPSTREAM_URL": upstream.url, "ACCESS_LOG": "1"}
    with live_server("flask", logs, env=env) as flask, live_server("fastapi", logs, env=env) as fastapi:
        yield {"flask": flask, "fastapi": fastapi}


def require_nginx() -> None:
    """Skip without nginx, except in CI, where .ci/run installs it and nothing may be skipped."""
    if find_nginx() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"nginx is not installed, and CI runs every test: {INSTALL}")
        pytest.skip(f"nginx is not installed: {INSTALL}")


@pytest.fixture(scope="session")
def proxied(
    tmp_path_factory: pytest.TempPathFactory, services: dict[str, LiveServer]
) -> Iterator[dict[str, str]]:
    """nginx in front of both services, as `make run-nginx` deploys them (deploy/): their URLs through it."""
    require_nginx()
    flask, fastapi = (
        Site(f"127.0.0.1:{free_port()}", services[name].url.removeprefix("http://")) for name in FRAMEWORKS
    )
    scratch = tmp_path_factory.mktemp("nginx")
    with start(scratch, flask, fastapi, Settings().max_body_bytes) as nginx:
        yield {"flask": nginx.flask_url, "fastapi": nginx.fastapi_url}


@dataclass(frozen=True)
class Targets:
    via: str  # one of VIA
    urls: dict[str, str]  # framework -> URL


@pytest.fixture(scope="session", params=VIA)
def targets(request: pytest.FixtureRequest, services: dict[str, LiveServer]) -> Targets:
    """Each service's URL, directly or through nginx: the live suites run both ways."""
    if request.param == "direct":
        return Targets(request.param, {name: server.url for name, server in services.items()})
    return Targets(request.param, request.getfixturevalue("proxied"))
