"""Example payloads shared by the docs, the tests and the load tests.

The known penguins are real rows of the Palmer Penguins data, one per species, that the model classifies
correctly with a wide margin: the load tests check every answer against them.
"""

from typing import Any

EXAMPLE_PENGUIN: dict[str, Any] = {
    "island": "Biscoe",
    "bill_length_mm": 45.2,
    "bill_depth_mm": 15.8,
    "flipper_length_mm": 215,
    "body_mass_g": 5300,
    "sex": "male",
}

KNOWN_PENGUINS: dict[str, dict[str, Any]] = {
    "Adelie": {
        "island": "Torgersen",
        "bill_length_mm": 39.1,
        "bill_depth_mm": 18.7,
        "flipper_length_mm": 181,
        "body_mass_g": 3750,
        "sex": "male",
    },
    "Chinstrap": {
        "island": "Dream",
        "bill_length_mm": 46.5,
        "bill_depth_mm": 17.9,
        "flipper_length_mm": 192,
        "body_mass_g": 3500,
        "sex": "female",
    },
    "Gentoo": EXAMPLE_PENGUIN,
}

EXAMPLE_BATCH: dict[str, Any] = {"items": [KNOWN_PENGUINS[s] for s in ("Adelie", "Chinstrap", "Gentoo")]}

# A Penguin with one problem in each field, and the error types both services must report for it.
INVALID_PENGUIN: dict[str, Any] = {
    "island": "Atlantis",
    "bill_length_mm": "39.1",
    "bill_depth_mm": 0,
    "flipper_length_mm": 301,
    "sex": "unknown",
    "beak_colour": "orange",
}
INVALID_PENGUIN_ERRORS: list[tuple[str, str]] = [
    ("island", "enum"),
    ("bill_length_mm", "float_type"),
    ("bill_depth_mm", "greater_than"),
    ("flipper_length_mm", "less_than_equal"),
    ("body_mass_g", "missing"),
    ("sex", "enum"),
    ("beak_colour", "extra_forbidden"),
]


def batch_of(size: int) -> dict[str, Any]:
    """A batch of `size` known penguins, cycling through the species in a fixed order."""
    cycle = list(KNOWN_PENGUINS.values())
    return {"items": [cycle[i % len(cycle)] for i in range(size)]}


def expected_species_of_batch(size: int) -> list[str]:
    cycle = list(KNOWN_PENGUINS)
    return [cycle[i % len(cycle)] for i in range(size)]
