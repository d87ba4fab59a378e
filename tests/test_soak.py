"""The soak's verdict on recorded samples, and a few seconds of the real thing."""

from pathlib import Path

import pytest

from loadtests.soak import MemorySample, assess, main

STATS = {"requests": 1000, "failures": 0, "rps": 50.0}


def samples(rss: list[float]) -> list[MemorySample]:
    return [MemorySample(5.0 * i, {"flask": value}) for i, value in enumerate(rss)]


def test_flat_memory_passes() -> None:
    result = assess("flask", STATS, samples([100, 150, 151, 150, 152, 151, 150, 151, 152, 151, 152]), [])
    assert (result.rss_start_mib, result.rss_end_mib) == (150, 151.5)
    assert result.memory_stable and result.passed


def test_memory_still_growing_in_the_second_half_fails() -> None:
    result = assess("flask", STATS, samples([150 + 2 * i for i in range(21)]), [])
    assert result.second_half_growth_mib == 19  # medians of the last two samples and of three mid-run
    assert not result.memory_stable and not result.passed


def test_a_failed_request_fails_the_soak() -> None:
    result = assess("flask", {**STATS, "failures": 1}, samples([150] * 10), ["POST /predict: 500 (1x)"])
    assert result.memory_stable and not result.passed


@pytest.mark.live
def test_a_short_soak_runs_to_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--duration", "6", "--rate", "20", "--users", "4", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "flask" in printed and "fastapi" in printed
    assert {p.name for p in tmp_path.iterdir()} >= {
        "summary.json",
        "memory.csv",
        "memory.png",
        "flask",
        "fastapi",
    }
