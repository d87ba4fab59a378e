"""Request and response models: pydantic validates them, flask-openapi3 documents them: one set of hints."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.docs import COST_DESCRIPTION, PENGUIN_ID
from shared.examples import EXAMPLE_BATCH, EXAMPLE_PENGUIN
from shared.limits import MAX_BATCH_SIZE, MEASUREMENTS, MIN_BATCH_SIZE, Island, Sex


def measurement(name: str) -> Any:
    """A finite JSON number within the contract's bounds; strict, so "39.1" and true are refused."""
    bound = MEASUREMENTS[name]
    return Field(
        gt=bound.gt,
        le=bound.le,
        strict=True,
        allow_inf_nan=False,
        description=bound.description,
        examples=[EXAMPLE_PENGUIN[name]],
    )


class Penguin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    island: Island = Field(examples=[EXAMPLE_PENGUIN["island"]])
    bill_length_mm: Annotated[float, measurement("bill_length_mm")]
    bill_depth_mm: Annotated[float, measurement("bill_depth_mm")]
    flipper_length_mm: Annotated[float, measurement("flipper_length_mm")]
    body_mass_g: Annotated[float, measurement("body_mass_g")]
    sex: Sex | None = Field(default=None, examples=[EXAMPLE_PENGUIN["sex"]])


class PenguinPath(BaseModel):
    penguin_id: int = Field(gt=0, description=PENGUIN_ID)


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Penguin] = Field(
        min_length=MIN_BATCH_SIZE, max_length=MAX_BATCH_SIZE, examples=[EXAMPLE_BATCH["items"]]
    )


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Metrics(BaseModel):
    accuracy: float
    n_train: int
    n_test: int


class Cost(BaseModel):
    cpu_us_1_row: float = Field(description=COST_DESCRIPTION.format(rows="1 penguin"))
    cpu_us_100_rows: float = Field(description=COST_DESCRIPTION.format(rows="100 penguins"))


class ModelCard(BaseModel):
    name: str
    version: str
    classes: list[str]
    features: list[str]
    metrics: Metrics
    estimator: str
    cost: Cost


class Probabilities(BaseModel):
    Adelie: float
    Chinstrap: float
    Gentoo: float


class Species(BaseModel):
    species: str
    probabilities: Probabilities


class Prediction(Species):
    model_version: str


class BatchPrediction(BaseModel):
    model_version: str
    predictions: list[Species]


class PenguinPrediction(BaseModel):
    penguin_id: int
    species: str
    probabilities: Probabilities
    model_version: str


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[ErrorItem]


class ErrorBody(BaseModel):
    detail: str
