from collections.abc import Iterator

import pytest

from shared.model import load_model
from shared.settings import Settings
from tests.clients import FRAMEWORKS, ApiClient, make_client


def pytest_configure(config: pytest.Config) -> None:
    # Fail early and clearly, not once per test, when `make model` has not been run.
    load_model(Settings.from_env().model_dir)


@pytest.fixture(scope="session", params=FRAMEWORKS)
def client(request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """The same tests, once against each framework's app."""
    with make_client(request.param) as api_client:
        yield api_client


@pytest.fixture(scope="session")
def both() -> Iterator[tuple[ApiClient, ApiClient]]:
    """Both apps at once, for tests that compare their answers."""
    with make_client("flask") as flask_client, make_client("fastapi") as fastapi_client:
        yield flask_client, fastapi_client
