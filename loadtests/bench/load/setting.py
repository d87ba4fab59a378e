"""What a run was set up with, for summary.json's `environment`: the machine, the CPUs each side had, the
variants and their servers' commands and configurations, the Locust command, the upstream and the knobs."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.bench.load.locust import LoadPlan, Placement, locust_command
from loadtests.bench.machine.environment import machine_record
from loadtests.bench.plan.config import BenchConfig
from loadtests.bench.plan.variants import ServerVariant
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import ServerPool
from loadtests.bench.targets.servers import RunningServer


def setting_record(
    config: BenchConfig,
    example: LoadPlan,
    placement: Placement,
    pool: ServerPool,
    upstream: RunningServer | None,
    note: str,
    wrk: bool,
    attached_cpus: tuple[int, ...] | None = None,
    deployment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`example` is one slice's load, for the Locust command shown; `attached_cpus`: against running
    services, how many CPUs each may use (not their ids)."""
    c = config
    cpus = len(placement.server_cpus if attached_cpus is None else attached_cpus) or 1

    def workers(variant: ServerVariant) -> int:
        """WORKERS= for every server, else the variant's own rule (plan/variants.py)."""
        return variant.workers(cpus) if variant.rule_fixed or not c.workers else c.workers

    record = machine_record()
    if record["git"] == "unknown" and os.environ.get("GIT_COMMIT"):
        record["git"] = os.environ["GIT_COMMIT"]  # the compose image has no .git
    command = locust_command(example, "http://127.0.0.1:PORT", Path("RUN"))
    return {
        **record,
        "attached": attached_cpus is not None,
        "deployment": dict(deployment or {}) or None,
        "cpu_plan": {
            "server_cpus": list(placement.server_cpus if attached_cpus is None else attached_cpus),
            "generator_cpus": list(placement.generator_cpus),
            "note": note,
        },
        # None: each variant's own count, by its server's docs (variants[key]["workers"]); else WORKERS=.
        "workers": c.workers,
        "locust_processes": c.locust_processes,
        "profile": c.profile.name,
        "variants": {
            v.key: {
                "label": v.label,
                "concurrency": v.concurrency,
                "workers": workers(v),
                "workers_rule": "WORKERS=" if c.workers and not v.rule_fixed else v.workers_rule,
                "in_flight": v.in_flight(workers(v), c.users),
                "keeps_alive": v.keeps_alive,
                "note": v.note,
            }
            for v in {v.key: v for v in (*c.all_variants(), *c.sweep_variants())}.values()
        },
        "upstream": {
            "latency_ms": c.upstream_latency_ms,
            "command": upstream.command,
            "config": upstream.config_line,
            "cpus": list(placement.generator_cpus),
        }
        if upstream
        else None,
        "server_commands": {key: v.get("command") for key, v in pool.verification.items()},
        "server_configs": {key: v.get("config") for key, v in pool.verification.items()},
        "server_starts": pool.starts,
        "locust_command": processes.shown(processes.pinned(command, placement.generator_cpus), {}),
        "wrk": wrk,
        # Whether the profile cross-checks with wrk: without wrk, the verdict names the hole.
        "wrk_planned": any(c.wrk_for(s) for s in c.scenarios),
        "settings": {
            "scenarios": [s.name for s in c.scenarios],
            "rounds": c.rounds,
            "duration_s": c.duration_s,
            "warmup_s": c.warmup_s,
            "users": c.users,
            "spawn_rate": c.spawn_rate,
            "rates": list(c.rates) or "auto",
            "grid": list(c.profile.grid),
            "slo_ms": c.slo_ms,
            "workers": c.workers or "auto",
            "locust_processes": c.locust_processes,
            "upstream_latency_ms": c.upstream_latency_ms if c.needs_upstream else None,
        },
    }
