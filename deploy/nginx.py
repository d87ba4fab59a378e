"""nginx in front of the services, from deploy/nginx.conf.template: rendered, run in the foreground with a
scratch folder of its own (configuration, PID file, temporary files, logs), so that it needs neither root nor
/etc/nginx, and stopped by its PID.

`make run-nginx` (deploy/run.py) and the live tests use it; so can the bench: `start` takes, for each site the
template declares (SITE_NAMES), where nginx listens and where the service is, then how many worker processes,
and a command prefix (`taskset -c 0` pins it to a CPU).
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.lifecycle import child_setup

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
INSTALL = "sudo apt-get install nginx"
# Debian installs nginx in /usr/sbin, which is not on a user's PATH.
SBIN = ("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The services the template has a site for, by the name its variables carry: ${FLASK_LISTEN} is "flask".
SITE_NAMES = tuple(
    name.lower() for name in dict.fromkeys(re.findall(r"\$\{([A-Z_]+)_LISTEN\}", TEMPLATE.read_text()))
)

# The main context the official image's own nginx.conf gives the template (in its http block), with every path
# in the scratch folder: Debian's defaults (/var/lib/nginx, /var/log/nginx, /run) are root's.
MAIN = """\
# Written by deploy/nginx.py around deploy/nginx.conf.template (rendered into services.conf).
daemon off;
worker_processes {workers};
pid {scratch}/nginx.pid;
error_log {scratch}/error.log notice;
events {{
    worker_connections 1024;
}}
http {{
    access_log {scratch}/access.log;
    client_body_temp_path {scratch}/temp/body;
    proxy_temp_path {scratch}/temp/proxy;
    fastcgi_temp_path {scratch}/temp/fastcgi;
    uwsgi_temp_path {scratch}/temp/uwsgi;
    scgi_temp_path {scratch}/temp/scgi;
    include {scratch}/services.conf;
}}
"""


class NginxMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(f"nginx is not installed: {INSTALL}")


def find_nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path=os.pathsep.join(SBIN))


@dataclass(frozen=True)
class Site:
    """One service behind nginx: where nginx listens for it, and where the service is (both host:port)."""

    listen: str
    upstream: str


def render(values: Mapping[str, str], template: str | None = None) -> str:
    """The template with each ${NAME} filled, as the official image's envsubst fills the variables it is
    given; nginx's own variables ($host) are left alone. A ${NAME} without a value is an error, not ""."""
    text = TEMPLATE.read_text() if template is None else template
    missing = sorted({name for name in _VARIABLE.findall(text) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)} in {TEMPLATE.name}")
    return _VARIABLE.sub(lambda match: values[match.group(1)], text)


def template_values(sites: Mapping[str, Site], max_body_bytes: int) -> dict[str, str]:
    """The template's variables: NAME_LISTEN and NAME_UPSTREAM for each site, and the body limit."""
    values = {"MAX_BODY_BYTES": str(max_body_bytes)}
    for name, site in sites.items():
        values |= {f"{name.upper()}_LISTEN": site.listen, f"{name.upper()}_UPSTREAM": site.upstream}
    return values


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    scratch: Path
    urls: dict[str, str]  # site name -> nginx's URL for it

    @property
    def error_log(self) -> Path:
        return self.scratch / "error.log"

    @property
    def access_log(self) -> Path:
        return self.scratch / "access.log"

    def __enter__(self) -> "Nginx":
        return self

    def __exit__(self, *exc_info: object) -> None:
        stop(self)


def write_config(scratch: Path, sites: Mapping[str, Site], max_body_bytes: int, workers: int | str) -> Path:
    (scratch / "temp").mkdir(parents=True, exist_ok=True)
    (scratch / "services.conf").write_text(render(template_values(sites, max_body_bytes)))
    config = scratch / "nginx.conf"
    # Started as root, nginx runs its workers as nobody, who could not reach a scratch folder under a private
    # one (pytest's, a user's): they stay root here, on this machine only (the container runs them as nginx).
    user = "user root;\n" if os.geteuid() == 0 else ""
    config.write_text(user + MAIN.format(workers=workers, scratch=scratch))
    return config


def start(
    scratch: Path,
    sites: Mapping[str, Site],
    max_body_bytes: int,
    workers: int | str = 1,
    command_prefix: Sequence[str] = (),
    timeout_s: float = 10,
) -> Nginx:
    """nginx in its own process group, its output in scratch/nginx.out; returns once every site's port
    accepts. `sites` names every site of the template (SITE_NAMES). `with start(...) as nginx:` stops it at
    the end, as `stop` does; it also ends if this process does."""
    binary = find_nginx()
    if binary is None:
        raise NginxMissing()
    scratch = scratch.resolve()
    config = write_config(scratch, sites, max_body_bytes, workers)
    # -e: the error log before the configuration is read (Debian's default is stderr, elsewhere a root path).
    command = [
        *command_prefix,
        binary,
        "-p",
        str(scratch),
        "-c",
        str(config),
        "-e",
        str(scratch / "error.log"),
    ]
    with (scratch / "nginx.out").open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=child_setup(),
        )
    nginx = Nginx(process, scratch, {name: f"http://{site.listen}" for name, site in sites.items()})
    try:
        wait_until_listening(nginx, [site.listen for site in sites.values()], timeout_s)
    except BaseException:
        stop(nginx)
        raise
    return nginx


def wait_until_listening(nginx: Nginx, addresses: Sequence[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for address in addresses:
        host, port = address.rsplit(":", 1)
        while True:
            if nginx.process.poll() is not None or time.monotonic() > deadline:
                output = (nginx.scratch / "nginx.out").read_text() + nginx.error_log.read_text()
                raise RuntimeError(
                    f"nginx did not start listening on {address}; its output:\n{output[-3000:]}"
                )
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)


def stop(nginx: Nginx, grace_s: float = 10) -> None:
    """A graceful shutdown (SIGQUIT: requests in flight finish), SIGKILL past the grace."""
    stop_group(nginx.process, signal.SIGQUIT, grace_s)


def stop_group(process: subprocess.Popen[bytes], sig: int, grace_s: float) -> None:
    """`sig` to a process group started with start_new_session (the leader and its workers), then SIGKILL to
    what is left of it past the grace; also once the leader has ended (a worker it left holds its port)."""
    deadline = time.monotonic() + grace_s
    if process.poll() is None or group_alive(process.pid):
        signal_group(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_alive(process.pid):
        signal_group(process.pid, signal.SIGKILL)
    process.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user took the id: not ours any more
        return False
    return True


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
