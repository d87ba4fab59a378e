"""The servers a bench run measures, behind one interface: started by the bench, or attached by URL.

`make bench` starts each variant the first time its turn comes, pinned to the servers' CPUs, and keeps it,
idle between its slices, until the run ends or the model served changes: a start costs seconds that the
precision rule spends on pairs instead, and an idle server costs its CPUs nothing (what else ran on them is
recorded with every slice). A variant is verified live (the contract checks of targets/verify.py) the first
time it starts; one that fails is not measured.
Against running services (the compose bench, loadtests/external.py) nothing is started or stopped: each is
verified once and every slice of its variant goes to it.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from loadtests.bench.plan.variants import ServerVariant
from loadtests.bench.targets.servers import RunningServer, ServerStartError, start_server, stop_server
from loadtests.bench.targets.verify import verify
from shared.model import model_setting


class ServerPool(Protocol):
    verification: dict[str, dict[str, Any]]
    starts: list[dict[str, Any]]

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        """The variant's server serving `model` (MODEL_NAME; "": its default), ready to be measured; None
        when it cannot be (not started, not verified)."""

    def release(self) -> None:
        """Stop whatever the pool started."""

    @property
    def start_count(self) -> int: ...


def verification_record(server: RunningServer, upstream: bool) -> dict[str, Any]:
    checks = verify(server.url, upstream=upstream)
    return {
        "passed": all(check.passed for check in checks),
        "error": None,
        "checks": [{"name": c.name, "passed": c.passed, "problem": c.problem} for c in checks],
        "command": server.command,
        "config": server.config_line,
        "url": server.url,
    }


class StartedServers:
    """make bench: each server started on the servers' CPUs the first time its variant's turn comes, kept
    until the run ends or another model is served."""

    def __init__(
        self,
        workers: int | None,
        cpus: Sequence[int],
        log_dir: Path,
        users: int,
        extra_env: Mapping[str, str] | None = None,
        upstream: bool = False,
    ) -> None:
        self.workers, self.cpus, self.log_dir, self.users = workers, tuple(cpus), log_dir, users
        self.extra_env = dict(extra_env or {})
        self.upstream = upstream
        self.running: dict[str, RunningServer] = {}
        self.model = ""
        self.verification: dict[str, dict[str, Any]] = {}
        self.starts: list[dict[str, Any]] = []

    @property
    def start_count(self) -> int:
        return len(self.starts)

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        if model != self.model:  # a model is a setting of every server: all start again
            self.release()
            self.model = model
        running = self.running.get(variant.key)
        if running is not None and running.process.poll() is None:
            return running
        known = self.verification.get(variant.key)
        if known is not None and not known["passed"]:
            return None
        served = model_setting(model) if model else {}
        try:
            server = start_server(
                variant,
                variant.workers(len(self.cpus)) if variant.rule_fixed or not self.workers else self.workers,
                self.cpus,
                self.log_dir,
                users=self.users,
                extra_env={**self.extra_env, **served},
                log_name=f"{variant.key}-{Path(model).stem}" if model else variant.key,
            )
        except ServerStartError as exc:
            self.verification[variant.key] = {"passed": False, "error": str(exc), "checks": []}
            return None
        if known is None:
            self.verification[variant.key] = {
                **verification_record(server, self.upstream),
                "startup_s": server.startup_s,
            }
            if not self.verification[variant.key]["passed"]:
                stop_server(server)
                return None
        self.starts.append(
            {"variant": variant.key, "startup_s": server.startup_s, **({"model": model} if model else {})}
        )
        server.start_index = len(self.starts)
        self.running[variant.key] = server
        return server

    def release(self) -> None:
        while self.running:
            stop_server(self.running.popitem()[1])


class AttachedServers:
    """Against running services: each verified the first time it is asked for, never started or stopped."""

    def __init__(self, servers: Mapping[str, RunningServer], upstream: bool = False) -> None:
        self.servers = dict(servers)
        self.upstream = upstream
        self.verification: dict[str, dict[str, Any]] = {}
        self.starts: list[dict[str, Any]] = []

    @property
    def start_count(self) -> int:
        return 1

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        """The model is the deployment's: an attached server serves what it was started with."""
        server = self.servers.get(variant.key)
        if server is None:
            return None
        if variant.key not in self.verification:
            self.verification[variant.key] = verification_record(server, self.upstream)
        return server if self.verification[variant.key]["passed"] else None

    def release(self) -> None:
        pass
