"""make bench PROFILE=crossover, without load: its plan and budget, its figures from recorded slices (the
arithmetic of medians, intervals and N), its chart, and the README and docs sections it writes."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from examples import own_model
from loadtests.bench.cli import config_from, parse_args
from loadtests.bench.plan.crossover import crossover_slices
from loadtests.bench.plan.slices import SERVER_START_S, estimate_s, in_process_s, server_starts
from loadtests.bench.render.crossover import CHART, n_sentence
from loadtests.bench.render.output import write_results
from loadtests.bench.render.readme import ANSWER_FASTER, ANSWER_WHEN, CROSSOVER, update_readme
from loadtests.bench.results.crossover import (
    cards_as_timed,
    crossover_entries,
    crossover_n_us,
    headline_measurements,
    in_process_cost,
    model_cpu_us,
)
from loadtests.bench.results.pairs import ratio_interval
from loadtests.bench.results.records import Measurement, load_measurements, save_measurements
from loadtests.bench.results.summary import build_summary
from loadtests.scenarios import BATCH_SIZE, HEALTH, PREDICT
from shared.limits import MAX_BATCH_SIZE
from shared.model import model_label, model_setting
from shared.settings import MODEL_NAMES
from tests.test_bench_analysis import capacity, summary_of

FLASK, FASTAPI, ASYNC = "flask-gunicorn-sync", "fastapi-uvicorn", "fastapi-async-def"
GRANIAN = ("fastapi-granian", "flask-granian")
CARDS = {
    "cheap": {"cost": {"cpu_us_1_row": 200.0, "cpu_us_100_rows": 299.0}},
    "dear": {"cost": {"cpu_us_1_row": 20_000.0, "cpu_us_100_rows": 20_990.0}},
}


def crossover_config(*argv: str) -> Any:
    return config_from(parse_args(["run", "--profile", "crossover", *argv]))


def test_the_crossover_plan_pairs_every_comparison_for_every_model_within_its_budget() -> None:
    config = crossover_config()
    slices = crossover_slices(config)
    assert config.profile.models == MODEL_NAMES and len(MODEL_NAMES) >= 4
    assert config.rounds >= 4 and config.budget_s and "same-server" in config.profile.lead
    # Each comparison's two variants run in every round of every model, on predict and batch.
    by_round = Counter((s.model, s.scenario, s.round, s.variant) for s in slices if s.batch_size is None)
    for model in MODEL_NAMES:
        for index in range(1, config.rounds + 1):
            for key in (FLASK, FASTAPI, ASYNC, *GRANIAN):
                assert by_round[(model, "predict", index, key)] == 1
            # The Granian pair on predict alone (the profile's budget).
            for key in (FLASK, FASTAPI, ASYNC):
                assert by_round[(model, "batch", index, key)] == 1
            assert not any(by_round[(model, "batch", index, key)] for key in GRANIAN)
            assert {k for (m, sc, r, k) in by_round if (m, sc, r) == (model, "mixed", index)} == {
                FLASK,
                FASTAPI,
                ASYNC,
            }
    # Batch size, a second axis: the cheapest model only, the default pair, every size but the scenario's own.
    sized = [s for s in slices if s.batch_size is not None]
    assert {s.model for s in sized} == {MODEL_NAMES[0]} and {s.variant for s in sized} == {FLASK, FASTAPI}
    assert {s.batch_size for s in sized} | {BATCH_SIZE} == {1, 10, BATCH_SIZE, MAX_BATCH_SIZE}
    assert len(sized) == 3 * 2 * config.rounds
    assert len(slices) == len(MODEL_NAMES) * config.rounds * (5 + 3 + 3) + len(sized)
    # A change of model is a restart; a server, once started, is kept for all its slices of that model.
    assert server_starts(s.server for s in slices) == len(MODEL_NAMES) * 5
    # Within a round, scenario by scenario: a pair's two slices are next to each other or a few apart.
    first = [(s.scenario, s.batch_size) for s in slices if (s.model, s.round) == (MODEL_NAMES[0], 1)]
    assert first == sorted(first, key=lambda step: [step[0] for step in first].index(step[0]))
    total = estimate_s(config, slices) + in_process_s(config, 0)
    assert total < config.budget_s  # the profile's rounds leave the precision rule some of its budget
    assert total >= len(slices) * (config.warmup_s + config.duration_s) + SERVER_START_S * 20


def test_models_can_be_chosen_and_only_for_the_crossover() -> None:
    config = crossover_config("--models", "random-forest-500,penguin-species", "--rounds", "1")
    slices = crossover_slices(config)
    assert config.profile.models == ("random-forest-500", "penguin-species")
    assert {s.model for s in slices if s.batch_size} == {"random-forest-500"}
    with pytest.raises(ValueError, match="unknown model"):
        crossover_config("--models", "gpt")
    with pytest.raises(ValueError, match="crossover profile"):
        config_from(parse_args(["run", "--models", "penguin-species"]))


def slice_of(
    model: str, scenario: str, key: str, rps: float, cpu_us: float, round_: int, **more: Any
) -> Measurement:
    return capacity(key, rps, cpu_us, round_, model=model, scenario=scenario, **more)


def rounds_of(
    model: str, scenario: str, ratios: list[float], key: str = FASTAPI, **more: Any
) -> list[Measurement]:
    """Pairs whose requests/s ratio (key over Flask's default) is each of `ratios`; CPU the inverse."""
    out = []
    for index, ratio in enumerate(ratios, start=1):
        out.append(slice_of(model, scenario, FLASK, 100.0, 1000.0, index, **more))
        out.append(slice_of(model, scenario, key, 100.0 * ratio, 1000.0 / ratio, index, **more))
    return out


def test_model_cost_is_the_cards_for_the_scenarios_rows() -> None:
    assert model_cpu_us(CARDS["cheap"], 1) == 200.0
    assert model_cpu_us(CARDS["cheap"], 100) == 299.0
    assert model_cpu_us(CARDS["cheap"], 10) == pytest.approx(209.0)
    assert model_cpu_us(CARDS["cheap"], 1000) == pytest.approx(1199.0)
    assert model_cpu_us({}, 1) is None


def test_crossover_entries_are_the_pair_ratios_and_intervals_per_model() -> None:
    measurements = [
        *rounds_of("cheap", "predict", [1.40, 1.50, 1.30, 1.40]),
        *rounds_of("dear", "predict", [1.02, 0.99, 1.01, 1.00]),
        *rounds_of("cheap", "batch", [1.2, 1.1, 1.3, 1.2], batch_size=10),
    ]
    entries = crossover_entries(measurements, CARDS)
    rps = {(e["model"], e["scenario"], e["batch_size"]): e for e in entries if e["metric"] == "rps_ratio"}
    cheap = rps[("cheap", "predict", None)]
    expected = ratio_interval([1.40, 1.50, 1.30, 1.40])
    assert (cheap["ratio"], cheap["low"], cheap["high"], cheap["pairs"]) == pytest.approx(
        (expected["ratio"], expected["low"], expected["high"], 4)
    )
    assert cheap["model_cpu_us"] == 200.0 and cheap["comparison"] == "default" and not cheap["precise"]
    dear = rps[("dear", "predict", None)]
    assert dear["ratio"] == pytest.approx(1.005, abs=0.001) and dear["precise"]  # within ±2%
    sized = rps[("cheap", "batch", 10)]
    assert sized["ratio"] == pytest.approx(1.2, abs=0.005) and sized["model_cpu_us"] == pytest.approx(209.0)
    cpu = next(e for e in entries if e["metric"] == "cpu_per_request_ratio" and e["model"] == "cheap")
    assert cpu["ratio"] == pytest.approx(1 / (expected["ratio"] or 0))
    keys = {"model", "model_cpu_us", "scenario", "comparison", "metric", "ratio", "low", "high", "pairs"}
    assert all(keys <= set(e) for e in entries if e["metric"].endswith("_ratio"))


def test_the_async_def_form_and_the_granian_pair_are_compared_too() -> None:
    measurements = rounds_of("dear", "predict", [0.8, 0.9, 0.85], key=ASYNC)
    measurements += [
        m
        for index, ratio in enumerate([1.0, 1.02, 1 / 1.02], start=1)
        for m in (
            slice_of("dear", "predict", "flask-granian", 100.0, 1000.0, index),
            slice_of("dear", "predict", "fastapi-granian", 100.0 * ratio, 1000.0, index),
        )
    ]
    found = {e["comparison"]: e for e in crossover_entries(measurements, CARDS) if e["metric"] == "rps_ratio"}
    assert found["async-def-form"]["ratio"] == pytest.approx((0.8 * 0.9 * 0.85) ** (1 / 3))
    assert found["same-server"]["ratio"] == pytest.approx(1.0)
    assert "default" not in found  # fastapi-uvicorn was not measured


def test_health_p99_under_mixed_is_each_variants_median_of_rounds() -> None:
    measurements = [
        slice_of("dear", "mixed", key, 50.0, 1000.0, index, p99_by_name_ms={HEALTH: p99, PREDICT: 700.0})
        for index, (blocked, free) in enumerate([(310.0, 12.0), (290.0, 9.0), (350.0, 15.0)], start=1)
        for key, p99 in ((ASYNC, blocked), (FLASK, free))
    ]
    health = {
        e["comparison"]: e for e in crossover_entries(measurements, CARDS) if e["metric"] == "health_p99_ms"
    }
    assert (health[ASYNC]["median"], health[ASYNC]["low"], health[ASYNC]["high"]) == (310.0, 290.0, 350.0)
    assert health[FLASK]["median"] == 12.0 and health[FLASK]["pairs"] == 3
    predict = {
        e["comparison"]: e for e in crossover_entries(measurements, CARDS) if e["metric"] == "predict_p99_ms"
    }
    assert predict[ASYNC]["median"] == predict[FLASK]["median"] == 700.0  # one penguin's, beside /health's


def entry(
    comparison: str, cost: float, low: float, high: float, pairs: int = 4, **more: Any
) -> dict[str, Any]:
    return {
        "comparison": comparison,
        "model_cpu_us": cost,
        "metric": "rps_ratio",
        "scenario": "predict",
        "batch_size": None,
        "ratio": (low + high) / 2,
        "low": low,
        "high": high,
        "pairs": pairs,
        **more,
    }


def test_n_is_the_smallest_cost_from_which_every_interval_stays_within_five_percent() -> None:
    entries = [
        entry("default", 200, 1.3, 1.5),
        entry("same-server", 200, 0.9, 1.1),
        entry("default", 4000, 0.97, 1.04),
        entry("same-server", 4000, 0.96, 1.05),
        entry("default", 20000, 0.99, 1.01),
        entry("same-server", 20000, 0.98, 1.02),
    ]
    assert crossover_n_us(entries) == 4000
    # One interval out at the dearest model: no cost qualifies, since every dearer one must too.
    assert crossover_n_us([*entries[:-1], entry("same-server", 20000, 0.94, 1.0)]) is None
    # Too few pairs is not within, however narrow.
    assert (
        crossover_n_us(
            [
                *entries[:2],
                *entries[4:],
                *[entry(c, 4000, 1.0, 1.0, pairs=2) for c in ("default", "same-server")],
            ]
        )
        == 20000
    )
    # A comparison missing above a cost: that cost does not speak for it.
    assert crossover_n_us([entries[0], entries[1], entries[2]]) is None
    # The batch-size axis and the other metrics do not move N.
    assert crossover_n_us([*entries, entry("default", 50, 2.0, 3.0, batch_size=10, scenario="batch")]) == 4000
    assert crossover_n_us([]) is None


def crossover_run() -> list[Measurement]:
    return [
        *rounds_of("cheap", "predict", [1.40, 1.40, 1.40, 1.40]),
        *rounds_of("cheap", "batch", [1.20, 1.25, 1.30, 1.25]),
        *rounds_of("dear", "predict", [1.02, 0.99, 1.01, 1.00]),
        *rounds_of("dear", "batch", [1.00, 1.01, 0.99, 1.00]),
        *rounds_of("cheap", "batch", [1.6, 1.5, 1.7, 1.6], batch_size=1),
    ]


def crossover_summary() -> dict[str, Any]:
    """As the runner builds it: the models' cards in the environment."""
    summary = summary_of(crossover_run())
    env = {**summary["environment"], "models": CARDS, "profile": "crossover"}
    return build_summary(env, summary["verification"], summary["model"], crossover_run())


def test_a_crossover_summary_keeps_its_other_sections_to_the_cheapest_model() -> None:
    summary = crossover_summary()
    assert summary["crossover_n_us"] == 20_000.0
    assert "above 20 ms of model time" in n_sentence(summary).lower()
    assert len(summary["runs"]) == len(crossover_run())
    headline = {(r["scenario"], r["metric"]): r for r in summary["ratios"] if r["comparison"] == "default"}
    assert headline[("predict", "rps")]["ratio"] == pytest.approx(1.4)  # the cheap model's, not mixed in
    assert headline[("batch", "rps")]["ratio"] == pytest.approx(1.25, abs=0.002)  # its own batch size only
    assert len(headline_measurements(crossover_run())) == 16  # cheap: 4 pairs on predict, 4 on batch
    # A run of one model: no crossover keys, its summary as before.
    plain = summary_of(rounds_of("", "predict", [1.4, 1.5, 1.3]))
    assert "crossover" not in plain and "crossover_n_us" not in plain


def test_the_chart_is_drawn_and_the_readme_gets_the_crossover_only(tmp_path: Path) -> None:
    results = tmp_path / "results" / "run"
    results.mkdir(parents=True)
    report, _ = write_results(results, crossover_summary())
    assert (results / CHART).stat().st_size > 1000
    text = report.read_text()
    assert "## The crossover" in text and f"]({CHART})" in text and "| dear | 20,000 µs | predict |" in text
    # 1.20x to 1.30x over four pairs: about ±5.3%, named; every other ratio is within ±5%.
    [loose] = [
        line for line in text.splitlines() if line.startswith("**Not within ±5%** when the run's budget was")
    ]
    assert "cheap batch the defaults: FastAPI (uvicorn) / Flask (gunicorn-sync) 1.25x [" in loose
    assert "predict" not in loose
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# T\n\n{ANSWER_FASTER[0]}\nHEADLINE RUN\n{ANSWER_FASTER[1]}\n\n"
        f"{ANSWER_WHEN[0]}\nold\n{ANSWER_WHEN[1]}\n\n## End\n"
    )
    argument = tmp_path / "docs" / "argument.md"
    argument.parent.mkdir()
    argument.write_text(f"speed\n\n{CROSSOVER[0]}\nold\n{CROSSOVER[1]}\n")
    assert update_readme(results, repo=tmp_path) == readme
    written = readme.read_text()
    assert "HEADLINE RUN" in written and "\nold\n" not in written and written.endswith("## End\n")
    assert "**Does it matter for my model?** Above 20 ms of model CPU per request, no" in written
    assert "](bench/crossover.png)" in argument.read_text() and "old" not in argument.read_text()
    docs = tmp_path / "docs" / "bench"
    assert (docs / CHART).read_bytes() == (results / CHART).read_bytes()
    assert (docs / "crossover.md").exists() and not (docs / "results.md").exists()


def test_a_default_run_leaves_the_last_crossover_alone(tmp_path: Path) -> None:
    results = tmp_path / "results" / "run"
    results.mkdir(parents=True)
    summary = summary_of(rounds_of("", "predict", [1.4, 1.5, 1.3]))
    write_results(results, summary)
    assert not (results / CHART).exists()
    readme = tmp_path / "README.md"
    readme.write_text(
        f"{ANSWER_FASTER[0]}\nold\n{ANSWER_FASTER[1]}\n{ANSWER_WHEN[0]}\nLAST CROSSOVER\n{ANSWER_WHEN[1]}\n"
    )
    update_readme(results, repo=tmp_path)
    assert "LAST CROSSOVER" in readme.read_text() and "\nold\n" not in readme.read_text()
    assert json.loads((results / "summary.json").read_text()).get("crossover") is None


def test_a_crossover_slice_records_its_model_and_batch_size(tmp_path: Path) -> None:
    path = tmp_path / "measurements.json"
    save_measurements(crossover_run()[-2:], path)
    loaded = load_measurements(path)
    assert [(m.model, m.batch_size) for m in loaded] == [("cheap", 1), ("cheap", 1)]
    # A record written before these fields existed reads as a run of the default model.
    legacy = {
        k: v
        for k, v in json.loads(path.read_text())["measurements"][0].items()
        if k not in {"model", "batch_size", "p99_by_name_ms"}
    }
    path.write_text(json.dumps({"format_version": 1, "measurements": [legacy]}))
    assert [(m.model, m.batch_size, m.p99_by_name_ms) for m in load_measurements(path)] == [("", None, {})]


def test_a_models_cost_is_the_runs_own_in_process_timing() -> None:
    timed = {"predict_one": {"cpu_us": 300.0, "cpu_us_min": 250.0}, "predict_many_100": {"cpu_us": 1290.0}}
    card = {"cost": in_process_cost(timed)}
    assert model_cpu_us(card, 1) == 300.0
    assert model_cpu_us(card, 100) == 1290.0
    assert model_cpu_us(card, 10) == 300.0 + (1290.0 - 300.0) * 9 / 99
    assert "this run" in card["cost"]["source"]


def test_the_cards_carry_the_runs_timing_and_keep_their_own() -> None:
    timed = {"dear": {"predict_one": {"cpu_us": 25_000.0}, "predict_many_100": {"cpu_us": 26_000.0}}}
    cards = cards_as_timed(CARDS, timed)
    assert cards["dear"]["cost"]["cpu_us_1_row"] == 25_000.0
    assert cards["dear"]["cost_from_card"] == CARDS["dear"]["cost"]
    assert cards["cheap"] == CARDS["cheap"]  # not timed in the run: its card's cost stands
    # Applied twice (a report rebuilt from a rebuilt summary), the card's own cost is still the card's.
    assert cards_as_timed(cards, timed)["dear"]["cost_from_card"] == CARDS["dear"]["cost"]


def test_the_readers_own_pipeline_is_one_more_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """make bench PROFILE=crossover MODEL_PATH=...: the reader's pipeline after the trained models, served
    by MODEL_PATH (never beside a MODEL_NAME), named by its file in every table."""
    assert own_model.main(["--model-dir", str(tmp_path)]) == 0
    path = str(tmp_path / f"{own_model.NAME}.joblib")
    monkeypatch.setenv("MODEL_PATH", path)
    config = crossover_config()
    assert config.profile.models == (*MODEL_NAMES, path)
    assert {s.model for s in crossover_slices(config)} == {*MODEL_NAMES, path}
    assert model_setting(path) == {"MODEL_PATH": path} and model_setting(MODEL_NAMES[1]) == {
        "MODEL_NAME": MODEL_NAMES[1]
    }
    assert model_label(path) == "own-pipeline (yours)" and model_label(MODEL_NAMES[0]) == MODEL_NAMES[0]
    assert config_from(parse_args(["run"])).profile.models == ()  # another profile serves it as usual
    with pytest.raises(ValueError, match=r"unknown model\(s\) mine; .* a path to its \.joblib"):
        crossover_config("--models", "mine")
    (tmp_path / f"{own_model.NAME}.json").unlink()
    with pytest.raises(
        ValueError, match=r"cannot serve the model .*own-pipeline\.joblib: No model artifact at"
    ):
        crossover_config()
