import functools
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.nginx import INSTALL, find_nginx
from shared.model import load_model
from shared.settings import Settings
from tests.canned_upstream import BAD_UPSTREAM, canned_upstream
from tests.clients import FRAMEWORKS, ApiClient, make_client
from tests.servers import LiveServer, behind_nginx, live_server

VIA = ["direct", "behind nginx"]


def pytest_configure(config: pytest.Config) -> None:
    # Fail early and clearly, not once per test, when `make model` has not been run.
    load_model(Settings.from_env().model_dir)


# The session fixtures that start the three services (and nginx in front of them).
SERVICES_FIXTURES = ("services", "proxied", "targets")
# A test module that takes one as a parameter, or asks for one as it runs (getfixturevalue).
USES_SERVICES = re.compile(
    rf"[(,]\s*(?:{'|'.join(SERVICES_FIXTURES)})\s*:|getfixturevalue\(\s*\"(?:{'|'.join(SERVICES_FIXTURES)})\"",
)


@functools.cache
def uses_services(path: Path) -> bool:
    return path.is_file() and USES_SERVICES.search(path.read_text()) is not None


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs pytest-xdist with `--dist loadgroup`: each test module on one worker, so that its
    module fixtures run once (test_bench_e2e's bench run, above all), and the modules of the live services
    together, so that one worker alone starts them (session fixtures are per process); in collection order,
    so that the long bench run starts first rather than last.

    xdist's own loadgroup groups by the `xdist_group` mark, which pytest 9.2 no longer lets it carry to the
    scheduler (https://github.com/pytest-dev/pytest-xdist/issues/1386, open): the group is read here from the
    test's module instead, the modules whose tests take these fixtures (USES_SERVICES)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndServices(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "services" if uses_services(config.rootpath / module) else module

    config.option.loadscopereorder = False
    return ModulesAndServices(config, log)


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
def apps(settings: Settings) -> Iterator[dict[str, ApiClient]]:
    """Every app at once, for tests that compare their answers."""
    with ExitStack() as stack:
        yield {framework: stack.enter_context(make_client(framework, settings)) for framework in FRAMEWORKS}


@pytest.fixture(scope="session")
def services(
    tmp_path_factory: pytest.TempPathFactory, upstream: LiveServer
) -> Iterator[dict[str, LiveServer]]:
    """Every service under its real server, two workers each, with its access log."""
    logs = tmp_path_factory.mktemp("services")
    env = {"WORKERS": "2", "UPSTREAM_URL": upstream.url, "ACCESS_LOG": "1"}
    with ExitStack() as stack:
        yield {
            framework: stack.enter_context(live_server(framework, logs, env=env)) for framework in FRAMEWORKS
        }


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
    """nginx in front of every service, as `make run-nginx` deploys them (deploy/): their URLs through it."""
    require_nginx()
    urls = {name: server.url for name, server in services.items()}
    with behind_nginx(urls, tmp_path_factory.mktemp("nginx")) as through:
        yield through


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
