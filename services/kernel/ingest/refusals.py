"""Refusals: reports refused because their sender may not say them (docs/CONTRACT.md "Who may send
what").

A refusal is kept for the office and auditors — who tried to say what, and why not — in the
store of the service that refused it, saved in the same transaction as the rest of the batch.
It is never a fact: it has no public wire type, so it never reaches the bus or the ranking.
The same report refused again (same event_id, same content) is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.report import Report
from services.kernel.contract.wire import json_safe
from services.kernel.ingest.reports import Batch
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.topics import answer_to_old_names, topics_of

answer_to_old_names(__name__)

PAGE = 1000


def refusal_id(event_id: str, digest: str) -> UUID:
    return ids.named_id("refusal", f"{event_id}:{digest}")


class Refusal(Aggregate):
    """One refused report: what it said, who sent it, which rule refused it."""

    write_once: ClassVar[bool] = True  # never changed after it is recorded (AggregateCache)

    class Recorded(Aggregate.Created):
        event_id: str
        type: str
        source: str  # as the report states it
        sender: str  # as authenticated (the same, unless the report claimed another source)
        occurred_on: date
        digest: str
        payload: dict
        field: str
        value: str
        rule: str
        message_zh: str
        message_en: str

    @staticmethod
    def create_id(event_id: str, digest: str, **_: Any) -> UUID:
        return refusal_id(event_id, digest)

    def __init__(
        self,
        event_id: str,
        type: str,
        source: str,
        sender: str,
        occurred_on: date,
        digest: str,
        payload: dict,
        field: str,
        value: str,
        rule: str,
        message_zh: str,
        message_en: str,
    ) -> None:
        self.event_id, self.type, self.source, self.sender = event_id, type, source, sender
        self.occurred_on, self.digest, self.payload = occurred_on, digest, payload
        self.field, self.value, self.rule = field, value, rule
        self.message_zh, self.message_en = message_zh, message_en

    @classmethod
    def of(cls, report: Report, error: RuleBroken, sender: str | None = None) -> Refusal:
        return cls(
            event_id=str(report.event_id),
            type=report.type,
            source=report.source,
            sender=sender or report.source,
            occurred_on=report.occurred_on,
            digest=report.digest(),
            payload=json_safe(report.payload),
            field=error.field,
            value=str(json_safe(error.value)),
            rule=error.rule,
            message_zh=error.message_zh,
            message_en=error.message_en,
        )


def record_refusal(batch: Batch, report: Report, error: RuleBroken, sender: str | None = None):
    """Add the refusal to the batch, unless this very report was refused before."""
    if batch.get(refusal_id(str(report.event_id), report.digest())) is None:
        batch.add(Refusal.of(report, error, sender))


def record_refusals(app: ServiceApplication, refused: Iterable[Mapping[str, Any]]) -> int:
    """Save refusals decided elsewhere (the gateway: a report claiming a source other than its
    authenticated sender). Each item: {"report": primitive, "error": FieldError dict,
    "sender": source}. Returns how many were new."""
    batch = Batch(app)
    items = [(Report.from_primitive(item["report"]), item) for item in refused]
    batch.preload(refusal_id(str(r.event_id), r.digest()) for r, _ in items)
    before = len(batch.touched)
    for report, item in items:
        e = item["error"]
        error = RuleBroken(e["field"], e["value"], e["rule"], e["message_zh"], e["message_en"])
        record_refusal(batch, report, error, item["sender"])
    app.save(*batch.touched.values())
    return len(batch.touched) - before


def list_refusals(app: ServiceApplication, who: str | None = None) -> list[dict]:
    """Every refusal in this store, oldest first; with `who`, those it sent or was named in."""
    return [r for r in _read_all(app) if who is None or who in (r["source"], r["sender"])]


def _read_all(app: ServiceApplication) -> Iterator[dict]:
    topics = topics_of(Refusal.Recorded)
    start = 1
    while notifications := app.recorder.select_notifications(start, PAGE, topics=topics):
        for notification in notifications:
            recorded = app.mapper.to_domain_event(notification)
            yield {
                "service": app.name,
                "recorded_at": recorded.timestamp.isoformat(),
                **{name: json_safe(getattr(recorded, name)) for name in _FIELDS},
            }
        start = notifications[-1].id + 1


_FIELDS = (
    "event_id",
    "type",
    "source",
    "sender",
    "occurred_on",
    "payload",
    "field",
    "value",
    "rule",
    "message_zh",
    "message_en",
)
