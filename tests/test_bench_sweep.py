"""The worker sweep (make bench PROFILE=servers): its plan, its figures and its sentence, on made-up slices.
No server starts here."""

from dataclasses import replace

import pytest

from loadtests.bench.plan.slices import FIXED
from loadtests.bench.plan.sweep import (
    SWEEP_P99_PHASE,
    SWEEP_PHASE,
    sweep_p99_slices,
    sweep_rounds,
    whole_sweep,
)
from loadtests.bench.plan.variants import CATALOGUE, SWEEP_VARIANTS
from loadtests.bench.render.report import render_report
from loadtests.bench.render.sweep_report import sweep_sentence
from loadtests.bench.results.records import Measurement
from loadtests.bench.results.sweep import rule_point, sweep_entries
from tests.test_bench import config_of
from tests.test_bench_analysis import capacity, summary_of

FOREST = "random-forest-500"
ONE, TWO, RULE = "flask-gunicorn-sync-per-cpu", "flask-gunicorn-sync-2-per-cpu", "flask-gunicorn-sync"
DEF, DEF_TWO = "fastapi-uvicorn", "fastapi-uvicorn-2-per-cpu"


def test_the_sweep_runs_each_server_around_its_docs_rule_on_both_models() -> None:
    servers = config_of("servers")
    by_key = {v.key: v for v in SWEEP_VARIANTS}
    assert [by_key[k].workers(1) for k in (ONE, TWO, RULE)] == [1, 2, 3]  # gunicorn-sync: 1, 2 and 2n + 1
    assert [by_key[k].workers(1) for k in (DEF, DEF_TWO)] == [1, 2]
    assert by_key[ONE].workers(2) == 2 and by_key[RULE].workers(2) == 5  # rules, not counts
    assert by_key[ONE].rule_fixed and not by_key[RULE].rule_fixed  # WORKERS= moves the rule's point only
    assert {v.key for v in SWEEP_VARIANTS} <= {v.key for v in CATALOGUE}
    assert servers.profile.sweep_models == ("", FOREST)
    rounds = sweep_rounds(servers, FOREST)
    assert len(rounds) == servers.profile.sweep_rounds * len(SWEEP_VARIANTS)
    assert {(s.phase, s.model) for s in rounds} == {(SWEEP_PHASE, FOREST)}
    assert [s.variant for s in rounds[:2]] == [ONE, TWO] and rounds[len(SWEEP_VARIANTS)].variant.endswith(
        "2-per-cpu"
    )
    # Each at half its own capacity, its window up to 15 s for 1,000 answers.
    half = sweep_p99_slices(servers, FOREST, {RULE: 41.0, DEF: 1100.0})
    assert [(s.variant, s.rate, s.kind, s.duration_s, s.phase) for s in half] == [
        (RULE, 20.0, FIXED, 15, SWEEP_P99_PHASE),
        (DEF, 550.0, FIXED, 2, SWEEP_P99_PHASE),
    ]
    assert whole_sweep(config_of()) == []  # the default profile has no sweep
    assert config_of("servers", variant_keys=(RULE, DEF)).sweep_variants() == []  # VARIANTS= replaces it
    assert rule_point(TWO) == rule_point(ONE) == RULE and rule_point(DEF_TWO) == DEF


def swept(key: str, rps: float, cpu_us: float, round_: int, model: str = "") -> Measurement:
    return replace(capacity(key, rps, cpu_us, round_), phase=SWEEP_PHASE, model=model)


def half_capacity(key: str, rate: float, p99: float, model: str = "") -> Measurement:
    m = capacity(key, rate, 1000.0, 1)
    return replace(
        m, phase=SWEEP_P99_PHASE, kind=FIXED, target_rate=rate, model=model, corrected_latency_ms={"99": p99}
    )


SWEEP = [
    *(
        swept(key, rps * r, 900.0, i)
        for i, r in enumerate((1.0, 1.01, 0.99, 1.0), start=1)
        for key, rps in ((ONE, 1063.0), (TWO, 1055.0), (RULE, 1049.0), (DEF, 1700.0), (DEF_TWO, 1500.0))
    ),
    half_capacity(ONE, 530.0, 12.0),
    half_capacity(RULE, 520.0, 31.0),
    *(
        swept(key, rps, 23_000.0 * (1.2 if key == RULE else 1.0), i, FOREST)
        for i in range(1, 5)
        for key, rps in ((ONE, 45.0), (RULE, 42.0), (DEF, 44.0), (DEF_TWO, 43.0))
    ),
]


def test_each_count_is_paired_with_its_servers_rule_and_the_best_is_named() -> None:
    entries = sweep_entries(SWEEP, server_cpus=1)
    by = {(e["model"], e["key"]): e for e in entries}
    one, rule = by[("", ONE)], by[("", RULE)]
    assert (one["workers"], rule["workers"], one["rounds"]) == (1, 3, 4)
    assert one["best"] and not rule["best"] and rule["rule_point"] and not one["rule_point"]
    assert one["rps_vs_rule"]["ratio"] == pytest.approx(1063 / 1049, rel=1e-3)
    assert rule["rps_vs_rule"] is None  # the rule's point is the reference
    assert (one["half_rate"], one["half_p99_ms"], by[("", TWO)]["half_rate"]) == (530.0, 12.0, None)
    assert by[(FOREST, RULE)]["cpu_vs_rule"] is None and by[(FOREST, ONE)]["cpu_vs_rule"][
        "ratio"
    ] == pytest.approx(1 / 1.2)
    assert by[("", DEF)]["best"] and not by[("", DEF_TWO)]["best"]  # uvicorn's rule is its best here
    # The best by the pairs, not the medians: two workers' median above the rule's, their pairs' figure below
    # it (one round the rule's slice ran fast, the two workers' slow), as a servers run gave here.
    drifted = [
        swept(key, rps, 1_300.0, i)
        for i, (rule_rps, two_rps) in enumerate(((600, 590), (720, 780), (750, 790), (1200, 700)), start=1)
        for key, rps in ((DEF, rule_rps), (DEF_TWO, two_rps))
    ]
    by_key = {e["key"]: e for e in sweep_entries(drifted)}
    assert by_key[DEF_TWO]["rps"] > by_key[DEF]["rps"] and by_key[DEF_TWO]["rps_vs_rule"]["ratio"] < 1
    assert by_key[DEF]["best"] and not by_key[DEF_TWO]["best"]
    # Disturbed rounds are left out of a count's figures.
    noisy = [replace(m, steal_pct=40.0) if (m.key, m.round, m.model) == (ONE, 1, "") else m for m in SWEEP]
    assert {e["key"]: e["rounds"] for e in sweep_entries(noisy) if e["model"] == ""}[ONE] == 3


def test_the_servers_report_gives_each_servers_best_beside_its_rule() -> None:
    summary = summary_of(SWEEP)
    said = sweep_sentence(summary) or ""
    assert said.startswith("**Worker counts** (on the servers' 1 CPU;")
    assert "with the default model, Flask (gunicorn-sync) at 1 worker, 1.01x" in said
    assert "FastAPI (uvicorn) at its docs' 1" in said and f"with {FOREST}, " in said
    report = render_report(summary, charts=())
    assert (
        "## Worker counts" in report
        and "| Flask (gunicorn-sync, one worker per CPU) | 1 | 1,063 **best** |" in report
    )
    assert "12.0 (n=" in report  # the p99 at half capacity, with its answers
    assert summary["ratios"] == [] and summary.get("crossover") is None  # the sweep mixes with nothing else
