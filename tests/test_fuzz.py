"""A bounded Schemathesis run against both live services: `make fuzz` runs the long one."""

from pathlib import Path

import pytest

from tests.fuzz import fuzz_both

pytestmark = pytest.mark.live


def test_both_specs_hold_under_fuzzing(tmp_path: Path) -> None:
    results = fuzz_both(max_examples=25, seed=20261125, out_dir=tmp_path)
    assert [r.framework for r in results] == ["flask", "fastapi"]
    for result in results:
        assert result.cases > 100, result.output.read_text()[-3000:]
        assert result.passed, result.output.read_text()[-3000:]
