"""The typed payloads say exactly what validation gives: the same keys, the same optional keys and
the same value types as each report type's schema loads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NotRequired, get_args, get_origin, get_type_hints, is_typeddict

import pytest
from marshmallow import Schema, fields

from services.kernel.contract.fields import (
    ByteSize,
    Decimal100M,
    Flag,
    IsoDate,
    OwnObject,
    Uuid,
)
from services.kernel.contract.payloads import PAYLOAD_TYPES
from services.kernel.contract.schemas import PAYLOADS
from services.kernel.contract.vocabulary import EVENT_TYPES


def loaded_type(field: fields.Field) -> Any:
    """The Python type a contract field loads (text unless it says otherwise)."""
    if isinstance(field, Decimal100M):
        return Decimal
    if isinstance(field, IsoDate):
        return date
    if isinstance(field, Flag):
        return bool
    if isinstance(field, ByteSize):
        return int
    if isinstance(field, OwnObject):
        return dict[str, Any]
    if isinstance(field, Uuid):
        assert field.as_text, "a payload's UUIDs are loaded as text"
    return str


def assert_mirrors(typed: type, schema: Schema) -> None:
    hints = get_type_hints(typed, include_extras=True)
    assert set(hints) == set(schema.fields), typed.__name__
    always_there = {
        name
        for name, field in schema.fields.items()
        if (field.required or field.load_default is not fields.missing_)
        and not (schema.partial is True or name in (schema.partial or ()))
    }
    assert typed.__required_keys__ == always_there, typed.__name__
    for name, field in schema.fields.items():
        hint = hints[name]
        if get_origin(hint) is NotRequired:
            (hint,) = get_args(hint)
        if isinstance(field, fields.Nested):
            assert is_typeddict(hint), f"{typed.__name__}.{name}"
            assert_mirrors(hint, field.schema)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            (item,) = get_args(hint)  # a list of objects: each mirrors its schema
            assert get_origin(hint) is list and is_typeddict(item), f"{typed.__name__}.{name}"
            assert_mirrors(item, field.inner.schema)
        elif isinstance(field, fields.List):
            assert hint == list[loaded_type(field.inner)], f"{typed.__name__}.{name}"
        else:
            assert hint == loaded_type(field), f"{typed.__name__}.{name}"


def test_every_report_type_has_a_typed_payload():
    assert tuple(PAYLOAD_TYPES) == EVENT_TYPES


@pytest.mark.parametrize("type", EVENT_TYPES)
def test_each_typed_payload_has_the_keys_and_value_types_its_schema_loads(type):
    assert_mirrors(PAYLOAD_TYPES[type], PAYLOADS[type])
