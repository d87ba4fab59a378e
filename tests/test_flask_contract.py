"""The Flask service's contract glue (flask_service/contract.py), piece by piece: pydantic's words, and
marshmallow's errors turned into them. The behaviour suite checks the same through the app."""

import io
import json
from typing import Any

import pytest
from gunicorn.http.errors import InvalidChunkSize
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as ma
from werkzeug.test import EnvironBuilder, run_wsgi_app

from flask_service.app import create_app
from flask_service.contract import ContractSchema, bounds, error_item, expected_values, flatten
from shared.errors import BODY_NOT_READ
from shared.settings import Settings


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


class BrokenChunks(io.RawIOBase):
    """A request body whose server fails while reading it, as gunicorn raises InvalidChunkSize mid-read."""

    def readinto(self, buffer: Any) -> int:
        raise InvalidChunkSize(b"zz")


def test_a_body_the_server_cannot_read_is_fastapis_400(settings: Settings) -> None:
    """Not a 500: FastAPI's own answer to a body it cannot read, in the same words (fastapi/routing.py)."""
    app = create_app(settings)
    environ = EnvironBuilder("/predict", method="POST", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": BrokenChunks(), "wsgi.input_terminated": True})
    app_iter, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    assert (status, json.loads(b"".join(app_iter))) == ("400 BAD REQUEST", {"detail": BODY_NOT_READ})
