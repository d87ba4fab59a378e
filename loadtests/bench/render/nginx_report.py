"""The deployment in the report: which pair answers "as deployed in production" (the defaults behind nginx),
and what nginx costs or saves each framework. Pure functions of summary.json's `nginx` entries and ratios.
"""

from collections.abc import Mapping
from typing import Any

from loadtests.bench.plan.config import NGINX_PAIR
from loadtests.bench.render.reading import Entry, joined, key_label, num, ratio_text
from loadtests.bench.results.proxy import ratio_of

FLASK_NGINX, FASTAPI_NGINX = NGINX_PAIR
WHY = (
    "gunicorn's deployment docs put its sync worker behind a buffering proxy and recommend nginx, and "
    "uvicorn's put a proxy in front too, so the pair behind nginx is the one that answers *as deployed in "
    "production*; the direct pair measures the servers alone."
)
COUNTED = (
    "Both run behind the same nginx configuration (deploy/), nginx pinned to the servers' CPUs with one "
    "worker per CPU, the load sent to nginx's port. Their CPU per request is the deployment's: the server's "
    "and nginx's together, nginx's own share apart. Behind nginx the clients keep their connections alive: "
    "gunicorn-sync's connection per request moves from the client to nginx (which opens one to gunicorn for "
    "each request), while nginx keeps its own connections to uvicorn alive."
)


def pair_entries(summary: Mapping[str, Any], scenario: str) -> tuple[Entry | None, Entry | None]:
    """The nginx pair's ratios on a scenario (FastAPI behind nginx over Flask behind nginx): rps, CPU."""
    return (
        ratio_of(summary["ratios"], scenario, FASTAPI_NGINX, FLASK_NGINX, "rps"),
        ratio_of(summary["ratios"], scenario, FASTAPI_NGINX, FLASK_NGINX, "cpu_us_per_request"),
    )


def nginx_sentence(summary: Mapping[str, Any]) -> str | None:
    """The verdict's line on the nginx pair, where it was measured."""
    parts = []
    for scenario in dict.fromkeys(e["scenario"] for e in summary.get("nginx", [])):
        rps, cpu = pair_entries(summary, scenario)
        if rps is None or rps["ratio"] is None:
            continue
        own = [
            f"{'Flask' if e['framework'] == 'flask' else 'FastAPI'} "
            f"{num(e['proxy_cpu_us_per_request'], 'µs')}"
            for e in summary["nginx"]
            if e["scenario"] == scenario
        ]
        parts.append(
            f"{scenario} {ratio_text(rps, False)} the requests/s at {ratio_text(cpu, False)} the CPU per "
            f"request, nginx's included (nginx's own per request: {joined(own)})"
        )
    if not parts:
        return None
    return (
        "**As deployed in production** (both behind the same nginx, as their servers' docs advise): "
        + "; ".join(parts)
        + "."
    )


def change(direct: float | None, behind: float | None, unit: str = "") -> str:
    return f"{num(direct, unit)} → {num(behind, unit)}"


def paired(ratio: Entry) -> str:
    if ratio.get("ratio") is None:
        return "-"
    return ratio_text({**ratio, "dropped": 0, "bound": ""})


def nginx_section(summary: Mapping[str, Any]) -> list[str]:
    """Which pair is the deployment, how it is counted, and per framework what nginx costs or saves."""
    entries = summary.get("nginx", [])
    if not entries:
        return []
    lines = [
        f"{WHY} {COUNTED}",
        "",
        "| scenario | framework | requests/s, direct → behind nginx | behind / direct | CPU per request, "
        "µs, direct → deployment | behind / direct | nginx's CPU per request, µs (share) |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for e in entries:
        share = f" ({e['proxy_share']:.0%})" if e["proxy_share"] is not None else ""
        lines.append(
            f"| {e['scenario']} | {key_label(e['proxied'])} | {change(e['direct_rps'], e['rps'])} | "
            f"{paired(e['rps_ratio'])} | "
            f"{change(e['direct_cpu_us_per_request'], e['cpu_us_per_request'])} | {paired(e['cpu_ratio'])} | "
            f"{num(e['proxy_cpu_us_per_request'])}{share} |"
        )
    lines += [
        "",
        "Behind / direct: the geometric mean of the rounds' ratios of the same server behind nginx and "
        "direct (run close together), with its 95% interval; above 1x for requests/s, nginx saves that "
        "framework throughput, above 1x for CPU per request it costs CPU.",
    ]
    return lines
