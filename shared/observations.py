"""Field observations: the Palmer Penguins rows by 1-based row number, as the upstream service serves them."""

import math
from functools import cache
from typing import Any

from palmerpenguins import load_penguins

from shared.limits import MEASUREMENTS, PENGUIN_FIELDS


@cache
def observations() -> dict[int, dict[str, Any]]:
    """Every row that has all four measurements; a row with one missing is not an observation (404)."""
    found = {}
    for row_number, row in enumerate(load_penguins().to_dict(orient="records"), start=1):
        if any(_missing(row[name]) for name in MEASUREMENTS):
            continue
        found[row_number] = {
            "id": row_number,
            **{name: None if _missing(row[name]) else row[name] for name in PENGUIN_FIELDS},
            "year": int(row["year"]),
            "species": row["species"],
        }
    return found


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
