"""The contract's vocabulary: what a Penguin is, and how big a request may be.

Both services build their validation from these constants, so a bound changes in one place.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.settings import positive_int_from_env


class Island(StrEnum):
    BISCOE = "Biscoe"
    DREAM = "Dream"
    TORGERSEN = "Torgersen"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


SPECIES = ("Adelie", "Chinstrap", "Gentoo")


@dataclass(frozen=True)
class Bound:
    """An open lower bound and a closed upper bound: gt < x <= le."""

    gt: float
    le: float
    description: str


MEASUREMENTS: dict[str, Bound] = {
    "bill_length_mm": Bound(0, 100, "Bill length in millimetres"),
    "bill_depth_mm": Bound(0, 50, "Bill depth in millimetres"),
    "flipper_length_mm": Bound(0, 300, "Flipper length in millimetres"),
    "body_mass_g": Bound(0, 10_000, "Body mass in grams"),
}

# The field order of a Penguin, as the schemas declare it and as errors are reported.
PENGUIN_FIELDS = ("island", *MEASUREMENTS, "sex")


MIN_BATCH_SIZE = 1
# Read once, at import: both services declare it in their schemas (and so in their docs).
MAX_BATCH_SIZE = positive_int_from_env("MAX_BATCH_SIZE", 1000)

# Request line and headers, checked by both apps so that both answer 414 and 431 with the contract's JSON.
# gunicorn has its own, higher, limits (flask_service/server.py) and uvicorn with httptools none.
MAX_TARGET_BYTES = 4096  # path and query string
MAX_HEADER_FIELDS = 100  # distinct names: repeated lines of one name are one field (shared.errors)
MAX_HEADER_FIELD_BYTES = 8190  # name and value of one field, its repeated lines' values joined by commas

# A body over the limit is answered 413 before it is read. A client that sends its whole body before reading
# (Python's urllib, and many others) then finds the connection reset when the server closes it with the body
# unread, and never sees the 413. Both services read and drop the rest of a refused body first, as nginx's
# lingering close does, within these bounds; past them the connection is closed as before. Measured with
# urllib on 2 cores: a refused 8 MiB body costs the server 2.5-3.5 ms of CPU instead of 0.5, and is read;
# an honest request's path does not change.
DRAIN_MAX_BYTES = 32 << 20
DRAIN_MAX_S = 2.0
CHUNK_BYTES = 65536
