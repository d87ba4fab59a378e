"""nginx in front of the services (deploy/): its configuration, and what it must pass on or keep to itself:
the client's address, the services' own timeouts, the docs pages' files, connections kept alive where the
server can. The contract through nginx: tests/test_parity.py, test_live.py and test_hostile_live.py."""

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

import deploy.run
from deploy.nginx import SITE_NAMES, Site, find_nginx, render, template_values, write_config
from shared.gunicorn_server import ProxyFixFrom, address_in
from tests.canned_upstream import silent_upstream
from tests.clients import FRAMEWORKS
from tests.conftest import require_nginx
from tests.rawhttp import LiveClient
from tests.servers import LiveServer, access_log_with, behind_nginx, live_server
from tests.test_specs import assets_of_docs_pages

SITES = {
    "flask": Site("127.0.0.1:8081", "127.0.0.1:8001"),
    "fastapi": Site("127.0.0.1:8082", "127.0.0.1:8002"),
    "flask_openapi": Site("127.0.0.1:8084", "127.0.0.1:8004"),
}


def test_the_template_has_a_site_for_every_service() -> None:
    assert SITE_NAMES == tuple(FRAMEWORKS) == tuple(deploy.run.SERVICES)


def test_the_template_is_filled_whole() -> None:
    rendered = render(template_values(SITES, max_body_bytes=1 << 20))
    assert not re.search(r"\$\{[A-Z]", rendered)
    assert "client_max_body_size 1048576;" in rendered
    assert "server 127.0.0.1:8001;" in rendered and "listen 127.0.0.1:8082;" in rendered
    assert "server 127.0.0.1:8004;" in rendered and "listen 127.0.0.1:8084;" in rendered
    with pytest.raises(KeyError, match="MAX_BODY_BYTES"):
        render({k: v for k, v in template_values(SITES, 1).items() if k != "MAX_BODY_BYTES"})
    with pytest.raises(KeyError, match="FLASK_OPENAPI_LISTEN"):
        render(template_values({k: v for k, v in SITES.items() if k != "flask_openapi"}, 1))


def test_upstream_keepalive_only_toward_uvicorn() -> None:
    """gunicorn's sync worker closes every connection: a kept one would hold a worker from everyone else."""
    rendered = render(template_values(SITES, max_body_bytes=1))
    blocks = dict(re.findall(r"upstream (\w+) \{(.*?)\n\}", rendered, re.S))
    kept = {name for name, block in blocks.items() if "keepalive" in re.sub(r"#.*", "", block)}
    assert kept == {"fastapi"} and "keepalive 32;" in blocks["fastapi"]


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    require_nginx()
    config = write_config(tmp_path, SITES, max_body_bytes=1 << 20, workers=1)
    nginx = find_nginx()
    assert nginx
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.live
def test_the_services_log_the_clients_address(
    services: dict[str, LiveServer], proxied: dict[str, str]
) -> None:
    """From 127.0.0.2 through nginx: the services log 127.0.0.2, not nginx's 127.0.0.1, whatever the client
    claims in X-Forwarded-For. Directly, a client's X-Forwarded-For is not trusted."""
    forged = {"X-Forwarded-For": "203.0.113.9"}
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=10) as client:
        for framework in FRAMEWORKS:
            client.get(f"{proxied[framework]}/health?via=nginx", headers=forged)
            client.get(f"{services[framework].url}/health?via=direct", headers=forged)
    for framework in FRAMEWORKS:
        log = access_log_with(services[framework], "via=direct")
        lines = [line for line in log.splitlines() if "/health?via=" in line]
        assert len(lines) == 2 and all(line.startswith("127.0.0.2") or "127.0.0.2:" in line for line in lines)
        assert "203.0.113.9" not in log


@pytest.mark.live
def test_upstream_connections_are_kept_only_to_uvicorn(
    services: dict[str, LiveServer], proxied: dict[str, str]
) -> None:
    for framework in FRAMEWORKS:
        for _ in range(5):
            assert httpx.get(f"{proxied[framework]}/health").status_code == 200
    kept = {framework: established_to(services[framework]) for framework in FRAMEWORKS}
    deadline = time.monotonic() + 5
    gunicorns = ("flask", "flask_openapi")
    while any(kept[name] for name in gunicorns) and time.monotonic() < deadline:  # closing takes a moment
        time.sleep(0.05)
        kept |= {name: established_to(services[name]) for name in gunicorns}
    assert kept == {"flask": 0, "fastapi": kept["fastapi"], "flask_openapi": 0} and kept["fastapi"] >= 1


def established_to(server: LiveServer) -> int:
    port = int(server.url.rsplit(":", 1)[1])
    return sum(
        1
        for connection in psutil.net_connections(kind="tcp")
        if connection.raddr and connection.raddr.port == port and connection.status == psutil.CONN_ESTABLISHED
    )


@pytest.mark.live
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_docs_pages_and_their_files_come_through_whole(
    services: dict[str, LiveServer], proxied: dict[str, str], framework: str
) -> None:
    direct, through = (
        LiveClient(framework, services[framework].url),
        LiveClient(framework, proxied[framework]),
    )
    for path in ["/docs", "/redoc", *assets_of_docs_pages(direct)]:
        assert through.request("GET", path).body == direct.request("GET", path).body, path


@pytest.fixture(scope="module")
def silent_behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every service calling an upstream that never answers, behind nginx."""
    require_nginx()
    logs = tmp_path_factory.mktemp("silent")
    with silent_upstream() as upstream_url, ExitStack() as stack:
        env = {"UPSTREAM_URL": upstream_url}
        urls = {name: stack.enter_context(live_server(name, logs, env=env)).url for name in FRAMEWORKS}
        with behind_nginx(urls, logs / "nginx") as through:
            yield through


@pytest.mark.live
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_services_own_timeout_comes_through(silent_behind_nginx: dict[str, str], framework: str) -> None:
    """The services give up on the upstream after UPSTREAM_TIMEOUT_S (1 s) and answer 504 in JSON; nginx waits
    longer (proxy_read_timeout), so their answer is the one the client gets."""
    started = time.monotonic()
    reply = httpx.get(f"{silent_behind_nginx[framework]}/penguins/1/prediction", timeout=10)
    elapsed = time.monotonic() - started
    assert (reply.status_code, reply.headers["content-type"]) == (504, "application/json")
    assert "nginx" not in reply.text and 1.0 <= elapsed < 5


def test_make_run_nginx_names_the_install_command_without_nginx(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(deploy.run, "find_nginx", lambda: None)
    assert deploy.run.main() == 1
    assert capsys.readouterr().err == "nginx is not installed: sudo apt-get install nginx\n"


@pytest.mark.parametrize(
    ("peer", "allowed", "seen"),
    [
        ("127.0.0.1", "127.0.0.1,::1", "198.51.100.7"),  # nginx on this machine
        ("127.0.0.2", "127.0.0.1,::1", "127.0.0.2"),  # anyone else: their X-Forwarded-For is not believed
        ("172.30.80.80", "172.30.80.0/24", "198.51.100.7"),  # a network, as compose could give
        ("10.0.0.1", "*", "198.51.100.7"),
    ],
)
def test_gunicorn_takes_the_clients_address_from_a_trusted_proxy_only(
    peer: str, allowed: str, seen: str
) -> None:
    """What uvicorn's proxy_headers does, for gunicorn: REMOTE_ADDR, which its access log prints."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["REMOTE_ADDR"].encode()]

    environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": "198.51.100.7", "wsgi.url_scheme": "http"}
    fixed: Any = ProxyFixFrom(app, address_in(allowed))
    assert fixed(environ, lambda *args: None) == [seen.encode()]
