"""The bus format: domain events as public wire events, in messages that cover a range of
notification ids (see docs/ARCHITECTURE.md, "Wire message").

A domain event takes part in the public contract when its class names its `wire_type` (a v1
type such as "project.signed"). Its fields become the payload, except the envelope fields
(`event_id`, `source`, `occurred_on`) and eventsourcing's own bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

EVENTS_EXCHANGE = "zhaoshang.events"
ENVELOPE = ("event_id", "source", "occurred_on")
BOOKKEEPING = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def json_safe(value: Any) -> Any:
    """Decimals to strings (never floats), dates to ISO strings, UUIDs to strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


def wire_type(domain_event: Any) -> str | None:
    return getattr(type(domain_event), "wire_type", None)


def wire_event(service: str, notification_id: int | None, domain_event: Any) -> dict | None:
    """The public form of a stored domain event, or None for internal ones (receipts)."""
    kind = wire_type(domain_event)
    if kind is None:
        return None
    assert is_dataclass(domain_event)
    values = {f.name: getattr(domain_event, f.name) for f in fields(domain_event)}
    payload = {k: v for k, v in values.items() if k not in BOOKKEEPING and k not in ENVELOPE}
    return {
        "service": service,
        "notification_id": notification_id,
        "version": values["originator_version"],
        "type": kind,
        "event_id": json_safe(values.get("event_id")),
        "source": values.get("source"),
        "occurred_on": json_safe(values.get("occurred_on")),
        "recorded_at": values["timestamp"].isoformat(),
        "payload": json_safe(payload),
    }


def message(service: str, first: int, last: int, events: Iterable[dict]) -> dict:
    return {"service": service, "first": first, "last": last, "events": list(events)}


def encode(body: Mapping) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def covers(body: Mapping) -> Sequence[int]:
    return range(body["first"], body["last"] + 1)
