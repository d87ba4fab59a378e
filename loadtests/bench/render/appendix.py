"""The report's second half: how far to trust the run and how it was made (the cross-check of Locust by
wrk, what the machine did, the model alone, the contract checks, the environment, every slice). Pure
functions of summary.json; render/report.py puts them in order.
"""

from collections.abc import Mapping
from typing import Any

from loadtests.bench.render.reading import key_label, num, ratio_entry, ratio_text


def crosscheck_section(summary: Mapping[str, Any]) -> list[str]:
    if not summary["crosscheck"]:
        note = (
            "No cross-check in this run: wrk is not installed (`apt-get install wrk`)."
            if not summary["environment"].get("wrk", True)
            else "No cross-check in this run (the default profile cross-checks predict, PROFILE=full every "
            "CPU scenario)."
        )
        return [note]
    lines = [
        "The default pair's capacity slices again under wrk, paired the same way; the FastAPI/Flask ratio of "
        "requests/s under each generator:",
        "",
        "| scenario | Locust | wrk | verdict | what was measured under each (Locust / wrk) |",
        "|---|--:|--:|---|---|",
    ]
    for check in summary["crosscheck"]:
        locust = ratio_entry(summary, check["scenario"], "default", "rps", "locust")
        wrk = ratio_entry(summary, check["scenario"], "default", "rps", "wrk")
        verdict_text = {
            None: "nothing to compare",
            False: "agree within 10%",
            True: "**differ by more than 10%**",
        }[check["differ"]]
        lines.append(
            f"| {check['scenario']} | {ratio_text(locust)} | {ratio_text(wrk)} | {verdict_text} | "
            f"{check['reason']} |"
        )
    return lines


def machine_section(summary: Mapping[str, Any]) -> list[str]:
    noise = summary["noise"]
    lines = [
        f"Stolen CPU (`steal`, /proc/stat) over each slice's window: on the servers' CPUs median "
        f"{num(noise['steal_pct_median'], '%')}, worst {num(noise['steal_pct_max'], '%')}; on the "
        f"generator's median {num(noise['generator_steal_pct_median'], '%')}, worst "
        f"{num(noise['generator_steal_pct_max'], '%')}. A slice past {noise['steal_limit_pct']:g}% "
        f"stolen or {noise['others_limit_pct']:g}% taken by other processes (server's CPUs: median "
        f"{num(noise['others_pct_median'], '%')}, worst {num(noise['others_pct_max'], '%')}; generator's: "
        f"median {num(noise['generator_others_pct_median'], '%')}, worst "
        f"{num(noise['generator_others_pct_max'], '%')}), or whose answers per second varied by more than "
        f"{noise['uneven_limit']:.0%}, is disturbed: "
        f"{noise['disturbed_slices']} of {noise['slices']} slices were.",
    ]
    if noise.get("speed_probe_us_min") is not None:
        correlation = noise.get("speed_cost_correlation")
        lines[0] += (
            " The servers' CPUs' speed, which `steal` does not see (loadtests/bench/machine/speed.py): the "
            f"same probe took {num(noise['speed_probe_us_min'])} to {num(noise['speed_probe_us_max'])} µs "
            f"around the slices, and moved by up to {num(noise['speed_moved_pct_max'], '%')} across one. "
            "It is recorded, not used to drop a slice"
            + (
                f": its reading and a slice's cost correlated at {correlation:.2f} in this run."
                if correlation is not None
                else "."
            )
        )
    reasons = [
        f"- {entry['scenario']}, {key_label(entry['numerator'])} / {key_label(entry['denominator'])} "
        f"({entry['generator']}, {entry['metric']}): {reason}"
        for entry in summary["ratios"]
        for reason in entry["dropped_reasons"]
    ]
    if reasons:
        lines += ["", "Pairs left out of the ratios, and why:", "", *reasons]
    else:
        lines += ["", "No pair was left out."]
    return lines


def model_line(summary: Mapping[str, Any]) -> str:
    return "; ".join(
        f"`{name}` {num(m['cpu_us'])} µs CPU ({num(m['wall_us'])} µs wall, median of {m['repeats']} x "
        f"{m['loops']:,} calls)"
        for name, m in summary["model"].items()
    )


def verification_section(summary: Mapping[str, Any]) -> str:
    lines = []
    for key, v in summary["verification"].items():
        if v.get("error"):
            lines.append(f"- **{key}: not benchmarked**, it did not start:\n\n```\n{v['error']}\n```")
            continue
        failed = [c for c in v["checks"] if not c["passed"]]
        status = "passed" if not failed else "**failed: not benchmarked**"
        lines.append(f"- {key}: {len(v['checks']) - len(failed)}/{len(v['checks'])} contract checks {status}")
        lines += [f"  - {c['name']}: {c['problem']}" for c in failed]
    first = next((v for v in summary["verification"].values() if v.get("checks")), None)
    if first:
        names = "; ".join(c["name"] for c in first["checks"])
        lines.append(f"\nChecks, against the running server before any load: {names}.")
    return "\n".join(lines)


def environment_section(summary: Mapping[str, Any]) -> str:
    env = summary["environment"]
    packages = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    commands = "\n".join(f"# {key}\n{cmd}" for key, cmd in env["server_commands"].items() if cmd)
    configs = "\n".join(f"# {key}\n{cfg}" for key, cfg in env.get("server_configs", {}).items() if cfg)
    lines = [
        "| | |",
        "|---|---|",
        f"| CPU | {env['cpu_model']}, {env['cores']} cores |",
        f"| memory | {env['memory_gib']} GiB |",
        f"| OS | {env['os']} |",
        f"| Python | {env['python']} |",
        f"| commit | {env['git']} |",
        f"| started | {env['started_at']}, took {env['elapsed_s']:.0f} s |",
        f"| packages | {packages} |",
        "",
        "Server commands (from the repository's root):",
        "",
        "```sh",
        commands,
        "```",
        "",
        "What each server reported as its configuration:",
        "",
        "```",
        configs,
        "```",
        "",
        "Locust command (one per slice; the user class names the scenario):",
        "",
        "```sh",
        env["locust_command"],
        "```",
    ]
    if env.get("upstream"):
        lines += [
            "",
            "The upstream observation service (io):",
            "",
            "```sh",
            env["upstream"]["command"],
            "```",
        ]
    if env.get("notes"):
        lines += ["", "Notes:", "", *[f"- {note}" for note in env["notes"]]]
    return "\n".join(lines)


def slices_table(summary: Mapping[str, Any]) -> str:
    lines = [
        "| slice | rps | p99, ms | CPU per request, µs | steal | generator CPU | clean |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for run in summary["runs"]:
        corrected = run.get("corrected_latency_ms") or {}
        p99 = corrected.get("99") if corrected else run["latency_ms"].get("99")
        link = (
            f"{run['run_dir']}/report.html" if run["generator"] == "locust" else f"{run['run_dir']}/wrk.txt"
        )
        clean = "yes" if run["valid"] and not run["disturbances"] else "no"
        lines.append(
            f"| [{run['run_dir'].removeprefix('runs/')}]({link}) | {num(run['rps'])} | "
            f"{num(p99)}{' c' if corrected else ''} | {num(run['server_cpu_us_per_request'])} | "
            f"{num(run['steal_pct'], '%')} | {num(run['generator_cpu_max'], '%')} | {clean} |"
        )
    return "\n".join(
        [*lines, "", "p99 marked c: corrected for coordinated omission (a slice at an offered rate)."]
    )
