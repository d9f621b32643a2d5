"""A report of contract v1: `validate_report(raw)` turns one raw report (parsed JSON) into a
`Report` of Python values (Decimal, date) or raises `ReportInvalid` listing every `FieldError`
found, each naming the field, the value and the rule, in Chinese and English (docs/DECISIONS.md
"Errors name the field, the value and the rule").

Shape and reference-data checks happen here (schemas.py); rules that need stored state (a
project exists, a source's jurisdiction) belong to the owning service's domain, which reports
them with `error(...)` in the same shape. `Report.to_primitive` and `Report.from_primitive` carry
a validated report over the bus without validating it twice, with its `operator`: the person a
delegate (the console) sent it for, set by the gateway from the call's credentials, never from
the envelope (an `operator` field there is an unknown field).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields

from services.kernel.contract.bounds import out_of_bounds
from services.kernel.contract.calendar import quarter_of, shanghai_today
from services.kernel.contract.characters import printable
from services.kernel.contract.errors import ReportInvalid, clip
from services.kernel.contract.fields import Decimal100M, IsoDate, Uuid
from services.kernel.contract.messages import (
    Found,
    Violation,
    field_error,
    field_errors,
    violations,
)
from services.kernel.contract.payloads import Payload
from services.kernel.contract.schemas import ENVELOPE, PAYLOADS
from services.kernel.contract.vocabulary import FUTURE_TOLERANCE


def _primitive(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _primitive(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_primitive(v) for v in value]
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Report:
    """A validated report. `payload` holds Decimals and dates; treat it as read-only, and narrow
    it by `type` to its TypedDict (payloads.py)."""

    event_id: uuid.UUID
    type: str
    source: str
    occurred_on: date
    schema_version: int
    payload: Payload
    operator: str | None = None  # who sent it through a delegate; not part of its content

    def __hash__(self) -> int:
        return hash(self.event_id)

    @property
    def project_code(self) -> str | None:
        """The project the report is about, for the types that name one."""
        about: Mapping[str, Any] = self.payload
        return about.get("project_code")

    def to_primitive(self) -> dict:
        """JSON-safe: Decimals as strings (never floats), dates as ISO strings, UUIDs as text;
        the operator beside the content, when there is one."""
        content = self._content()
        return content if self.operator is None else {**content, "operator": self.operator}

    def _content(self) -> dict:
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "source": self.source,
            "occurred_on": self.occurred_on.isoformat(),
            "schema_version": self.schema_version,
            "payload": _primitive(self.payload),
        }

    def digest(self) -> str:
        """sha256 of the canonical JSON of the content: equal content, equal digest (a resend
        is a duplicate, whoever sent it)."""
        text = json.dumps(
            self._content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_primitive(cls, data: Mapping) -> Report:
        """The report `to_primitive` gave, typed again without validating it a second time.

        For the services' side of the bus: what reaches them was validated by the gateway, the
        one way reports enter (validation is most of the gateway's work and would be most of
        a service's). Anything from outside goes through `validate_report`.
        """
        payload = _retype(dict(data["payload"]), _TYPED.get(data["type"], {}))
        return Report(
            event_id=uuid.UUID(data["event_id"]),
            type=data["type"],
            source=data["source"],
            occurred_on=date.fromisoformat(data["occurred_on"]),
            schema_version=data["schema_version"],
            payload=cast(Payload, payload),  # the shape its type's schema gave it
            operator=data.get("operator"),
        )


# Field -> how its validated value is rebuilt from its primitive form (None: as it is).
Retype = Callable[[Any], Any]


def _retyping(field: fields.Field) -> Retype | None:
    if isinstance(field, Decimal100M):
        return Decimal
    if isinstance(field, IsoDate):
        return date.fromisoformat
    if isinstance(field, Uuid):
        return None if field.as_text else uuid.UUID
    if isinstance(field, fields.Nested):
        nested = _retypings(field.schema)
        return (lambda value: _retype(dict(value), nested)) if nested else None
    if isinstance(field, fields.List):
        inner = _retyping(field.inner)
        return (lambda value: [inner(item) for item in value]) if inner else None
    return None


def _retypings(schema: Schema) -> dict[str, Retype]:
    found = ((name, _retyping(field)) for name, field in schema.fields.items())
    return {name: retype for name, retype in found if retype is not None}


def _retype(values: dict, retypings: Mapping[str, Retype]) -> dict:
    for name, retype in retypings.items():
        if values.get(name) is not None:
            values[name] = retype(values[name])
    return values


_TYPED: Mapping[str, dict[str, Retype]] = MappingProxyType(
    {kind: _retypings(schema) for kind, schema in PAYLOADS.items()}
)


def validate_report(raw: Mapping, *, today: date | None = None) -> Report:
    """A Report, or ReportInvalid with every error found in the envelope and the payload (the
    first MAX_ERRORS of them, then one `more_errors` counting the rest).

    The report's bounds come first (bounds.py): one too large, too deep or holding text no
    encoding can write is refused before the schemas read it. Nothing in `raw` makes this
    raise anything but ReportInvalid.
    """
    if not isinstance(raw, Mapping):
        raise ReportInvalid([field_error("", raw, Violation("report_not_an_object"))])
    found = list(out_of_bounds(raw))  # few: the walk stops once the report is too large
    if found:
        raise ReportInvalid(field_errors(found), _readable_event_id({}, raw))
    try:
        envelope = ENVELOPE.load(raw)
    except ValidationError as invalid:
        envelope = invalid.valid_data or {}
        found += violations(invalid.messages, raw, "")
    today = today or shanghai_today()
    occurred_on = envelope.get("occurred_on")
    if occurred_on is not None and occurred_on > today + FUTURE_TOLERANCE:
        found.append(
            Found("occurred_on", raw["occurred_on"], Violation("occurred_in_future", _on(today)))
        )
    payload = envelope.get("payload")
    schema = PAYLOADS.get(envelope.get("type", ""))
    if schema is not None and payload is not None:
        try:
            payload = schema.load(payload)
        except ValidationError as invalid:
            found += violations(invalid.messages, raw["payload"], "payload")
        else:
            found += _against_envelope(envelope["type"], payload, occurred_on, today)
    if found:
        raise ReportInvalid(field_errors(found), _readable_event_id(envelope, raw))
    return Report(
        event_id=envelope["event_id"],
        type=envelope["type"],
        source=envelope["source"],
        occurred_on=envelope["occurred_on"],
        schema_version=envelope["schema_version"],
        payload=payload,
    )


def _on(today: date) -> dict[str, str]:
    return {"today": today.isoformat()}


def _against_envelope(
    kind: str, payload: Mapping, occurred_on: date | None, today: date
) -> list[Found]:
    """The payload's rules that need the envelope's date or today: a trip is reported once it
    is over, and never into a quarter that has not begun."""
    if kind != "leader.trip_completed":
        return []
    returned: date = payload["returned_on"]
    shown = returned.isoformat()
    if occurred_on is not None and returned > occurred_on:
        rule = Violation("reported_before_return", {"occurred_on": occurred_on.isoformat()})
        return [Found("payload.returned_on", shown, rule)]
    if quarter_of(returned) > quarter_of(today):
        rule = Violation("trip_in_future_quarter", {"quarter": quarter_of(returned), **_on(today)})
        return [Found("payload.returned_on", shown, rule)]
    return []


def _readable_event_id(envelope: Mapping, raw: Mapping) -> str | None:
    """The event_id to answer under: canonical if it is a UUID, else as sent if it is text."""
    if "event_id" in envelope:
        return str(envelope["event_id"])
    sent = raw.get("event_id")
    return clip(printable(sent)) if isinstance(sent, str) and sent else None
