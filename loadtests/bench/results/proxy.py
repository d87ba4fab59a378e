"""The deployment: each default server behind nginx (deploy/) against the same server direct, per framework.

For a variant behind nginx, `cpu_us_per_request` is the deployment's (the server's and nginx's CPU on the
servers' CPUs, per answer) and `proxy_cpu_us_per_request` nginx's own share of it. What nginx costs or saves
a framework is the pair ratio of its two variants, run next to each other in every round (results/pairs.py).
Pure functions of the variants' figures and the ratios.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from loadtests.bench.plan.variants import NGINX_VARIANTS

Entry = Mapping[str, Any]


def ratio_of(
    ratios: Sequence[Entry], scenario: str, numerator: str, denominator: str, metric: str
) -> Entry | None:
    """A pair ratio by the variants it compares, whatever the comparison is called (a run of the nginx pair
    alone makes it the headline)."""
    return next(
        (
            r
            for r in ratios
            if (r["scenario"], r["numerator"], r["denominator"], r["metric"], r["generator"])
            == (scenario, numerator, denominator, metric, "locust")
        ),
        None,
    )


def ratio_figure(entry: Entry | None) -> dict[str, Any]:
    keys = ("ratio", "low", "high", "pairs", "precise", "precision")
    return {key: entry[key] for key in keys} if entry else dict.fromkeys(keys)


def behind_nginx(variants: Sequence[Entry], ratios: Sequence[Entry]) -> list[dict[str, Any]]:
    """Per scenario and framework measured behind nginx: its figures and the direct server's, nginx's CPU per
    request and its share of the deployment's, and the paired ratios behind nginx over direct."""
    entries = []
    by_key = {(v["scenario"], f"{v['framework']}-{v['variant']}"): v for v in variants}
    for proxied in NGINX_VARIANTS:
        for scenario in dict.fromkeys(v["scenario"] for v in variants):
            behind = by_key.get((scenario, proxied.key))
            if behind is None:
                continue
            direct = by_key.get((scenario, proxied.direct), {})
            cpu, nginx_cpu = behind.get("cpu_us_per_request"), behind.get("proxy_cpu_us_per_request")
            entries.append(
                {
                    "scenario": scenario,
                    "framework": proxied.framework,
                    "proxied": proxied.key,
                    "direct": proxied.direct,
                    "rps": behind.get("rps"),
                    "direct_rps": direct.get("rps"),
                    "cpu_us_per_request": cpu,
                    "direct_cpu_us_per_request": direct.get("cpu_us_per_request"),
                    "proxy_cpu_us_per_request": nginx_cpu,
                    "proxy_share": nginx_cpu / cpu if cpu and nginx_cpu is not None else None,
                    "rps_ratio": ratio_figure(ratio_of(ratios, scenario, proxied.key, proxied.direct, "rps")),
                    "cpu_ratio": ratio_figure(
                        ratio_of(ratios, scenario, proxied.key, proxied.direct, "cpu_us_per_request")
                    ),
                }
            )
    return entries
