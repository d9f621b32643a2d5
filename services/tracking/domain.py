"""Tracking's domain: milestones (十九), leaders' trips ((二十一), (二十二)), themed promotion
events (三), 附件3 task completions and 附件4 key-matter progress.

Each domain event names the v1 wire type it is published as; its fields are the payload.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.events import Reported
from services.kernel.contract.jurisdiction import NotPermitted
from services.tracking.levels import (
    OFFICE_LEVEL,
    check_level,
    check_record,
    decides,
    office_level,
)
from services.tracking.rules import (
    CAPITAL,
    COUNTING,
    MILESTONE_NAMES_ZH,
    OFFICE,
    PRODUCING,
    REGISTERED,
    REJECTED,
    REPORTED,
    RETRACTED,
    STARTED,
    VERIFIED,
    check_no_overlap,
    check_out_of_province,
    unknown_milestone,
)
from services.tracking.views import milestones_view


class MilestoneReported(Reported):
    milestone: ClassVar[str]  # each kind's event names its milestone (注册, 开工, 投产, 到资)
    project_code: str

    def apply(self, aggregate: ProjectMilestones) -> None:
        aggregate.milestones[self.event_id] = {
            "kind": type(self).milestone,
            "occurred_on": self.occurred_on,
            "source": self.source,
            "status": REPORTED,
            "amount": getattr(self, "amount", None),
            "reported_cumulative": getattr(self, "cumulative", None),
            "over_total_investment": getattr(self, "over_total_investment", False),
            "checks": [],
        }


class MilestoneChecked(Reported):
    """The office's check (甄别) of a milestone report, or its sender's retraction."""

    status: ClassVar[str]  # what the check makes of the report: verified, rejected, retracted
    project_code: str
    milestone_event_id: str

    def apply(self, aggregate: ProjectMilestones) -> None:
        milestone = aggregate.milestones[self.milestone_event_id]
        level = getattr(self, "level", None)
        if decides(type(self).status, level):
            milestone["status"] = type(self).status
        milestone["checks"].append(check_record(self, type(self).status, level))


class ProjectMilestones(Aggregate):
    """What was reported to have happened to one project, with the office's checks."""

    class Opened(Aggregate.Created):
        project_code: str

    class CompanyRegistered(MilestoneReported):
        wire_type = "project.company_registered"
        milestone = REGISTERED
        credit_code: str
        company_name: str

    class ConstructionStarted(MilestoneReported):
        wire_type = "project.construction_started"
        milestone = STARTED
        kind: str  # construction 开工 or opening 开业

    class ProductionStarted(MilestoneReported):
        wire_type = "project.production_started"
        milestone = PRODUCING

    class CapitalArrived(MilestoneReported):
        wire_type = "project.capital_arrived"
        milestone = CAPITAL
        amount: Decimal
        cumulative: Decimal
        over_total_investment: bool  # flagged for the office's review, not silently taken

    class Verified(MilestoneChecked):
        wire_type = "milestone.verified"
        status = VERIFIED
        class_version = 2
        level: str  # the review level (services/tracking/levels.py): office or prefecture

        upcast_v1_v2 = staticmethod(office_level)

    class Rejected(MilestoneChecked):
        wire_type = "milestone.rejected"
        status = REJECTED
        class_version = 2
        reason: str
        level: str

        upcast_v1_v2 = staticmethod(office_level)

    class Retracted(MilestoneChecked):
        wire_type = "milestone.retracted"
        status = RETRACTED
        reason: str

    @staticmethod
    def create_id(project_code: str) -> UUID:
        return ids.milestones_id(project_code)

    @event(Opened)
    def __init__(self, project_code: str) -> None:
        self.code = project_code
        self.milestones: dict[str, dict] = {}

    def counting(self, milestone: str) -> list[dict]:
        return [
            m
            for m in self.milestones.values()
            if m["kind"] == milestone and m["status"] in COUNTING
        ]

    def capital_total(self) -> Decimal:
        return sum((m["amount"] for m in self.counting(CAPITAL)), Decimal(0))

    def view(self, total_investment: Decimal | None) -> dict:
        """Every report with its status, and the provisional and official views of (十九)."""
        return milestones_view(self.code, self.milestones, total_investment)

    # Rules --------------------------------------------------------------------------------

    def check_once(self, milestone: str) -> None:
        if self.counting(milestone):
            raise RuleBroken(
                "type",
                milestone,
                f"already_{milestone}",
                f"项目 {self.code} 已报告{MILESTONE_NAMES_ZH[milestone]}；如原报告有误请先撤回",
                f"project {self.code} already reported {milestone}; retract that report first",
            )

    def check_construction_started(self) -> None:
        if not self.counting(STARTED):
            raise RuleBroken(
                "type",
                "project.production_started",
                "production_before_construction",
                f"项目 {self.code} 尚未报告开工（开业），不能报告投产",
                f"project {self.code} has no construction start yet; production cannot come first",
            )

    def check_changeable(self, milestone_event_id: str) -> dict:
        milestone = self.milestones.get(milestone_event_id)
        if milestone is None:
            raise unknown_milestone(milestone_event_id)
        if milestone["status"] == RETRACTED:
            raise RuleBroken(
                "payload.milestone_event_id",
                milestone_event_id,
                "milestone_retracted",
                f"报告 {milestone_event_id} 已撤回，不能再甄别或撤回",
                f"report {milestone_event_id} was retracted; "
                "it cannot be checked or retracted again",
            )
        return milestone

    # Reports ------------------------------------------------------------------------------

    def register_company(self, credit_code: str, company_name: str, **envelope: Any) -> None:
        self.check_once(REGISTERED)
        self.trigger_event(
            self.CompanyRegistered,
            project_code=self.code,
            credit_code=credit_code,
            company_name=company_name,
            **envelope,
        )

    def start_construction(self, kind: str, **envelope: Any) -> None:
        self.check_once(STARTED)
        self.trigger_event(self.ConstructionStarted, project_code=self.code, kind=kind, **envelope)

    def start_production(self, **envelope: Any) -> None:
        self.check_construction_started()
        self.check_once(PRODUCING)
        self.trigger_event(self.ProductionStarted, project_code=self.code, **envelope)

    def receive_capital(self, amount: Decimal, total_investment: Decimal, **envelope: Any) -> None:
        cumulative = self.capital_total() + amount
        self.trigger_event(
            self.CapitalArrived,
            project_code=self.code,
            amount=amount,
            cumulative=cumulative,
            over_total_investment=cumulative > total_investment,
            **envelope,
        )

    def verify(self, milestone_event_id: str, level: str = OFFICE_LEVEL, **envelope: Any) -> None:
        milestone = self.check_changeable(milestone_event_id)
        check_level(milestone_event_id, milestone, level, envelope["source"])
        self.trigger_event(
            self.Verified,
            project_code=self.code,
            milestone_event_id=milestone_event_id,
            level=level,
            **envelope,
        )

    def reject(
        self, milestone_event_id: str, reason: str, level: str = OFFICE_LEVEL, **envelope: Any
    ) -> None:
        milestone = self.check_changeable(milestone_event_id)
        check_level(milestone_event_id, milestone, level, envelope["source"])
        self.trigger_event(
            self.Rejected,
            project_code=self.code,
            milestone_event_id=milestone_event_id,
            reason=reason,
            level=level,
            **envelope,
        )

    def retract(self, milestone_event_id: str, reason: str, **envelope: Any) -> None:
        milestone = self.check_changeable(milestone_event_id)
        if envelope["source"] not in (milestone["source"], OFFICE):
            raise NotPermitted(
                "source",
                envelope["source"],
                "retract_own_reports_only",
                f"只有原报送方或领导小组办公室可以撤回报告 {milestone_event_id}",
                f"only the sender of {milestone_event_id} or the office may retract it",
            )
        self.trigger_event(
            self.Retracted,
            project_code=self.code,
            milestone_event_id=milestone_event_id,
            reason=reason,
            **envelope,
        )


class LeaderTrips(Aggregate):
    """One leader's investment trips: a government leader's out of the province (赴省外招商引资,
    (二十一)), a department leader's away from home (外出招商引资, (二十二))."""

    class Opened(Aggregate.Created):
        leader_id: str

    class TripCompleted(Reported):
        wire_type = "leader.trip_completed"
        leader_id: str
        destination: str
        departed_on: date
        returned_on: date
        companies_met: list

        def apply(self, aggregate: LeaderTrips) -> None:
            aggregate.trips.append((self.departed_on, self.returned_on, self.destination))
            aggregate.senders[self.event_id] = self.source  # 甄别 (services/tracking/checking.py)

    @staticmethod
    def create_id(leader_id: str) -> UUID:
        return ids.named_id("trips", leader_id)

    @event(Opened)
    def __init__(self, leader_id: str) -> None:
        self.leader_id = leader_id
        self.trips: list[tuple[date, date, str]] = []
        self.senders: dict[str, str] = {}  # trip report's event id -> its sender

    def complete_trip(
        self,
        destination: str,
        departed_on: date,
        returned_on: date,
        companies_met: list,
        hubei_place: str | None = None,
        **envelope: Any,
    ) -> None:
        """`hubei_place`: the Hubei place the destination names, where the leader's trips must
        leave the province (services/tracking/handlers.py asks the reference data)."""
        check_out_of_province(destination, hubei_place)
        check_no_overlap(self.leader_id, self.trips, departed_on, returned_on)
        self.trigger_event(
            self.TripCompleted,
            leader_id=self.leader_id,
            destination=destination,
            departed_on=departed_on,
            returned_on=returned_on,
            companies_met=list(companies_met),
            **envelope,
        )


class UnitRecord(Aggregate):
    """One unit's themed promotion events (三), 附件3 task completions and 附件4 matter progress."""

    class Opened(Aggregate.Created):
        unit: str

    class PromotionEventHeld(Reported):
        wire_type = "promotion.event_held"
        unit: str
        target_region: str
        title: str

        def apply(self, aggregate: UnitRecord) -> None:
            aggregate.promotions[self.target_region] = (
                aggregate.promotions.get(self.target_region, 0) + 1
            )
            aggregate.promotion_events.append(
                {
                    "event_id": self.event_id,
                    "target_region": self.target_region,
                    "title": self.title,
                    "occurred_on": self.occurred_on,
                }
            )

    class TaskCompleted(Reported):
        wire_type = "task.completed"
        task_id: str
        unit: str

        def apply(self, aggregate: UnitRecord) -> None:
            aggregate.tasks_done[self.task_id] = self.occurred_on

    class MatterProgressReported(Reported):
        wire_type = "matter.progress_reported"
        matter_id: str
        unit: str
        progress: str
        status: str

        def apply(self, aggregate: UnitRecord) -> None:
            aggregate.matters[self.matter_id] = self.status
            aggregate.matter_reports.setdefault(self.matter_id, []).append(
                {
                    "event_id": self.event_id,
                    "status": self.status,
                    "progress": self.progress,
                    "occurred_on": self.occurred_on,
                    "source": self.source,
                }
            )

    @staticmethod
    def create_id(unit: str) -> UUID:
        return ids.named_id("unit", unit)

    @event(Opened)
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.promotions: dict[str, int] = {}
        self.promotion_events: list[dict] = []
        self.tasks_done: dict[str, date] = {}
        self.matters: dict[str, str] = {}
        self.matter_reports: dict[str, list[dict]] = {}

    def hold_promotion_event(self, target_region: str, title: str, **envelope: Any) -> None:
        self.trigger_event(
            self.PromotionEventHeld,
            unit=self.unit,
            target_region=target_region,
            title=title,
            **envelope,
        )

    def complete_task(self, task_id: str, **envelope: Any) -> None:
        if task_id in self.tasks_done:
            raise RuleBroken(
                "payload.task_id",
                task_id,
                "task_already_completed",
                f"{self.unit} 已于 {self.tasks_done[task_id]} 报告完成任务 {task_id}",
                f"{self.unit} reported task {task_id} done on {self.tasks_done[task_id]}",
            )
        self.trigger_event(self.TaskCompleted, task_id=task_id, unit=self.unit, **envelope)

    def report_matter(self, matter_id: str, progress: str, status: str, **envelope: Any) -> None:
        self.trigger_event(
            self.MatterProgressReported,
            matter_id=matter_id,
            unit=self.unit,
            progress=progress,
            status=status,
            **envelope,
        )
