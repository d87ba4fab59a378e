"""The runner's line per slice, as it is measured: what ran, what it reached, and whether it is clean."""

from collections.abc import Sequence

from loadtests.bench.plan.slices import WRK
from loadtests.bench.render.reading import key_label
from loadtests.bench.results.precision import Imprecise
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.trust import disturbances, problems
from shared.model import model_label


def progress_line(m: Measurement) -> str:
    what = f"{m.scenario} {m.phase} r{m.round}: {m.key}" + (
        f" @ {m.target_rate:g} rps" if m.target_rate else ""
    )
    what += " (wrk)" if m.generator == WRK else ""
    what += f" serving {model_label(m.model)}" if m.model else ""
    what += f", {m.batch_size} items" if m.batch_size else ""
    if m.error:
        return f"{what}: FAILED: {m.error.splitlines()[0]}"
    line = f"{what}: {m.rps:,.0f} rps"
    if m.corrected_latency_ms and m.corrected_latency_ms.get("99") is not None:
        line += f", p99 {m.corrected_latency_ms['99']:.1f} ms corrected"
    elif m.latency_ms.get("99") is not None:
        line += f", p99 {m.latency_ms['99']:.1f} ms"
    if (cpu := m.server_cpu_us_per_request) is not None:
        line += f", server CPU {cpu:,.0f} us/request"
        if (proxy := m.proxy_cpu_us_per_request) is not None:
            line += f" (nginx's {proxy:,.0f} included)"
    if m.steal_pct is not None:
        line += f", steal {m.steal_pct:.1f}%"
    line += f" ({m.generator} CPU {m.generator_cpu_max:.0f}%"
    if m.upstream_cpu_max is not None:
        line += f", upstream {m.upstream_cpu_max:.0f}%"
    line += ")"
    if issues := problems(m) + disturbances(m):
        line += "  NOT CLEAN: " + "; ".join(issue.split(": ", 1)[1] for issue in issues)
    return line


def refining_line(found: Sequence[Imprecise], model: str = "") -> str:
    """'batch: FastAPI (uvicorn) / Flask (gunicorn-sync) ±7.3% from 4 pairs; ...': what the next round
    refines, each comparison with how far its interval reaches now."""
    parts = []
    for entry in found:
        reach = "no interval yet" if entry.precision is None else f"±{entry.precision:.1%}"
        under = " (wrk)" if entry.generator == WRK else ""
        parts.append(
            f"{entry.scenario}{under}: {key_label(entry.numerator)} / {key_label(entry.denominator)} {reach} "
            f"from {entry.pairs} pair{'s' if entry.pairs != 1 else ''}"
        )
    return (f"{model_label(model)}: " if model else "") + "; ".join(parts)
