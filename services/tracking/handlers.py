"""How each of tracking's report types changes its milestones, trips and unit records.

Reports are applied under the sender's jurisdiction (services/kernel/contract/jurisdiction.py),
with registry's state of the projects and leaders it names (`context`: their facts and lists,
the leaders' units and roles, as tracking's view of registry holds them,
services/tracking/registry_view.py); one its sender may not send is recorded as a refusal
(services/kernel/ingest/refusals.py) and changes nothing. Every rule broken raises `RuleBroken`
before anything is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.jurisdiction import Jurisdiction, Jurisdictions, NotPermitted
from services.kernel.contract.payloads import (
    LeaderTripCompleted,
    MatterProgressReported,
    MilestoneRejected,
    MilestoneRetracted,
    MilestoneVerified,
    OnMilestone,
    OnProject,
    ProjectCapitalArrived,
    ProjectCompanyRegistered,
    ProjectConstructionStarted,
    ProjectProductionStarted,
    PromotionEventHeld,
    TaskCompleted,
)
from services.kernel.contract.projects import check_not_withdrawn, unknown_project
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import record_refusal
from services.kernel.ingest.reports import Batch, Receipt, envelope
from services.kernel.reference import Reference
from services.kernel.reference.model import GOVERNMENT
from services.tracking.checking import check_report
from services.tracking.domain import LeaderTrips, ProjectMilestones, UnitRecord
from services.tracking.levels import REJECTED, VERIFIED, review_level
from services.tracking.targets import set_target

# Lists (二) a project must have reached before each milestone may be reported.
SIGNED_OR_LATER = frozenset({"signed", "started"})
NEEDS_SIGNING = frozenset({"project.construction_started", "project.capital_arrived"})

# How 附件4 names responsible units that are groups rather than one unit.
ANY_DEPARTMENT = "省直有关部门"
ANY_PREFECTURE = frozenset({"有关市（州）政府", "各市（州）政府"})


def matter_units(ref: Reference, matter_id: str, include_groups: bool = False) -> list[str]:
    """The reporting units 附件4 names for a matter (dept:<key>, a region code, or org:<key> for
    an organisation such as 武汉铁路局); with `include_groups`, every unit of a group it names
    (省直有关部门, 各市（州）政府)."""
    units: list[str] = []
    for named in ref.matters[matter_id].responsible:
        if (unit := ref.unit_named(named)) is not None:
            units.append(unit)
        elif include_groups and named == ANY_DEPARTMENT:
            units += [f"dept:{key}" for key in ref.departments]
        elif include_groups and named in ANY_PREFECTURE:
            units += [p.code for p in ref.prefectures]
    return units


def checked_milestones(reports: Sequence[Report], batch: Batch) -> Iterable[UUID]:
    """The milestones of the projects the checked reports were about (named by the receipts
    of the milestone reports they check), for the report intake's second load."""
    for report in reports:
        payload: Mapping[str, Any] = report.payload  # any type: only checks name a milestone
        if checked := payload.get("milestone_event_id"):
            receipt = cast(Receipt | None, batch.touched.get(ids.receipt_id(checked)))
            if receipt is not None and receipt.project_code:
                yield ids.milestones_id(receipt.project_code)


class ReportHandlers:
    """Tracking's report types, each applied to the aggregates of a batch (`apply`, given to
    the application's report intake)."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.jurisdictions = Jurisdictions(ref)
        self._handlers: dict[str, Callable[[Report, Batch, Mapping, Jurisdiction], None]] = {
            "project.company_registered": self._register_company,
            "project.construction_started": self._start_construction,
            "project.production_started": self._start_production,
            "project.capital_arrived": self._receive_capital,
            "milestone.verified": self._verify,
            "milestone.rejected": self._reject,
            "milestone.retracted": self._retract,
            "report.verified": self._check_report,
            "report.rejected": self._check_report,
            "target.set": self._set_target,
            "leader.trip_completed": self._trip,
            "promotion.event_held": self._hold_promotion_event,
            "task.completed": self._complete_task,
            "matter.progress_reported": self._report_matter,
        }

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        allowed = self.jurisdictions.of(report.source)
        try:
            self._handlers[report.type](report, batch, context, allowed)
        except NotPermitted as refused:
            record_refusal(batch, report, refused)
            raise

    # Milestones (十九) ------------------------------------------------------------------------

    def _register_company(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(ProjectCompanyRegistered, report.payload)
        milestones, _ = self._milestones(report, p, context, batch, allowed)
        milestones.register_company(p["credit_code"], p["company_name"], **envelope(report))
        batch.add(milestones)

    def _start_construction(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(ProjectConstructionStarted, report.payload)
        milestones, _ = self._milestones(report, p, context, batch, allowed)
        milestones.start_construction(p["kind"], **envelope(report))
        batch.add(milestones)

    def _start_production(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(ProjectProductionStarted, report.payload)
        milestones, _ = self._milestones(report, p, context, batch, allowed)
        milestones.start_production(**envelope(report))
        batch.add(milestones)

    def _receive_capital(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(ProjectCapitalArrived, report.payload)
        milestones, project = self._milestones(report, p, context, batch, allowed)
        total_investment = Decimal(str(project["total_investment"]))
        milestones.receive_capital(p["amount"], total_investment, **envelope(report))
        batch.add(milestones)

    def _milestones(
        self,
        report: Report,
        payload: OnProject,
        context: Mapping[str, Any],
        batch: Batch,
        allowed: Jurisdiction,
    ) -> tuple[ProjectMilestones, Mapping[str, Any]]:
        """The milestones of the project a milestone report is about (new if it has none yet),
        and the project's registry state, once the project may take the report."""
        code = payload["project_code"]
        project = self._registered_project(code, context, allowed)
        if report.type in NEEDS_SIGNING and project["stage"] not in SIGNED_OR_LATER:
            raise RuleBroken(
                "type",
                report.type,
                "before_signing",
                f"项目 {code} 尚未签约，不能报告开工或到资",
                f"project {code} is not signed yet; no construction start or "
                "capital before signing",
            )
        milestones = batch.get(ids.milestones_id(code))
        if milestones is None:
            milestones = ProjectMilestones(project_code=code)
        return milestones, project

    @staticmethod
    def _registered_project(
        code: str, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> Mapping[str, Any]:
        project = context.get("projects", {}).get(code)
        if project is None:
            raise unknown_project(code)
        allowed.check_project(code, project["region"], project["industry"], "payload.project_code")
        check_not_withdrawn(code, project["withdrawn"])
        return project

    # Checks of milestone reports ------------------------------------------------------------

    def _verify(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(MilestoneVerified, report.payload)
        milestones = self._reported(p, batch)
        level = self._level(milestones, p, allowed)
        milestones.verify(p["milestone_event_id"], level, **envelope(report))

    def _reject(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(MilestoneRejected, report.payload)
        milestones = self._reported(p, batch)
        level = self._level(milestones, p, allowed)
        milestones.reject(p["milestone_event_id"], p["reason"], level, **envelope(report))

    def _retract(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(MilestoneRetracted, report.payload)
        milestones = self._reported(p, batch)  # its own sender or the office (domain.py)
        milestones.retract(p["milestone_event_id"], p["reason"], **envelope(report))

    def _set_target(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        """A unit's yearly and quarterly targets (services/tracking/targets.py)."""
        set_target(report.payload, batch, allowed, self.ref, envelope(report))

    @staticmethod
    def _check_report(
        report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        """甄别 of a trip or themed event (services/tracking/checking.py)."""
        status = VERIFIED if report.type == "report.verified" else REJECTED
        check_report(report.payload, status, batch, allowed, envelope(report))

    @staticmethod
    def _level(milestones: ProjectMilestones, p: OnMilestone, allowed: Jurisdiction) -> str:
        """The office verifies or rejects a milestone report; a 市州 may review its counties'
        reports first (services/tracking/levels.py)."""
        reported = milestones.milestones[p["milestone_event_id"]]
        return review_level(allowed, reported["source"], "source")

    @staticmethod
    def _reported(payload: OnMilestone, batch: Batch) -> ProjectMilestones:
        """The milestones holding the milestone report a check names."""
        milestone_event_id = payload["milestone_event_id"]
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
        return milestones

    # Leaders' trips and units' records ------------------------------------------------------

    def _trip(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(LeaderTripCompleted, report.payload)
        leader = context.get("leaders", {}).get(p["leader_id"])
        if leader is None:
            raise RuleBroken(
                "payload.leader_id",
                p["leader_id"],
                "unknown_leader",
                f"领导 {p['leader_id']} 不存在：请先报送 leader.appointed",
                f"leader {p['leader_id']} is unknown: report leader.appointed first",
            )
        allowed.check_unit(leader["unit"], "payload.leader_id")
        trips = batch.get(ids.named_id("trips", p["leader_id"]))
        if trips is None:
            trips = LeaderTrips(leader_id=p["leader_id"])
        trips.complete_trip(
            p["destination"],
            p["departed_on"],
            p["returned_on"],
            p.get("companies_met", []),
            hubei_place=self._hubei_place(p["destination"], leader["role"]),
            **envelope(report),
        )
        batch.add(trips)

    def _hubei_place(self, destination: str, role: str) -> str | None:
        """The Hubei place a government leader's destination names (赴省外, (二十一)); a
        department leader's trip counts wherever it goes (外出招商引资, (二十二))."""
        if self.ref.leader_roles[role].applies_to != GOVERNMENT:
            return None
        return self.ref.places.named_in(destination)

    def _hold_promotion_event(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(PromotionEventHeld, report.payload)
        record = self._unit_record(p["unit"], batch, allowed)
        record.hold_promotion_event(p["target_region"], p["title"], **envelope(report))
        batch.add(record)

    def _complete_task(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(TaskCompleted, report.payload)
        record = self._unit_record(p["unit"], batch, allowed)
        self._check_owes_task(p["task_id"], p["unit"])
        record.complete_task(p["task_id"], **envelope(report))
        batch.add(record)

    def _report_matter(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = cast(MatterProgressReported, report.payload)
        record = self._unit_record(p["unit"], batch, allowed)
        self._check_owes_matter(p["matter_id"], p["unit"])
        record.report_matter(p["matter_id"], p["progress"], p["status"], **envelope(report))
        batch.add(record)

    @staticmethod
    def _unit_record(unit: str, batch: Batch, allowed: Jurisdiction) -> UnitRecord:
        """The record of a unit its sender may report for (new if it has none yet)."""
        allowed.check_unit(unit, "payload.unit")
        record = batch.get(ids.named_id("unit", unit))
        return UnitRecord(unit=unit) if record is None else record

    def _check_owes_task(self, task_id: str, unit: str) -> None:
        if unit not in self.ref.responsible_units(task_id):
            task = self.ref.tasks[task_id]
            raise RuleBroken(
                "payload.unit",
                unit,
                "task_not_owed",
                f"附件3 任务 {task_id}（{task.title}）的责任单位不包括 {unit}",
                f"{unit} is not among the responsible units of attachment-3 task {task_id}",
            )

    def _check_owes_matter(self, matter_id: str, unit: str) -> None:
        if unit not in matter_units(self.ref, matter_id, include_groups=True):
            raise RuleBroken(
                "payload.unit",
                unit,
                "matter_not_owed",
                f"附件4 重点事项 {matter_id} 的责任单位不包括 {unit}",
                f"{unit} is not among the responsible units of attachment-4 matter {matter_id}",
            )
