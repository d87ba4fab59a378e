"""A bounded Schemathesis run against every live service: `make fuzz` runs the long one."""

from pathlib import Path

import pytest

from tests.clients import FRAMEWORKS
from tests.fuzz import fuzz_all

pytestmark = pytest.mark.live


def test_every_spec_holds_under_fuzzing(tmp_path: Path) -> None:
    results = fuzz_all(max_examples=25, seed=20261125, out_dir=tmp_path)
    assert [r.framework for r in results] == FRAMEWORKS
    for result in results:
        assert result.cases > 100, result.output.read_text()[-3000:]
        assert result.passed, result.output.read_text()[-3000:]
