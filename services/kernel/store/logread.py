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

`read_message` reads a range of the log as one wire message (only the rows of public events):
the relay publishes it, and consumers pull a gap with it through the `read_wire` RPC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic, resolve_topic

from services.kernel.contract.wire import ENVELOPE, json_safe, message
from services.kernel.cooperative import PAUSE_EVERY, let_others_run
from services.kernel.store.chain import inner_state

if TYPE_CHECKING:  # environment.py reads its log with read_message
    from services.kernel.store.environment import ServiceApplication


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
        latest_version = getattr(cls, "class_version", 1)
        if stored_version < latest_version:
            for step in range(stored_version, latest_version):
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


# Per service: its reader (remembering topics) and the public topics, found when it first
# reads (its domain module is imported by then).
_readers: dict[str, WireReader] = {}
_public_topics: dict[str, list[str]] = {}


def public_topics() -> list[str]:
    """The topics of every domain event class that names a `wire_type` (wire.py)."""
    topics, stack = set(), [Aggregate]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for member in vars(cls).values():
            if isinstance(member, type) and getattr(member, "wire_type", None):
                topics.add(get_topic(member))
    return sorted(topics)


def read_message(
    app: ServiceApplication, service: str, start: int, stop: int | None = None, limit: int = 1000
) -> dict | None:
    """A wire message for notifications `start..stop` (at most `limit` public events).

    Only rows of public events are read (receipts, ledgers and checkpoints stay in the
    database); the message claims every id up to the log's head as it was before reading, or
    up to `stop`, unless `limit` cut it short. Ids below the head are all committed (the
    recorders serialize inserts), so nothing claimed can appear later; ids the database
    skipped (rolled-back sequence values) are covered too.
    """
    head = app.process_recorder.max_notification_id() or 0
    end = head if stop is None else min(stop, head)
    if end < start:
        return None if stop is None else message(service, start, stop, [])
    notifications = app.process_recorder.select_notifications(
        start=start, limit=limit, stop=end, topics=_topics(service)
    )
    full = len(notifications) == limit
    last = notifications[-1].id if full else (end if stop is None else stop)
    # Straight from the stored JSON to the wire form (logread.py, held to `wire_event`'s
    # output by a test).
    reader = _readers.get(service) or _readers.setdefault(service, WireReader(service))
    return message(service, start, last, _wire_events(reader, notifications))


def _wire_events(reader: WireReader, notifications: Sequence[Notification]) -> Iterator[dict]:
    for count, n in enumerate(notifications, 1):
        if count % PAUSE_EVERY == 0:
            let_others_run()
        event = reader.event(n.id, n.originator_version, n.topic, n.state)
        if event is not None:
            yield event


def _topics(service: str) -> list[str]:
    if service not in _public_topics:
        _public_topics[service] = public_topics()
    return _public_topics[service]
