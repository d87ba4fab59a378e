"""make bench against services that are already running: the docker compose bench profile.

    python -m loadtests.external --flask-url http://flask:8001 --fastapi-url http://fastapi:8002 [knobs]

The same bench as `make bench`, on the same code path (loadtests/bench/runner.py): the contract verified
live, the model timed in-process, each scenario's capacity rounds in pairs, the latency curve, the same
summary.json, report.md and charts. What differs: the servers are attached by URL (AttachedServers), neither
started nor pinned (in compose they are containers with equal CPU and memory limits), and both stay up
throughout; only the two services as deployed are compared. The bench finds each server's process to read
its CPU time, which it can when it shares the servers' PID namespace (the compose profile runs it with
`pid: host`) or runs on their machine. The io scenario needs the upstream the services call in sight too
(its CPU is sampled like Locust's). Finding them: loadtests/attach.py.
"""

import argparse
import dataclasses
import math
import sys

from loadtests.attach import MODULES, ServerNotFound, attached, find_server
from loadtests.bench.cli import add_knobs, config_from, generator_note, new_results_dir
from loadtests.bench.load.locust import Placement
from loadtests.bench.plan.variants import CATALOGUE, ServerVariant
from loadtests.bench.runner import Bench
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import AttachedServers


def deployed_variant(framework: str, variant: str) -> ServerVariant:
    """The catalogue's entry (how many requests it holds at once, for the io bound), or a bare one."""
    known = {v.key: v for v in CATALOGUE}
    return known.get(f"{framework}-{variant}", ServerVariant(framework, variant, MODULES[framework]))


@dataclasses.dataclass(frozen=True)
class Deployment:
    """How the services were started, as far as the bench knows: for the report, not checked."""

    workers: int
    server_cpus: float | None
    server_memory: str | None

    @property
    def note(self) -> str:
        if self.server_cpus is None:
            return (
                "no CPU pinning: the servers were already running, started outside the bench; Locust unpinned"
            )
        return (
            f"no CPU pinning: each server in a container limited to {self.server_cpus:g} CPU(s) "
            f"(a CFS quota, Docker's --cpus) and {self.server_memory} of memory, Locust and the runner in "
            "another container without limits"
        )

    def command(self, variant: ServerVariant, url: str) -> str:
        limits = (
            f", cpus={self.server_cpus:g}, mem_limit={self.server_memory}"
            if self.server_cpus is not None
            else ""
        )
        return f"python -m {variant.module} at {url} (WORKERS={self.workers}{limits})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.external", description=__doc__.splitlines()[0])
    parser.add_argument("--flask-url", required=True, help="e.g. http://flask:8001")
    parser.add_argument("--fastapi-url", required=True, help="e.g. http://fastapi:8002")
    parser.add_argument("--flask-pid", type=int, help="the Flask server's master process (default: found)")
    parser.add_argument("--fastapi-pid", type=int, help="the FastAPI server's process (default: found)")
    parser.add_argument("--upstream-pid", type=int, help="the upstream's process, for io (default: found)")
    parser.add_argument(
        "--flask-variant", default="gunicorn-sync", help="how Flask is served, for the report"
    )
    add_knobs(parser)
    parser.add_argument("--workers", type=int, default=1, help="worker processes the servers run (WORKERS)")
    parser.add_argument("--server-cpus", type=float, help="each server container's CPU limit (SERVICE_CPUS)")
    parser.add_argument("--server-memory", help="each server container's memory limit (SERVICE_MEMORY)")
    return parser.parse_args(argv)


def refuse(message: object) -> int:
    print(f"bench: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.workers < 1:
            raise ValueError("--workers must be a positive integer")
        config = config_from(args, args.workers)
        if config.profile.models:
            raise ValueError(
                "the crossover profile serves each model in turn, so it starts its own servers: make bench"
            )
    except ValueError as exc:
        return refuse(exc)
    urls = {"flask": args.flask_url.rstrip("/"), "fastapi": args.fastapi_url.rstrip("/")}
    variants = {
        "flask": deployed_variant("flask", args.flask_variant),
        "fastapi": deployed_variant("fastapi", "uvicorn"),
    }
    config = dataclasses.replace(config, deployed={v.key: v for v in variants.values()})
    try:
        pids = {framework: find_server(framework, getattr(args, f"{framework}_pid")) for framework in urls}
        upstream_pid = find_server("upstream", args.upstream_pid) if config.needs_upstream else None
    except ServerNotFound as exc:
        hint = " Or leave io out of --scenarios." if "upstream" in str(exc) else ""
        return refuse(f"{exc}{hint}")
    deployment = Deployment(args.workers, args.server_cpus, args.server_memory)
    servers = {
        variant.key: attached(
            variant, urls[framework], pids[framework], deployment.command(variant, urls[framework])
        )
        for framework, variant in variants.items()
    }
    # The upstream the services call (io): sampled, never started or stopped by the bench.
    upstream = (
        attached(ServerVariant("upstream", "uvicorn", MODULES["upstream"]), "", upstream_pid, "")
        if upstream_pid is not None
        else None
    )
    processes.install_cleanup()
    try:
        results_dir = new_results_dir(config.results_root)
    except PermissionError as exc:
        return refuse(
            f"cannot write the results: {exc}. In compose, create results/ first and run the bench as its "
            "owner: mkdir -p results && HOST_UID=$(id -u) HOST_GID=$(id -g) "
            "docker compose --profile bench run --rm bench"
        )
    # How many CPUs each server may use, for the report's "was it CPU-bound" test; not their ids.
    server_cpus = tuple(range(max(1, math.floor(deployment.server_cpus or 1))))
    note = f"{deployment.note}; {generator_note(config, 0)}"
    bench = Bench(
        config,
        AttachedServers(servers, upstream=upstream is not None),
        Placement(),
        results_dir,
        note,
        upstream,
        attached_cpus=server_cpus,
        deployment=dataclasses.asdict(deployment),
    )
    try:
        bench.run()
    except KeyboardInterrupt:
        return 130
    ok = all(v["passed"] for v in bench.pool.verification.values()) and bool(bench.measurements)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
