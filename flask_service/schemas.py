"""Request and response schemas. flask-restx models document the API (Swagger 2.0); marshmallow schemas
validate it. Two declarations of one shape, kept in step by tests/test_specs.py: restx's own validation is
JSON-Schema based and its docs recommend another library for real validation
(https://flask-restx.readthedocs.io/en/latest/parsing.html).

marshmallow reports errors as messages keyed by field. Each message here is already a contract error
(pydantic's `type` and sentence), so errors.py only has to add the location.
"""

import re
from typing import Any

from flask_restx import Model, fields
from marshmallow import RAISE, Schema, ValidationError
from marshmallow import fields as ma
from werkzeug.routing import BaseConverter

from shared.errors import error_item, expected_values
from shared.examples import EXAMPLE_BATCH, EXAMPLE_PENGUIN
from shared.limits import MAX_BATCH_SIZE, MEASUREMENTS, MIN_BATCH_SIZE, Island, Sex


def contract_error(type_: str, **ctx: Any) -> dict[str, Any]:
    """A marshmallow error message that is already a contract error, still without its `loc`."""
    return {key: value for key, value in error_item([], type_, **ctx).items() if key != "loc"}


def field_errors(**by_key: str) -> dict[str, Any]:
    return {key: [contract_error(type_)] for key, type_ in by_key.items()}


def within(name: str) -> Any:
    """The bound of one measurement, as pydantic's `gt` and `le` report it."""
    bound = MEASUREMENTS[name]

    def validate(value: float) -> None:
        if not value > bound.gt:
            raise ValidationError([contract_error("greater_than", gt=bound.gt)])
        if not value <= bound.le:
            raise ValidationError([contract_error("less_than_equal", le=bound.le)])

    return validate


class Measurement(ma.Float):
    """A finite JSON number: marshmallow's Float would also parse "39.1", which the contract refuses."""

    def __init__(self, name: str) -> None:
        super().__init__(
            required=True,
            allow_nan=False,
            validate=within(name),
            error_messages=field_errors(
                required="missing", null="float_type", invalid="float_type", special="finite_number"
            ),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def enum_field(enum: type[Island] | type[Sex], **kwargs: Any) -> ma.Enum[Any]:
    unknown = contract_error("enum", expected=expected_values([member.value for member in enum]))
    messages: dict[str, Any] = {
        "unknown": [unknown],
        "null": [unknown],
        "required": [contract_error("missing")],
    }
    return ma.Enum(enum, by_value=True, error_messages=messages, **kwargs)


class ContractSchema(Schema):
    """Unknown fields and non-object input are errors, named as pydantic names them."""

    class Meta:
        unknown = RAISE

    error_messages: dict[str, Any] = {  # noqa: RUF012 (marshmallow's own class attribute)
        "unknown": contract_error("extra_forbidden"),
        "type": contract_error("model_attributes_type"),
    }


class PenguinSchema(ContractSchema):
    island = enum_field(Island, required=True)
    bill_length_mm = Measurement("bill_length_mm")
    bill_depth_mm = Measurement("bill_depth_mm")
    flipper_length_mm = Measurement("flipper_length_mm")
    body_mass_g = Measurement("body_mass_g")
    sex = enum_field(Sex, load_default=None, allow_none=True)


class PathInteger(ma.Integer):
    """A path segment parsed as pydantic parses it: ASCII only ("1.0" is 1, "\u0663" is not 3)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip()
        if not text.isascii():
            raise self.make_error("invalid")
        if re.fullmatch(r"[+-]?\d+\.0+", text):
            text = text.split(".")[0]
        return super()._deserialize(text, attr, data, **kwargs)


class AnySegment(BaseConverter):
    """Registered as the app's `int` converter: `<int:penguin_id>` then matches any segment, and the view
    validates it (422, as FastAPI answers, where werkzeug's own converter would 404). Named `int` because
    restx documents a path parameter's type from its converter's name only (flask_restx/swagger.py,
    `extract_path_params`)."""


def positive(value: int) -> None:
    if not value > 0:
        raise ValidationError([contract_error("greater_than", gt=0)])


penguin_id_field = PathInteger(validate=positive, error_messages=field_errors(invalid="int_parsing"))


class BatchItems(ma.List[Any]):
    """Checks the length before the items, as pydantic does, so a 5000-item batch is not validated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list) and not MIN_BATCH_SIZE <= len(value) <= MAX_BATCH_SIZE:
            too_long = len(value) > MAX_BATCH_SIZE
            raise ValidationError(
                [
                    contract_error(
                        "too_long" if too_long else "too_short",
                        max_length=MAX_BATCH_SIZE,
                        min_length=MIN_BATCH_SIZE,
                        actual_length=len(value),
                    )
                ]
            )
        return super()._deserialize(value, attr, data, **kwargs)


class BatchSchema(ContractSchema):
    items = BatchItems(
        ma.Nested(PenguinSchema, error_messages=field_errors(null="model_attributes_type")),
        required=True,
        error_messages=field_errors(required="missing", null="list_type", invalid="list_type"),
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
model_card_model = Model(
    "ModelCard",
    {
        "name": fields.String(required=True),
        "version": fields.String(required=True),
        "classes": fields.List(fields.String, required=True),
        "features": fields.List(fields.String, required=True),
        "metrics": fields.Nested(metrics_model, required=True),
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
