"""The bench's pair behind nginx (issue 20): its place in the plan, nginx's CPU counted into the deployment's
and shown apart, the report's section, and a live start of a proxied variant (the pool starts the server and
nginx in front, verifies through nginx, and stops both by PID); and the third service's variant, started and
verified live as Flask's default is."""

import time
from pathlib import Path

import psutil
import pytest

from loadtests.bench.load.sampling import Sample, cpu_seconds_between, others_percent
from loadtests.bench.plan.config import NGINX_PAIR
from loadtests.bench.plan.slices import estimate_s, in_process_s, whole_plan
from loadtests.bench.plan.variants import variants_by_key
from loadtests.bench.render.report import render_report
from loadtests.bench.render.verdict import verdict
from loadtests.bench.results.proxy import ratio_of
from loadtests.bench.results.records import Measurement
from loadtests.bench.targets import processes
from loadtests.bench.targets.pool import StartedServers
from loadtests.bench.targets.servers import start_upstream
from loadtests.scenarios import SCENARIOS
from tests.conftest import require_nginx
from tests.test_bench import config_of
from tests.test_bench_analysis import capacity, summary_of

FLASK, FASTAPI = "flask-gunicorn-sync", "fastapi-uvicorn"
FLASK_NGINX, FASTAPI_NGINX = NGINX_PAIR
FLASK_OPENAPI = "flask_openapi-gunicorn-sync"


def test_the_servers_profile_runs_the_nginx_pair_on_predict_within_its_budget() -> None:
    servers = config_of("servers")
    on_predict = [v.key for v in servers.variants_for(SCENARIOS["predict"])]
    assert on_predict[:2] == [FLASK, FASTAPI] and {FLASK_NGINX, FASTAPI_NGINX} <= set(on_predict)
    plan = whole_plan(servers)
    assert sum(s.variant in NGINX_PAIR for s in plan) == 8  # 2 variants x 4 rounds
    assert estimate_s(servers, plan) + in_process_s(servers, 1) < 300
    default = config_of()  # the verdict's profile leaves them to PROFILE=servers
    assert FLASK_NGINX not in [v.key for v in default.variants_for(SCENARIOS["predict"])]
    full = config_of("full")
    for scenario in (s for s in full.scenarios if s.kind == "cpu"):
        assert {FLASK_NGINX, FASTAPI_NGINX} <= {v.key for v in full.variants_for(scenario)}
    flask_nginx, fastapi_nginx = variants_by_key(list(NGINX_PAIR))
    assert (flask_nginx.proxy, flask_nginx.direct, flask_nginx.keeps_alive) == ("nginx", FLASK, True)
    assert fastapi_nginx.direct == FASTAPI and fastapi_nginx.module == "fastapi_service.server"


def sample(at: float, server: float, proxy: float, busy_ticks: float) -> Sample:
    return Sample(at, server, 0.0, server_ticks=100.0 * at, server_busy=busy_ticks, proxy_cpu_s=proxy)


def test_nginx_cpu_is_sampled_apart_and_is_no_disturbance() -> None:
    """Over 2 s the server used 1.2 s and nginx 0.6 s of a CPU busy 1.9 s: 0.1 s was someone else's."""
    samples = [sample(0.0, 0.0, 0.0, 0.0), sample(2.0, 1.2, 0.6, 190.0)]
    assert cpu_seconds_between(samples, "proxy_cpu_s", 0.0, 1.0) == pytest.approx(0.3)
    assert others_percent(samples, "server", 0.0, 2.0) == pytest.approx(5.0)
    without_proxy = [sample(0.0, 0.0, 0.0, 0.0), sample(2.0, 1.2, 0.0, 190.0)]
    assert others_percent(without_proxy, "server", 0.0, 2.0) == pytest.approx(35.0)


def nginx_rounds() -> list[Measurement]:
    """Four rounds of the direct pair and the nginx pair; nginx costs Flask 150 µs and FastAPI 100 µs per
    request, and serves Flask faster than direct."""
    slices = []
    for index in range(1, 5):
        slices += [
            capacity(FLASK, 800.0, 1_100.0, index),
            capacity(FASTAPI, 1_200.0, 700.0, index),
            capacity(FLASK_NGINX, 900.0, 1_000.0, index, proxy_cpu_s=150e-6 * 2700, proxy_cpu_percent=14.0),
            capacity(FASTAPI_NGINX, 1_100.0, 700.0, index, proxy_cpu_s=100e-6 * 3300, proxy_cpu_percent=11.0),
        ]
    return slices


def test_the_deployment_cpu_includes_nginx_and_the_summary_shows_it_apart() -> None:
    summary = summary_of(nginx_rounds())
    [flask_run] = [r for r in summary["runs"] if r["variant"] == "gunicorn-sync-nginx" and r["round"] == 1]
    assert flask_run["proxy_cpu_us_per_request"] == pytest.approx(150.0)
    assert flask_run["server_cpu_us_per_request"] == pytest.approx(1_150.0)  # the server's and nginx's
    pair = ratio_of(summary["ratios"], "predict", FASTAPI_NGINX, FLASK_NGINX, "cpu_us_per_request")
    assert pair is not None and pair["comparison"] == "nginx"
    assert pair["ratio"] == pytest.approx(800.0 / 1_150.0)
    flask, fastapi = summary["nginx"]
    assert (flask["framework"], flask["direct"], fastapi["direct"]) == ("flask", FLASK, FASTAPI)
    assert flask["proxy_cpu_us_per_request"] == pytest.approx(150.0)
    assert flask["rps_ratio"]["ratio"] == pytest.approx(900.0 / 800.0)
    assert fastapi["cpu_ratio"]["ratio"] == pytest.approx(800.0 / 700.0)
    assert fastapi["proxy_share"] == pytest.approx(100.0 / 800.0)


def test_the_report_and_readme_say_which_pair_is_the_deployment() -> None:
    summary = summary_of(nginx_rounds())
    lines = verdict(summary)
    [deployed] = [line for line in lines if line.startswith("**As deployed in production**")]
    assert "predict 1.22x" in deployed and "Flask 150 µs and FastAPI 100 µs" in deployed
    assert lines[-1].startswith("**The machine**")
    report = render_report(summary, charts=())
    section = report.split("## As deployed in production: behind nginx", 1)[1].split("\n## ", 1)[0]
    assert "as deployed in" in section and "moves from the client to nginx" in section
    assert "| predict | Flask (gunicorn-sync-nginx) | 800 → 900 | 1.12x" in section
    assert "| 1,100 → 1,150 | 1.05x" in section and "| 150 (13%) |" in section
    assert "nginx's CPU per request, µs (median)" in report
    assert any(line.startswith("**As deployed in production**") for line in verdict(summary))
    assert "## As deployed in production" not in render_report(summary_of(nginx_rounds()[:2]), charts=())


@pytest.mark.live
def test_the_pool_starts_a_variant_behind_nginx_verifies_it_and_stops_both(tmp_path: Path) -> None:
    require_nginx()
    [variant] = variants_by_key([FASTAPI_NGINX])
    cpus = processes.current_cpu_plan().server
    pool = StartedServers(1, cpus, tmp_path, users=1)
    server = pool.acquire(variant)
    try:
        assert server is not None and server.proxy is not None, pool.verification
        assert pool.verification[FASTAPI_NGINX]["passed"]
        assert pool.verification[FASTAPI_NGINX]["url"] == server.url == server.proxy.urls["fastapi"]
        # Through nginx. nginx writes a request's log line after its answer has gone, so the last check's
        # line can come a moment after the check (one full-suite run read the log before it).
        logged = server.proxy.access_log
        deadline = time.monotonic() + 5
        while '"DELETE /predict HTTP/1.1" 405' not in logged.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"DELETE /predict HTTP/1.1" 405' in logged.read_text()
        nginx = psutil.Process(server.proxy.process.pid)
        if cpus:
            assert set(nginx.cpu_affinity()) == set(cpus)  # nginx on the servers' CPUs
        pids = server.pids
        assert len(pids) == 2
    finally:
        pool.release()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids)


@pytest.mark.live
def test_the_pool_starts_the_third_service_as_flask_s_and_it_passes_every_live_check(tmp_path: Path) -> None:
    """flask_openapi-gunicorn-sync: gunicorn's sync worker and its worker rule, as Flask's default, and the
    bench's verification (targets/verify.py) passed in full, the upstream's routes included."""
    [variant] = variants_by_key([FLASK_OPENAPI])
    assert (variant.framework, variant.keeps_alive, variant.workers(1)) == ("flask_openapi", False, 3)
    cpus = processes.current_cpu_plan().server
    upstream = start_upstream(0, (), tmp_path)
    pool = StartedServers(1, cpus, tmp_path, users=1, extra_env={"UPSTREAM_URL": upstream.url}, upstream=True)
    try:
        server = pool.acquire(variant)
        record = pool.verification[FLASK_OPENAPI]
        assert server is not None and record["passed"], record
        assert len(record["checks"]) > 15 and any("/penguins/" in check["name"] for check in record["checks"])
        assert "flask_openapi_service.server" in server.command
        assert "DrainingSyncWorker" in server.log.read_text()  # the worker Flask's default runs
    finally:
        pool.release()
        processes.stop(upstream.process)
