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
from loadtests.bench.targets.servers import (
    RunningServer,
    ServerStartError,
    ready_server,
    start_server,
    stop_server,
)
from loadtests.bench.targets.verify import verify
from shared.model import model_setting


class ServerPool(Protocol):
    verification: dict[str, dict[str, Any]]
    starts: list[dict[str, Any]]

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        """The variant's server serving `model` (MODEL_NAME; "": its default), ready to be measured; None
        when it cannot be (not started, not verified)."""

    def prestart(self, variants: Sequence[ServerVariant], model: str, start_cpus: Sequence[int]) -> None:
        """Start these variants' servers ahead of their slices, where the pool starts servers at all."""

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

    def prestart(self, variants: Sequence[ServerVariant], model: str, start_cpus: Sequence[int]) -> None:
        """Start the servers not yet running together, on `start_cpus` (every CPU: nothing is measured yet),
        each moved onto the servers' CPUs once healthy; then verified and kept, one by one, as acquire would.
        Seven starts one after the other on one CPU took about 50 s of a 6-minute run."""
        self.switch_model(model)
        wanted = [v for v in variants if v.key not in self.running and self.usable(v.key)]
        launched = [(v, self.launch(v, model, start_cpus, ready=False)) for v in wanted]
        for variant, server in launched:
            if server is None:
                continue
            try:
                ready = ready_server(server)
            except ServerStartError as exc:
                self.verification[variant.key] = {"passed": False, "error": str(exc), "checks": []}
                continue
            self.keep(variant, ready, model)

    def acquire(self, variant: ServerVariant, model: str = "") -> RunningServer | None:
        self.switch_model(model)
        running = self.running.get(variant.key)
        if running is not None and running.process.poll() is None:
            return running
        if not self.usable(variant.key):
            return None
        server = self.launch(variant, model)
        return self.keep(variant, server, model) if server is not None else None

    def switch_model(self, model: str) -> None:
        if model != self.model:  # a model is a setting of every server: all start again
            self.release()
            self.model = model

    def usable(self, key: str) -> bool:
        known = self.verification.get(key)
        return known is None or bool(known["passed"])

    def launch(
        self, variant: ServerVariant, model: str, start_cpus: Sequence[int] = (), ready: bool = True
    ) -> RunningServer | None:
        """The variant's server started (and, `ready`, healthy); None (the reason recorded) if it would not
        start."""
        served = model_setting(model) if model else {}
        try:
            return start_server(
                variant,
                variant.workers(len(self.cpus)) if variant.rule_fixed or not self.workers else self.workers,
                self.cpus,
                self.log_dir,
                users=self.users,
                extra_env={**self.extra_env, **served},
                log_name=f"{variant.key}-{Path(model).stem}" if model else variant.key,
                start_cpus=start_cpus,
                ready=ready,
            )
        except ServerStartError as exc:
            self.verification[variant.key] = {"passed": False, "error": str(exc), "checks": []}
            return None

    def keep(self, variant: ServerVariant, server: RunningServer, model: str) -> RunningServer | None:
        """A started server verified the first time its variant starts, and kept; None if it failed."""
        known = self.verification.get(variant.key)
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

    def prestart(self, variants: Sequence[ServerVariant], model: str, start_cpus: Sequence[int]) -> None:
        """Nothing to start: the services are running already."""

    def release(self) -> None:
        pass
