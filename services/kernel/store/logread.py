"""A service's stored events in the wire form, read straight from stored rows.

`wire.wire_event` makes a wire event from a domain event, which the library first rebuilds from
its stored state (the transcoder's JSON, then a domain event object). Replaying a whole log,
that is most of the cost; `WireReader` goes from the stored JSON to the same dict directly: it
is parsed once (orjson), the transcoder's typed values (`{"_type_":"decimal_str",
"_data_":"2.5"}`) are replaced by their wire strings, and the fields are sorted into envelope and
payload as `wire_event` does; an event stored under an older `class_version` goes through
its class's upcasters first, as the library's mapper would do. Rows of internal events
(receipts, checkpoints) are skipped by their topic without being parsed.
tests/integration/test_audit_logread.py holds the two to the same output, event by event.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic

from services.kernel.contract.wire import ENVELOPE, json_safe
from services.kernel.store.chain import inner_state


def _untyped(value: Any) -> Any:
    """The transcoder's typed values as their wire strings, in place: decimals, dates and
    moments as they are stored, UUIDs with their dashes (`json_safe`'s forms)."""
    items = value.items() if value.__class__ is dict else enumerate(value)
    for key, item in items:
        if item.__class__ is dict:
            kind = item.get("_type_")
            if kind is None:
                _untyped(item)
            else:
                data = item["_data_"]
                value[key] = str(UUID(data)) if kind == "uuid_hex" else data
        elif item.__class__ is list:
            _untyped(item)
    return value


class WireReader:
    """Stored rows of one service -> its wire events (docs/ARCHITECTURE.md "Wire message")."""

    def __init__(self, service: str) -> None:
        self.service = service
        # topic -> (event class, wire type), or None for an internal event
        self._topics: dict[str, tuple[type, str] | None] = {}

    def _kind(self, topic: str) -> tuple[type, str] | None:
        if topic not in self._topics:
            cls = resolve_topic(topic)
            kind = getattr(cls, "wire_type", None)
            self._topics[topic] = None if kind is None else (cls, kind)
        return self._topics[topic]

    def event(self, notification_id: int, version: int, topic: str, state: bytes) -> dict | None:
        kind = self._kind(topic)
        if kind is None:
            return None
        cls, wire_type = kind
        values: dict[str, Any] = _untyped(orjson.loads(inner_state(state)))
        stored_version = values.pop("class_version", 1)
        if stored_version < getattr(cls, "class_version", 1):
            for step in range(stored_version, cls.class_version):
                getattr(cls, f"upcast_v{step}_v{step + 1}")(values)
            values = json_safe(values)
        envelope = {key: values.pop(key, None) for key in ENVELOPE}
        recorded_at = values.pop("timestamp")
        values.pop("originator_topic", None)
        return {
            "service": self.service,
            "notification_id": notification_id,
            "version": version,
            "type": wire_type,
            **envelope,
            "recorded_at": recorded_at,
            "payload": values,  # what is left: the event's own fields
        }
