from collections.abc import Iterator

import pytest

from shared.model import load_model
from shared.settings import Settings
from tests.canned_upstream import BAD_UPSTREAM, canned_upstream
from tests.clients import FRAMEWORKS, ApiClient, make_client
from tests.servers import LiveServer, live_server


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
