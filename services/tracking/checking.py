"""甄别 (十九) of the reports that count for points besides milestones: a leader's trip
((二十一), (二十二)) and a themed promotion event (三). The office verifies or rejects them
(`report.verified`, `report.rejected`), a 市州 may review its counties' reports first
(services/tracking/levels.py); each reviewed report has its own record of checks, `ReportReview`.

A check names the report's event id and its subject — the trip's leader (`leader_id`) or the
themed event's 市州 (`unit`) — and is refused unless that subject holds that report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.events import Reported
from services.kernel.contract.jurisdiction import Jurisdiction
from services.kernel.ingest.reports import Batch
from services.tracking.levels import (
    OFFICE_LEVEL,
    REJECTED,
    VERIFIED,
    check_level,
    check_record,
    decides,
    level_states,
    review_level,
)

TRIP, THEMED_EVENT = "leader.trip_completed", "promotion.event_held"
FIELD = "payload.report_event_id"


class ReportChecked(Reported):
    status: ClassVar[str]
    report_event_id: str
    report_type: str
    leader_id: str | None
    unit: str | None
    level: str

    def apply(self, aggregate: ReportReview) -> None:
        if decides(type(self).status, self.level):
            aggregate.status = type(self).status
        aggregate.checks.append(check_record(self, type(self).status, self.level))


class ReportReview(Aggregate):
    """The checks of one trip or themed event report."""

    class Opened(Aggregate.Created):
        report_event_id: str
        report_type: str
        report_source: str

    class Verified(ReportChecked):
        wire_type = "report.verified"
        status = VERIFIED

    class Rejected(ReportChecked):
        wire_type = "report.rejected"
        status = REJECTED
        reason: str

    @staticmethod
    def create_id(report_event_id: str, **_: Any) -> UUID:
        return ids.named_id("review", report_event_id)

    @event(Opened)
    def __init__(self, report_event_id: str, report_type: str, report_source: str) -> None:
        self.report_event_id = report_event_id
        self.report_type = report_type
        self.report_source = report_source
        self.status = "reported"
        self.checks: list[dict] = []

    def levels(self) -> list[dict]:
        return level_states(self.checks)

    def check(
        self,
        status: str,
        subject: Mapping[str, str | None],
        level: str,
        reason: str | None = None,
        **envelope: Any,
    ) -> None:
        check_level(self.report_event_id, {"checks": self.checks}, level, envelope["source"], FIELD)
        kind, extra = (
            (self.Verified, {}) if status == VERIFIED else (self.Rejected, {"reason": reason})
        )
        self.trigger_event(
            kind,
            report_event_id=self.report_event_id,
            report_type=self.report_type,
            leader_id=subject.get("leader_id"),
            unit=subject.get("unit"),
            level=level,
            **extra,
            **envelope,
        )


def check_report(
    payload: Mapping[str, Any],
    status: str,
    batch: Batch,
    allowed: Jurisdiction,
    envelope: Mapping[str, Any],
) -> ReportReview:
    """Apply one check (report.verified or report.rejected) to its report's review record."""
    report_event_id = payload["report_event_id"]
    receipt = batch.receipt(report_event_id)
    kind = None if receipt is None else receipt.type
    subject = {"leader_id": payload.get("leader_id"), "unit": payload.get("unit")}
    if kind == TRIP:
        sender = _trip_sender(batch, report_event_id, subject["leader_id"])
    elif kind == THEMED_EVENT:
        sender = _themed_event_sender(batch, report_event_id, subject["unit"])
    else:
        raise RuleBroken(
            FIELD,
            report_event_id,
            "trip_or_themed_event",
            f"找不到领导外出或主题招商活动报告 {report_event_id}；里程碑报告请用 "
            "milestone.verified / milestone.rejected",
            f"no trip or themed event report {report_event_id} is known; check a milestone "
            "report with milestone.verified / milestone.rejected",
        )
    level = OFFICE_LEVEL if allowed.is_office else review_level(allowed, sender, "source")
    review = batch.get(ReportReview.create_id(report_event_id))
    if review is None:
        review = ReportReview(
            report_event_id=report_event_id, report_type=kind, report_source=sender
        )
    review.check(status, subject, level, payload.get("reason"), **envelope)
    batch.add(review)
    return review


def _trip_sender(batch: Batch, report_event_id: str, leader_id: str | None) -> str:
    trips = None if leader_id is None else batch.get(ids.named_id("trips", leader_id))
    senders: Mapping[str, str] = {} if trips is None else trips.senders
    if report_event_id not in senders:
        raise _not_of_subject(report_event_id, "payload.leader_id", leader_id, "领导", "leader")
    return senders[report_event_id]


def _themed_event_sender(batch: Batch, report_event_id: str, unit: str | None) -> str:
    record = None if unit is None else batch.get(ids.named_id("unit", unit))
    held = [] if record is None else record.promotion_events
    if not any(e["event_id"] == report_event_id for e in held):
        raise _not_of_subject(report_event_id, "payload.unit", unit, "市州", "prefecture")
    return f"pref:{unit}"


def _not_of_subject(
    report_event_id: str, field: str, value: str | None, who_zh: str, who_en: str
) -> RuleBroken:
    return RuleBroken(
        field,
        value,
        "report_of_subject",
        f"{field} 须为报告 {report_event_id} 所属的{who_zh}，收到 {value!r}",
        f"{field} must name the {who_en} report {report_event_id} belongs to, got {value!r}",
    )
