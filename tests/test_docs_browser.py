"""The docs pages as a browser shows them: each service's /docs and /redoc in headless Chromium, with every
name but the service's unresolvable, must render the API's operations, and every request the page makes must
go to the service itself. tests/test_specs.py reads the pages' HTML; this runs their scripts.

The service is reached by a name, not at 127.0.0.1: Swagger UI asks validator.swagger.io for a badge only
when the page is not on localhost, as a deployed one is not.

Chromium's own network log (--log-net-log) lists every request; those the page made carry its origin as their
initiator, apart from the browser's own (updates, sync), which carry none.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.clients import FRAMEWORKS
from tests.servers import LiveServer

pytestmark = pytest.mark.live

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))),
    None,
)
INSTALL = "sudo apt-get install chromium"
HOST = "docs.test"  # RFC 2606: a name reserved for tests
# What each page shows once its script has run on the spec: nothing of it is in the page's HTML itself.
RENDERED = {
    "/docs": ['data-path="/predict/batch"', 'data-path="/penguins/{penguin_id}/prediction"'],
    "/redoc": ["Predict the species of one penguin", "Fetch a penguin's observation"],
}
FLAGS = [
    "--headless",
    "--no-sandbox",  # as root in a container, Chromium has no sandbox to start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Offline: every name but the service's fails to resolve.
    f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND",
    # Scripts run until the page is idle, up to 15 s of the page's own (virtual) time.
    "--virtual-time-budget=15000",
]


def require_chromium() -> str:
    """Skip without Chromium, except in CI, where nothing may be skipped."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is not installed, and CI runs every test: {INSTALL}")
        pytest.skip(f"Chromium is not installed: {INSTALL}")
    return CHROMIUM


def requests_of_page(net_log: Path, origin: str) -> list[str]:
    """The URLs the page asked for: its own document, and every request it initiated."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] == start_job and (
            params.get("initiator") == origin or params.get("request_type") == "main frame"
        ):
            urls.append(params["url"])
    return urls


@pytest.mark.parametrize("page", sorted(RENDERED))
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_docs_pages_render_offline(
    services: dict[str, LiveServer], framework: str, page: str, tmp_path: Path
) -> None:
    chromium = require_chromium()
    origin = services[framework].url.replace("127.0.0.1", HOST)
    url = origin + page
    net_log = tmp_path / "net-log.json"
    shown = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    missing = [text for text in RENDERED[page] if text not in shown.stdout]
    assert missing == [], f"{url} did not render the API: {shown.stdout[:1000]}"
    requested = requests_of_page(net_log, origin)
    assert url in requested
    elsewhere = [r for r in requested if f"{urlsplit(r).scheme}://{urlsplit(r).netloc}" != origin]
    assert elsewhere == [], "the page loaded something from outside the service"
    assert len(requested) > 2, requested  # the page, then at least its script and the spec
