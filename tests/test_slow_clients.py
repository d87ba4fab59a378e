"""Slow clients against every service, directly and behind nginx (tests/slow_clients.py says how)."""

import pytest

from tests.clients import FRAMEWORKS
from tests.conftest import Targets
from tests.slow_clients import HEALTH_CHECKS, answered_with_slow_clients

pytestmark = pytest.mark.live


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_slow_clients(targets: Targets, framework: str) -> None:
    answered = answered_with_slow_clients(targets.urls[framework])
    if framework in ("flask", "flask_openapi") and targets.via == "direct":
        # Two sync workers, each held by a slow client: the finding, asserted loosely (measured: 0 of 20).
        assert len(answered) < HEALTH_CHECKS // 2, answered
    else:
        assert len(answered) >= HEALTH_CHECKS - 1, answered
