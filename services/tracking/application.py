"""Tracking: the use cases on milestones, trips, promotion events, tasks and matters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from services.common import ids
from services.common.contracts import MILESTONE_TYPES, Report
from services.common.reports import Batch, ReportApplication
from services.common.rules import RuleBroken
from services.tracking.domain import OFFICE, LeaderTrips, ProjectMilestones, UnitRecord

# Lists (二) a project must have reached before each milestone may be reported.
SIGNED_OR_LATER = frozenset({"signed", "started"})
NEEDS_SIGNING = frozenset({"project.construction_started", "project.capital_arrived"})


def envelope(report: Report) -> dict[str, Any]:
    return {
        "event_id": str(report.event_id),
        "source": report.source,
        "occurred_on": report.occurred_on,
    }


def milestone_project_codes(reports: list[Report]) -> set[str]:
    """The projects whose registry state a run of milestone reports needs."""
    return {r.payload["project_code"] for r in reports if r.type in MILESTONE_TYPES}


class TrackingApplication(ReportApplication):
    name = "tracking"
    service = "tracking"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._handlers: dict[str, Callable[[Report, Batch, Mapping], None]] = {
            "project.company_registered": self._milestone,
            "project.construction_started": self._milestone,
            "project.production_started": self._milestone,
            "project.capital_arrived": self._milestone,
            "milestone.verified": self._check,
            "milestone.rejected": self._check,
            "milestone.retracted": self._check,
            "leader.trip_completed": self._trip,
            "promotion.event_held": self._unit_record,
            "task.completed": self._unit_record,
            "matter.progress_reported": self._unit_record,
        }

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        self._handlers[report.type](report, batch, context)

    # Milestones (十九) ---------------------------------------------------------------------

    def _milestone(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        p = report.payload
        project = self._registered_project(p["project_code"], context)
        if report.type in NEEDS_SIGNING and project["stage"] not in SIGNED_OR_LATER:
            raise RuleBroken(
                "type",
                report.type,
                "before_signing",
                f"项目 {p['project_code']} 尚未签约，不能报告开工或到资",
                f"project {p['project_code']} is not signed yet; no construction start or "
                "capital before signing",
            )
        milestones = batch.get(ids.milestones_id(p["project_code"]))
        if milestones is None:
            milestones = ProjectMilestones(project_code=p["project_code"])
        match report.type:
            case "project.company_registered":
                milestones.register_company(p["credit_code"], p["company_name"], **envelope(report))
            case "project.construction_started":
                milestones.start_construction(p["kind"], **envelope(report))
            case "project.production_started":
                milestones.start_production(**envelope(report))
            case "project.capital_arrived":
                milestones.receive_capital(
                    p["amount"], Decimal(str(project["total_investment"])), **envelope(report)
                )
        batch.add(milestones)

    @staticmethod
    def _registered_project(code: str, context: Mapping[str, Any]) -> Mapping[str, Any]:
        project = context.get("projects", {}).get(code)
        if project is None:
            raise RuleBroken(
                "payload.project_code",
                code,
                "unknown_project",
                f"项目 {code} 不存在：请先报送 project.proposed",
                f"project {code} is unknown: report project.proposed first",
            )
        if project["withdrawn"]:
            raise RuleBroken(
                "payload.project_code",
                code,
                "project_withdrawn",
                f"项目 {code} 已撤销，不能再报告",
                f"project {code} was withdrawn; nothing more can be reported on it",
            )
        return project

    def _check(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        p = report.payload
        milestone_event_id = str(p["milestone_event_id"])
        if report.type != "milestone.retracted" and report.source != OFFICE:
            raise RuleBroken(
                "source",
                report.source,
                "office_only",
                "只有省招商引资工作领导小组办公室可以甄别（核实或驳回）报告",
                "only the office (领导小组办公室) verifies or rejects reports",
            )
        receipt = batch.receipt(milestone_event_id)
        milestones = (
            None if receipt is None else batch.get(ids.milestones_id(receipt.project_code or ""))
        )
        if milestones is None or milestone_event_id not in milestones.milestones:
            raise RuleBroken(
                "payload.milestone_event_id",
                milestone_event_id,
                "unknown_milestone",
                f"找不到里程碑报告 {milestone_event_id}",
                f"no milestone report {milestone_event_id} is known",
            )
        match report.type:
            case "milestone.verified":
                milestones.verify(milestone_event_id, **envelope(report))
            case "milestone.rejected":
                milestones.reject(milestone_event_id, p["reason"], **envelope(report))
            case "milestone.retracted":
                milestones.retract(milestone_event_id, p["reason"], **envelope(report))

    # Trips, promotion events, tasks, matters --------------------------------------------

    def _trip(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        p = report.payload
        trips = batch.get(ids.named_id("trips", p["leader_id"]))
        if trips is None:
            trips = LeaderTrips(leader_id=p["leader_id"])
        trips.complete_trip(
            p["destination"],
            p["departed_on"],
            p["returned_on"],
            p.get("companies_met", []),
            **envelope(report),
        )
        batch.add(trips)

    def _unit_record(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        p = report.payload
        record = batch.get(ids.named_id("unit", p["unit"]))
        if record is None:
            record = UnitRecord(unit=p["unit"])
        match report.type:
            case "promotion.event_held":
                record.hold_promotion_event(p["target_region"], p["title"], **envelope(report))
            case "task.completed":
                record.complete_task(p["task_id"], **envelope(report))
            case "matter.progress_reported":
                record.report_matter(p["matter_id"], p["progress"], p["status"], **envelope(report))
        batch.add(record)

    # Queries ------------------------------------------------------------------------------

    def history(self, project_code: str) -> list[dict]:
        return self.wire_history(ids.milestones_id(project_code))
