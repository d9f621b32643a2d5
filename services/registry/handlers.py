"""How each of registry's report types changes its projects and leaders.

Reports are applied under the sender's jurisdiction (services/kernel/contract/jurisdiction.py);
one it may not send is recorded as a refusal (services/kernel/ingest/refusals.py) and changes
nothing. Every rule broken raises `RuleBroken` before anything is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, cast

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.jurisdiction import Jurisdiction, Jurisdictions, NotPermitted
from services.kernel.contract.payloads import (
    LeaderAppointed,
    ProjectAssigned,
    ProjectCorrected,
    ProjectDesignated,
    ProjectProposed,
    ProjectSigned,
    ProjectTrackingStarted,
    ProjectUndesignated,
    ProjectWithdrawn,
)
from services.kernel.contract.projects import unknown_project
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import record_refusal
from services.kernel.ingest.reports import Batch, envelope
from services.kernel.reference import Reference
from services.registry.domain import Leader, Project
from services.registry.rules import check_in_unit


def unknown_leader(leader_id: str, field: str) -> RuleBroken:
    return RuleBroken(
        field,
        leader_id,
        "unknown_leader",
        f"领导 {leader_id} 不存在：请先报送 leader.appointed",
        f"leader {leader_id} is unknown: report leader.appointed first",
    )


class ReportHandlers:
    """Registry's report types, each applied to the aggregates of a batch (`apply`, given to
    the application's report intake)."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.jurisdictions = Jurisdictions(ref)
        self._handlers: dict[str, Callable[[Report, Batch, Jurisdiction], None]] = {
            "project.proposed": self._propose,
            "project.tracking_started": self._start_tracking,
            "project.signed": self._sign,
            "project.assigned": self._assign,
            "project.corrected": self._correct,
            "project.withdrawn": self._withdraw,
            "project.designated": self._designate,
            "project.undesignated": self._undesignate,
            "leader.appointed": self._appoint,
        }

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        try:
            self._handlers[report.type](report, batch, self.jurisdictions.of(report.source))
        except NotPermitted as refused:
            record_refusal(batch, report, refused)
            raise

    def _propose(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectProposed, report.payload)
        code = p["project_code"]
        allowed.check_project(code, p["region"], p["industry"], "payload.region")
        if batch.get(ids.project_id(code)) is not None:
            raise RuleBroken(
                "payload.project_code",
                code,
                "project_exists",
                f"项目 {code} 已存在；修改事实请发送 project.corrected",
                f"project {code} exists; send project.corrected to change its facts",
            )
        planner = p.get("planned_by_leader")
        self._check_leader_known(planner, batch, "payload.planned_by_leader")
        batch.add(
            Project(
                **envelope(report),
                project_code=code,
                name=p["name"],
                investor=dict(p["investor"]),
                industry=p["industry"],
                region=p["region"],
                prefecture=self.ref.prefecture_of(p["region"]).code,
                total_investment=p["total_investment"],
                categories=list(p.get("categories", [])),
                channel=p["channel"],
                key_project=self._is_key(p["total_investment"], p.get("categories", [])),
                planned_by_leader=planner,
            )
        )

    def _project(self, code: str, batch: Batch, allowed: Jurisdiction) -> Project:
        project = batch.get(ids.project_id(code))
        if project is None:
            raise unknown_project(code)
        allowed.check_project(
            code, project.facts["region"], project.facts["industry"], "payload.project_code"
        )
        return project

    def _start_tracking(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectTrackingStarted, report.payload)
        self._project(p["project_code"], batch, allowed).start_tracking(**envelope(report))

    def _sign(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectSigned, report.payload)
        project = self._project(p["project_code"], batch, allowed)
        project.sign(**envelope(report), contract=p["contract_investment"])

    def _assign(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectAssigned, report.payload)
        self._project(p["project_code"], batch, allowed).assign(
            **envelope(report), leader=p["leader"], task_force=p["task_force"], plan=p["plan"]
        )

    def _correct(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectCorrected, report.payload)
        project = self._project(p["project_code"], batch, allowed)
        changes = p["changes"]
        facts: dict[str, Any] = {**project.facts, **changes}
        # A sender may not move a project out of its own jurisdiction either.
        allowed.check_project(
            project.code, facts["region"], facts["industry"], "payload.changes.region"
        )
        if "planned_by_leader" in changes:
            self._check_leader_known(
                changes["planned_by_leader"], batch, "payload.changes.planned_by_leader"
            )
        project.correct(
            **envelope(report),
            changes=dict(changes),  # the event's own copy, not the report's
            reason=p["reason"],
            prefecture=self.ref.prefecture_of(facts["region"]).code,
            key_project=self._is_key(facts["total_investment"], facts["categories"]),
        )

    def _withdraw(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectWithdrawn, report.payload)
        project = self._project(p["project_code"], batch, allowed)
        project.withdraw(**envelope(report), reason=p["reason"])

    def _designate(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectDesignated, report.payload)
        project = self._designating(p, batch, allowed)
        project.designate(**envelope(report), unit=p["unit"])

    def _undesignate(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(ProjectUndesignated, report.payload)
        project = self._designating(p, batch, allowed)
        project.undesignate(**envelope(report), unit=p["unit"], reason=p["reason"])

    def _designating(
        self, payload: ProjectDesignated, batch: Batch, allowed: Jurisdiction
    ) -> Project:
        """The project a government (de)designates as its own key project (二): the sender speaks
        for that government (a 市州 also for its counties), and the project lies in its area."""
        unit = payload["unit"]
        allowed.check_unit(unit, "payload.unit")
        project = self._project(payload["project_code"], batch, allowed)
        region = self.ref.region(unit)
        lies_in = (
            project.prefecture == unit if region.is_prefecture else project.facts["region"] == unit
        )
        check_in_unit(project.code, unit, region.name, lies_in)
        return project

    def _appoint(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = cast(LeaderAppointed, report.payload)
        unit = p["unit"]
        allowed.check_unit(unit, "payload.unit")
        leader = batch.get(ids.leader_id(p["leader_id"]))
        if leader is not None:
            allowed.check_unit(leader.unit, "payload.leader_id")  # not another unit's leader
        fields: dict[str, Any] = {
            **envelope(report),
            "leader_id": p["leader_id"],
            "name": p["name"],
            "unit": unit,
            "role": p["role"],
            "prefecture": None if unit.startswith("dept:") else self.ref.prefecture_of(unit).code,
        }
        if leader is None:
            batch.add(Leader(**fields))
        else:
            leader.reappoint(**fields)

    @staticmethod
    def _check_leader_known(leader_id: str | None, batch: Batch, field: str) -> None:
        if leader_id is not None and batch.get(ids.leader_id(leader_id)) is None:
            raise unknown_leader(leader_id, field)

    def _is_key(self, total_investment: Decimal, categories: Iterable[str]) -> bool:
        return self.ref.key_project.is_key_project(total_investment, categories)
