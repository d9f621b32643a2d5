"""Refusals: reports refused because their sender may not say them (docs/CONTRACT.md "Who may send
what").

A refusal is kept for the office and auditors — who tried to say what, and why not — in the
store of the service that refused it, saved in the same transaction as the rest of the batch.
It is never a fact: it has no public wire type, so it never reaches the bus or the ranking.
The same report refused again (same event_id, same content) is recorded once.

A refusal keeps the report's digest and a bounded excerpt of its payload, never the whole report
(a sender cannot grow the store by being refused); those recorded whole before are read as an
excerpt too. `RefusalLog` lists them from what it read before, reading only what was recorded
since.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken, clip
from services.kernel.contract.report import Report
from services.kernel.contract.wire import json_safe
from services.kernel.ingest.reports import Batch
from services.kernel.store.environment import ServiceApplication
from services.kernel.store.topics import answer_to_old_names, topics_of

answer_to_old_names(__name__)

PAGE = 1000
EXCERPT_CHARS = 1_000  # of the payload's JSON
MESSAGE_CHARS = 500


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(payload: Mapping[str, Any]) -> str:
    """The start of the payload's JSON, at most EXCERPT_CHARS characters, always writable."""
    text = json.dumps(json_safe(payload), ensure_ascii=False, sort_keys=True, default=str)
    return bounded(text, EXCERPT_CHARS).encode("utf-8", "backslashreplace").decode("utf-8")


def refusal_id(event_id: str, digest: str) -> UUID:
    return ids.named_id("refusal", f"{event_id}:{digest}")


class Refusal(Aggregate):
    """One refused report: an excerpt of what it said, who sent it, which rule refused it."""

    write_once: ClassVar[bool] = True  # never changed after it is recorded (AggregateCache)

    class Recorded(Aggregate.Created):
        class_version = 2
        event_id: str
        type: str
        source: str  # as the report states it
        sender: str  # as authenticated (the same, unless the report claimed another source)
        occurred_on: date
        digest: str
        excerpt: str
        field: str
        value: str
        rule: str
        message_zh: str
        message_en: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            """v1 kept the whole payload and the value unclipped: now an excerpt and a clip."""
            state["excerpt"] = excerpt(state.pop("payload"))
            state["value"] = clip(state["value"])

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
        excerpt: str,
        field: str,
        value: str,
        rule: str,
        message_zh: str,
        message_en: str,
    ) -> None:
        self.event_id, self.type, self.source, self.sender = event_id, type, source, sender
        self.occurred_on, self.digest, self.excerpt = occurred_on, digest, excerpt
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
            excerpt=excerpt(report.payload),
            field=bounded(error.field, MESSAGE_CHARS),
            value=clip(str(json_safe(error.value))),
            rule=error.rule,
            message_zh=bounded(error.message_zh, MESSAGE_CHARS),
            message_en=bounded(error.message_en, MESSAGE_CHARS),
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


class RefusalLog:
    """The refusals of one store, oldest first, as `Query.ListRefusals` lists them: each read
    once from the store's notification log, where the last call stopped (any replica's),
    and kept by sender."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.topics = topics_of(Refusal.Recorded)
        self.position = 0
        self.everyone: list[dict] = []
        self.by_sender: defaultdict[str, list[dict]] = defaultdict(list)
        self._lock = threading.Lock()

    def listed(self, who: str | None = None) -> list[dict]:
        """Every refusal; with `who`, those it sent or was named in as the source."""
        with self._lock:
            self._read_new()
            found = self.everyone if who is None else self.by_sender.get(who, [])
            return [dict(r) for r in found]

    def _read_new(self) -> None:
        while notifications := self.app.recorder.select_notifications(
            self.position + 1, PAGE, topics=self.topics
        ):
            for notification in notifications:
                refusal = self._listed(notification)
                self.everyone.append(refusal)
                for who in {refusal["source"], refusal["sender"]}:
                    self.by_sender[who].append(refusal)
            self.position = notifications[-1].id

    def _listed(self, notification: Notification) -> dict:
        recorded = self.app.mapper.to_domain_event(notification)
        return {
            "service": self.app.name,
            "recorded_at": recorded.timestamp.isoformat(),
            **{name: json_safe(getattr(recorded, name)) for name in _FIELDS},
        }


_FIELDS = (
    "event_id",
    "type",
    "source",
    "sender",
    "occurred_on",
    "digest",
    "excerpt",
    "field",
    "value",
    "rule",
    "message_zh",
    "message_en",
)
