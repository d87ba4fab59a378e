"""The split's part of the report: each framework's CPU per request, layer by layer, and the waterfall from
Flask's to FastAPI's. Pure functions of summary.json's `split`.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def split_section(summary: Mapping[str, Any]) -> list[str]:
    if not summary.get("split"):
        return ["No in-process split in this run (the quick profile has none)."]
    return []


def waterfall_sentence(summary: Mapping[str, Any]) -> str | None:
    return None


def waterfall_chart(summary: Mapping[str, Any], path: Path) -> Path | None:
    return None


def waterfall_paragraph(summary: Mapping[str, Any]) -> str | None:
    return None
