"""The Flask service's contract glue (flask_service/contract.py), piece by piece: pydantic's words, and
marshmallow's errors turned into them. The behaviour suite checks the same through the app."""

import pytest
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as ma

from flask_service.contract import ContractSchema, bounds, error_item, expected_values, flatten


def test_error_vocabulary() -> None:
    assert error_item(["body", "x"], "greater_than", gt=0) == {
        "loc": ["body", "x"],
        "msg": "Input should be greater than 0",
        "type": "greater_than",
    }
    assert expected_values(["a", "b", "c"]) == "'a', 'b' or 'c'"
    assert expected_values(["a"]) == "'a'"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ("greater_than", "Input should be greater than 0")),
        (101, ("less_than_equal", "Input should be less than or equal to 100")),
    ],
)
def test_a_range_reports_the_bound_that_failed(value: float, error: tuple[str, str]) -> None:
    with pytest.raises(ValidationError) as raised:
        bounds(validate.Range(0, 100, min_inclusive=False))(value)
    [item] = raised.value.messages
    assert isinstance(item, dict)
    assert (item["type"], item["msg"]) == error


def test_a_plain_marshmallow_schema_gets_the_contract_errors() -> None:
    class Sample(ContractSchema):
        size = ma.Float(required=True, validate=validate.Range(0, 10, min_inclusive=False))
        names = ma.List(ma.Nested(Schema.from_dict({"a": ma.String()})), required=True)

    with pytest.raises(ValidationError) as raised:
        Sample().load({"size": 10.5, "names": None, "extra": 1})
    errors = flatten(raised.value.messages, ["body"], {"size": 10.5, "names": None, "extra": 1})
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["body", "size"], "less_than_equal"),
        (["body", "names"], "list_type"),
        (["body", "extra"], "extra_forbidden"),
    ]
    assert ma.Float(required=True).error_messages["required"] == "Missing data for required field.", (
        "only the bound copies change, not marshmallow's defaults"
    )
