"""The contract's marshmallow fields: each checks one kind of JSON value (text, a key, an amount
in 亿元, an ISO date, a Hubei region, a 统一社会信用代码, ...) and turns it into a Python value,
raising a `Violation` (messages.py) for what it refuses.

Fields that check against the reference data ask `lookups()` when a report is validated, not
at import.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

from marshmallow import fields

from services.kernel.contract.calendar import quarter_of
from services.kernel.contract.characters import has_visible, normalised, odd_character
from services.kernel.contract.errors import shown
from services.kernel.contract.lookups import is_known_source, lookups
from services.kernel.contract.messages import (
    BOOLEAN,
    INTEGER,
    LIST,
    OBJECT,
    STRING,
    Violation,
    broken,
)
from services.kernel.contract.vocabulary import (
    AMOUNT_PLACES,
    EARLIEST_DATE,
    LONG_TEXT,
    MAX_AMOUNT,
    MAX_DECIMAL_LENGTH,
    MAX_EVIDENCE_BYTES,
    SCHEMA_VERSION,
    SHORT_TEXT,
)

# GB 32100-2015: the 统一社会信用代码 alphabet (no I, O, S, V, Z) and the check-digit weights.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_FIELD_MESSAGES = MappingProxyType(
    {
        "required": Violation("required"),
        "null": Violation("null_not_allowed"),
        "validator_failed": Violation("invalid"),
    }
)


class _Field(fields.Field):
    """A field whose marshmallow messages are Violations; `_check` turns a JSON value into ours."""

    # marshmallow annotates its messages as an instance dict of text; ours are a class's
    # read-only Violations (messages.py), which it passes through as they are.
    default_error_messages: ClassVar[Mapping[str, Any]] = _FIELD_MESSAGES  # type: ignore[misc, assignment]
    expected_type: tuple[type, ...] = (str,)
    expected = STRING

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, self.expected_type) or (
            isinstance(value, bool) and bool not in self.expected_type
        ):
            raise broken("invalid_type", expected=self.expected)
        return self._check(value)

    def _check(self, value: Any) -> Any:
        return value


class Text(_Field):
    """Text a reader will see: no odd characters (characters.py), something visible, at most
    `max_length` characters once NFC-normalised, as it is stored and hashed."""

    def __init__(self, max_length: int = SHORT_TEXT, multiline: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline

    def _check(self, value: str) -> str:
        odd = odd_character(value, self.multiline)
        if odd is not None:
            raise broken(odd.rule, **odd.params())
        value = normalised(value)
        if not value.strip():
            raise broken("blank")
        if not has_visible(value):
            raise broken("zero_width_only")
        if len(value) > self.max_length:
            raise broken("too_long", max=self.max_length)
        return value


def LongText(**kwargs: Any) -> Text:
    """A reason, a plan, a progress note: LONG_TEXT characters, newlines and tabs allowed."""
    return Text(LONG_TEXT, multiline=True, **kwargs)


class Flag(_Field):
    expected_type = (bool,)
    expected = BOOLEAN


class Pattern(_Field):
    """A string matching `pattern` in full; otherwise `rule`."""

    def __init__(self, pattern: str, rule: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.pattern = re.compile(pattern, re.ASCII)
        self.rule = rule

    def _check(self, value: str) -> str:
        if self.pattern.fullmatch(value) is None:
            raise broken(self.rule)
        return value


def Key(**kwargs: Any) -> Pattern:
    return Pattern(r"[A-Za-z0-9_-]{1,40}", "key_format", **kwargs)


class Choice(_Field):
    def __init__(self, choices: tuple[str, ...], rule: str = "not_one_of", **kwargs: Any):
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self.allowed = ", ".join(choices)
        self.rule = rule

    def _check(self, value: str) -> str:
        if value not in self.choices:
            raise broken(self.rule, allowed=self.allowed)
        return value


class Known(_Field):
    """A key of one of the reference tables (industries, tasks, matters)."""

    def __init__(self, table: str, rule: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.table = table
        self.rule = rule

    def _check(self, value: str) -> str:
        if value not in getattr(lookups(), self.table):
            raise broken(self.rule)
        return value


_REGION_CODE = re.compile(r"[0-9]{6}", re.ASCII)


def check_hubei_region(code: str) -> str:
    if _REGION_CODE.fullmatch(code) is None:
        raise broken("region_code_format")
    if not lookups().is_hubei(code):
        raise broken("not_hubei_region")
    return code


class HubeiRegion(_Field):
    """A GB/T 2260 code of a Hubei prefecture or county."""

    def _check(self, value: str) -> str:
        return check_hubei_region(value)


class Prefecture(_Field):
    """One of the 17 市州."""

    def _check(self, value: str) -> str:
        if value not in lookups().prefectures:
            raise broken("not_prefecture")
        return value


class Unit(_Field):
    """A reporting unit: a Hubei region (its government) or `dept:<key>` (a department)."""

    def _check(self, value: str) -> str:
        if value.startswith("dept:"):
            if value[5:] not in lookups().departments:
                raise broken("unknown_department")
            return value
        if _REGION_CODE.fullmatch(value) is None:
            raise broken("unit_format")
        return check_hubei_region(value)


class MatterUnit(Unit):
    """A unit 附件4 makes responsible: a region, `dept:<key>`, or `org:<key>` (an organisation
    such as 武汉铁路局, organisations.yaml)."""

    def _check(self, value: str) -> str:
        if value.startswith("org:"):
            if value[4:] not in lookups().organisations:
                raise broken("unknown_organisation")
            return value
        return super()._check(value)


class Source(_Field):
    """The sending system: office, pref:<市州>, county:<county>, dept:<department>,
    org:<organisation>."""

    def _check(self, value: str) -> str:
        if is_known_source(value):
            return value
        raise broken("unknown_source")


class Decimal100M(_Field):
    """An amount in 亿元 (100 million yuan), sent as a decimal string, loaded as a Decimal.

    Its length and decimal places are read off the text before any arithmetic: nothing is
    rounded (a Decimal operation would round to 28 digits) and no length overflows.
    """

    pattern = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise broken("decimal_string_required")
        return super()._deserialize(value, attr, data, **kwargs)

    def _check(self, value: str) -> Decimal:
        if len(value) > MAX_DECIMAL_LENGTH:
            raise broken("too_long", max=MAX_DECIMAL_LENGTH)
        parts = self.pattern.fullmatch(value)
        if parts is None:
            raise broken("not_a_decimal")
        sign, whole, fraction = parts[1], parts[2].lstrip("0"), (parts[3] or "").rstrip("0")
        if sign or not (whole or fraction):
            raise broken("must_be_positive")
        if len(fraction) > AMOUNT_PLACES:
            raise broken("too_many_decimal_places", places=AMOUNT_PLACES)
        amount = Decimal(f"{whole or 0}.{fraction}" if fraction else whole)  # exact
        if amount > MAX_AMOUNT:
            raise broken("amount_too_large", max=MAX_AMOUNT)
        return amount


class IsoDate(_Field):
    """A business date, from EARLIEST_DATE on (how late: report.py, which knows today)."""

    pattern = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)

    def _check(self, value: str) -> date:
        try:
            day = date.fromisoformat(value) if self.pattern.fullmatch(value) else None
        except ValueError:
            day = None
        if day is None:
            raise broken("date_format")
        if day < EARLIEST_DATE:
            raise broken("before_earliest_date", earliest=EARLIEST_DATE.isoformat())
        return day


class Quarter(_Field):
    """A quarter such as "2020Q3", from the quarter of EARLIEST_DATE on."""

    pattern = re.compile(r"[0-9]{4}Q[1-4]", re.ASCII)
    earliest = quarter_of(EARLIEST_DATE)

    def _check(self, value: str) -> str:
        if self.pattern.fullmatch(value) is None:
            raise broken("quarter_format")
        if value < self.earliest:  # same width: text order is time order
            raise broken("before_earliest_date", earliest=self.earliest)
        return value


class Uuid(_Field):
    """A UUID in any form `uuid.UUID` reads; loaded as a UUID, or its canonical text."""

    # What uuid.UUID reads, in ASCII only (its int() would take other scripts' digits).
    pattern = re.compile(r"(urn:uuid:)?\{?[0-9A-Fa-f-]{32,36}\}?", re.ASCII)

    def __init__(self, as_text: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.as_text = as_text

    def _check(self, value: str) -> uuid.UUID | str:
        try:
            parsed = uuid.UUID(value) if self.pattern.fullmatch(value) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise broken("uuid_format")
        return str(parsed) if self.as_text else parsed


class SchemaVersion(_Field):
    expected_type = (int,)
    expected = INTEGER

    def _check(self, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise broken("unsupported_schema_version")
        return value


def Sha256(**kwargs: Any) -> Pattern:
    """A file's SHA-256 as 64 lowercase hex digits (an evidence file's name in the store)."""
    return Pattern(r"[0-9a-f]{64}", "sha256_format", **kwargs)


class ByteSize(_Field):
    """An evidence file's size in bytes: 1 to MAX_EVIDENCE_BYTES."""

    expected_type = (int,)
    expected = INTEGER

    def _check(self, value: int) -> int:
        if not 1 <= value <= MAX_EVIDENCE_BYTES:
            raise broken("evidence_size", max=MAX_EVIDENCE_BYTES)
        return value


class CreditCode(_Field):
    """统一社会信用代码 (GB 32100-2015): 18 characters, the last a mod-31 check character."""

    def _check(self, value: str) -> str:
        if len(value) != 18 or not all(c in CREDIT_CODE_CHARSET for c in value):
            raise broken("credit_code_format")
        expected = credit_code_check_character(value[:17])
        if value[17] != expected:
            raise broken("credit_code_check_digit", expected=expected)
        return value


def credit_code_check_character(first17: str) -> str:
    total = sum(
        CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


class Destination(Text):
    """Where a leader's trip went: a place's name, a country or a CN-<province> code. Whether it
    lies in Hubei is tracking's question: it depends on whose trip it is ((二十一), (二十二))."""


class AnyObject(_Field):
    """A JSON object, taken as it is (the payload before its type is known)."""

    expected_type = (Mapping,)
    expected = OBJECT


class OwnObject(AnyObject):
    """A JSON object copied whole, its text NFC-normalised (a policy: its content is scoring's
    to validate). Its depth was bounded before (bounds.py)."""

    def _check(self, value: Mapping) -> dict:
        return _normalised_copy(value)


def _normalised_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {normalised(k): _normalised_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised_copy(v) for v in value]
    return normalised(value) if isinstance(value, str) else value


class Obj(fields.Nested):
    # marshmallow annotates its messages as an instance dict of text; ours are a class's
    # read-only Violations (messages.py), which it passes through as they are.
    default_error_messages: ClassVar[Mapping[str, Any]] = _FIELD_MESSAGES  # type: ignore[misc, assignment]


class ListOf(fields.List):
    """A JSON list of at most `max_items` (counted before any item is read); with `distinct`,
    an item may appear once."""

    default_error_messages: ClassVar[Mapping[str, Any]] = {  # type: ignore[misc, assignment]
        **_FIELD_MESSAGES,
        "invalid": Violation("invalid_type", {"expected": LIST}),
    }

    def __init__(self, inner: fields.Field, max_items: int, distinct: bool = False, **kwargs: Any):
        super().__init__(inner, **kwargs)
        self.max_items = max_items
        self.distinct = distinct

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        if len(value) > self.max_items:
            raise broken("too_many_items", max=self.max_items)
        items = super()._deserialize(value, attr, data, **kwargs)
        if self.distinct:
            seen: set = set()
            for item in items:
                if item in seen:
                    raise broken("duplicate_item", item=shown(item))
                seen.add(item)
        return items
