"""Turn penguins into the model's numeric matrix, many at a time.

The encoding is done by hand with NumPy instead of a scikit-learn ColumnTransformer over a pandas
DataFrame: building a DataFrame costs about a millisecond per call, which would swamp the framework
costs the benchmark exists to compare. One call encodes a whole batch.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.limits import MEASUREMENTS, Island, Sex

INPUT_FEATURES: list[str] = ["island", *MEASUREMENTS, "sex"]
ISLANDS: list[str] = [island.value for island in Island]
SEXES: list[str] = [sex.value for sex in Sex]
# A missing sex is all zeros in its one-hot columns.
ENCODED_FEATURES: list[str] = [
    *MEASUREMENTS,
    *(f"island={island}" for island in ISLANDS),
    *(f"sex={sex}" for sex in SEXES),
]


def encode(penguins: Sequence[Mapping[str, Any]]) -> npt.NDArray[np.float64]:
    """One row per penguin, columns in ENCODED_FEATURES order."""
    n = len(penguins)
    matrix = np.zeros((n, len(ENCODED_FEATURES)), dtype=np.float64)
    matrix[:, : len(MEASUREMENTS)] = [[p[name] for name in MEASUREMENTS] for p in penguins]
    island_column = len(MEASUREMENTS) + np.fromiter(
        (ISLANDS.index(str(p["island"])) for p in penguins), dtype=np.intp, count=n
    )
    matrix[np.arange(n), island_column] = 1.0
    for row, penguin in enumerate(penguins):
        sex = penguin.get("sex")
        if sex is not None:
            matrix[row, len(MEASUREMENTS) + len(ISLANDS) + SEXES.index(str(sex))] = 1.0
    return matrix
