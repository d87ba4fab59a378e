"""Request and response schemas. marshmallow schemas validate the API; flask-restx models document it
(Swagger 2.0). Two declarations of one shape, kept in step by tests/test_specs.py: restx's own validation is
JSON-Schema based and its docs recommend another library for real validation
(https://flask-restx.readthedocs.io/en/latest/parsing.html). The schemas' errors are made pydantic's by
`ContractSchema` (contract.py), so that both services answer a bad request alike.
"""

from typing import Any

from flask_restx import Model, fields
from marshmallow import RAISE, validate
from marshmallow import fields as ma

from flask_service.contract import ContractSchema, LengthFirstList
from shared.docs import COST_DESCRIPTION
from shared.examples import EXAMPLE_BATCH, EXAMPLE_PENGUIN
from shared.limits import MAX_BATCH_SIZE, MEASUREMENTS, MIN_BATCH_SIZE, Island, Sex


class StrictFloat(ma.Float):
    """A JSON number only: marshmallow's Float also parses "39.1", which pydantic's strict mode refuses."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def measurement(name: str) -> ma.Float:
    """A finite JSON number within the contract's bounds; strict, so "39.1" and true are refused."""
    bound = MEASUREMENTS[name]
    return StrictFloat(
        required=True, allow_nan=False, validate=validate.Range(bound.gt, bound.le, min_inclusive=False)
    )


class PenguinSchema(ContractSchema):
    class Meta:
        unknown = RAISE

    island = ma.Enum(Island, by_value=True, required=True)
    bill_length_mm = measurement("bill_length_mm")
    bill_depth_mm = measurement("bill_depth_mm")
    flipper_length_mm = measurement("flipper_length_mm")
    body_mass_g = measurement("body_mass_g")
    sex = ma.Enum(Sex, by_value=True, load_default=None, allow_none=True)


class BatchSchema(ContractSchema):
    class Meta:
        unknown = RAISE

    items = LengthFirstList(
        ma.Nested(PenguinSchema), required=True, validate=validate.Length(MIN_BATCH_SIZE, MAX_BATCH_SIZE)
    )


class NullableString(fields.String):
    """Swagger 2.0 cannot say "or null"; `x-nullable` is the extension ReDoc and Swagger tools read.

    An enum lists null too: JSON Schema checks `enum` on its own, so without it null is still refused
    (Schemathesis found the spec and the service disagreeing).
    """

    def schema(self) -> dict[str, Any]:
        schema = super().schema()
        if schema.get("enum"):
            schema["enum"] = [*schema["enum"], None]
        return {**schema, "x-nullable": True}


class LocPart(fields.Raw):
    """A string or an integer: Swagger 2.0 has no `anyOf`, so the part is left untyped."""

    __schema_type__ = None


def measurement_model(name: str) -> fields.Float:
    bound = MEASUREMENTS[name]
    return fields.Float(
        required=True,
        min=bound.gt,
        exclusiveMin=True,
        max=bound.le,
        description=bound.description,
        example=EXAMPLE_PENGUIN[name],
    )


penguin_model = Model(
    "Penguin",
    {
        "island": fields.String(
            required=True, enum=[i.value for i in Island], example=EXAMPLE_PENGUIN["island"]
        ),
        **{name: measurement_model(name) for name in MEASUREMENTS},
        "sex": NullableString(enum=[s.value for s in Sex], example=EXAMPLE_PENGUIN["sex"]),
    },
    strict=True,
)
batch_model = Model(
    "Batch",
    {
        "items": fields.List(
            fields.Nested(penguin_model),
            required=True,
            min_items=MIN_BATCH_SIZE,
            max_items=MAX_BATCH_SIZE,
            example=EXAMPLE_BATCH["items"],
        )
    },
    strict=True,
)
health_model = Model("Health", {"status": fields.String(required=True, example="ok")})
metrics_model = Model(
    "Metrics",
    {
        "accuracy": fields.Float(required=True),
        "n_train": fields.Integer(required=True),
        "n_test": fields.Integer(required=True),
    },
)
cost_model = Model(
    "Cost",
    {
        "cpu_us_1_row": fields.Float(required=True, description=COST_DESCRIPTION.format(rows="1 penguin")),
        "cpu_us_100_rows": fields.Float(
            required=True, description=COST_DESCRIPTION.format(rows="100 penguins")
        ),
    },
)
model_card_model = Model(
    "ModelCard",
    {
        "name": fields.String(required=True),
        "version": fields.String(required=True),
        "classes": fields.List(fields.String, required=True),
        "features": fields.List(fields.String, required=True),
        "metrics": fields.Nested(metrics_model, required=True),
        "estimator": fields.String(required=True),
        "cost": fields.Nested(cost_model, required=True),
    },
)
probabilities_model = Model(
    "Probabilities",
    {species: fields.Float(required=True) for species in ("Adelie", "Chinstrap", "Gentoo")},
)
species_model = Model(
    "Species",
    {
        "species": fields.String(required=True),
        "probabilities": fields.Nested(probabilities_model, required=True),
    },
)
prediction_model = Model.clone("Prediction", species_model, {"model_version": fields.String(required=True)})
batch_prediction_model = Model(
    "BatchPrediction",
    {
        "model_version": fields.String(required=True),
        "predictions": fields.List(fields.Nested(species_model), required=True),
    },
)
penguin_prediction_model = Model(
    "PenguinPrediction",
    {
        "penguin_id": fields.Integer(required=True),
        "species": fields.String(required=True),
        "probabilities": fields.Nested(probabilities_model, required=True),
        "model_version": fields.String(required=True),
    },
)
error_item_model = Model(
    "ErrorItem",
    {
        "loc": fields.List(LocPart, required=True),
        "msg": fields.String(required=True),
        "type": fields.String(required=True),
    },
)
validation_error_model = Model(
    "ValidationErrorBody", {"detail": fields.List(fields.Nested(error_item_model), required=True)}
)
error_model = Model("ErrorBody", {"detail": fields.String(required=True)})

MODELS = [
    penguin_model,
    batch_model,
    health_model,
    metrics_model,
    cost_model,
    model_card_model,
    probabilities_model,
    species_model,
    prediction_model,
    batch_prediction_model,
    penguin_prediction_model,
    error_item_model,
    validation_error_model,
    error_model,
]
