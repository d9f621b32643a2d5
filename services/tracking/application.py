"""Tracking: the use cases on milestones, trips, promotion events, tasks and matters.

Reports are applied under the sender's jurisdiction (services/kernel/contract/jurisdiction.py),
with the registry state the service looked up for the run (`context`: the projects' facts and
lists, the leaders' units); one its sender may not send is recorded as a refusal and changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from services.kernel.contract import ids
from services.kernel.contract.contracts import Report
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.jurisdiction import Jurisdiction, Jurisdictions, NotPermitted
from services.kernel.ingest.refusals import list_refusals, record_refusal
from services.kernel.ingest.reports import Batch, ReportApplication
from services.kernel.reference.reference import DATA_DIR, Reference, reference
from services.tracking.domain import LeaderTrips, ProjectMilestones, UnitRecord

# Lists (二) a project must have reached before each milestone may be reported.
SIGNED_OR_LATER = frozenset({"signed", "started"})
NEEDS_SIGNING = frozenset({"project.construction_started", "project.capital_arrived"})
THEMED_EVENTS_FILE = DATA_DIR / "themed_events.yaml"

# How 附件4 names responsible units that are groups rather than one unit.
ANY_DEPARTMENT = "省直有关部门"
ANY_PREFECTURE = frozenset({"有关市（州）政府", "各市（州）政府"})

DONE, DONE_LATE, DUE, OVERDUE = "done", "done_late", "due", "overdue"
NOT_REPORTED, IN_PROGRESS = "not_reported", "in_progress"


def envelope(report: Report) -> dict[str, Any]:
    return {
        "event_id": str(report.event_id),
        "source": report.source,
        "occurred_on": report.occurred_on,
    }


def project_codes(reports: Iterable[Report]) -> set[str]:
    """The projects whose registry state a run of reports needs."""
    return {r.payload["project_code"] for r in reports if "project_code" in r.payload}


def leader_keys(reports: Iterable[Report]) -> set[str]:
    """The leaders whose registry state (their unit) a run of reports needs."""
    return {r.payload["leader_id"] for r in reports if "leader_id" in r.payload}


def load_themed_events(path: Path = THEMED_EVENTS_FILE) -> dict:
    """(三): the three key regions and the minimum of themed events per 市州."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    minimum = data["minimum_per_prefecture"]
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise ValueError(f"{path.name}: minimum_per_prefecture must be a positive whole number")
    return {"minimum": minimum, "regions": {r["key"]: r["name"] for r in data["regions"]}}


class TrackingApplication(ReportApplication):
    name = "tracking"
    service = "tracking"

    def __init__(self, env: Mapping[str, str] | None = None, ref: Reference | None = None):
        self.ref = ref or reference()
        self.jurisdictions = Jurisdictions(self.ref)
        self.themed_events = load_themed_events()
        super().__init__(env)
        self._handlers: dict[str, Callable[[Report, Batch, Mapping, Jurisdiction], None]] = {
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

    def then_touched(self, reports: Sequence[Report], batch: Batch) -> Iterable[UUID]:
        for report in reports:
            if checked := report.payload.get("milestone_event_id"):
                receipt = batch.touched.get(ids.receipt_id(checked))
                if receipt is not None and receipt.project_code:
                    yield ids.milestones_id(receipt.project_code)

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        allowed = self.jurisdictions.of(report.source)
        try:
            self._handlers[report.type](report, batch, context, allowed)
        except NotPermitted as refused:
            record_refusal(batch, report, refused)
            raise

    # Milestones (十九) ---------------------------------------------------------------------

    def _milestone(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = report.payload
        project = self._registered_project(p["project_code"], context, allowed)
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
    def _registered_project(
        code: str, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> Mapping[str, Any]:
        project = context.get("projects", {}).get(code)
        if project is None:
            raise RuleBroken(
                "payload.project_code",
                code,
                "unknown_project",
                f"项目 {code} 不存在：请先报送 project.proposed",
                f"project {code} is unknown: report project.proposed first",
            )
        allowed.check_project(code, project["region"], project["industry"], "payload.project_code")
        if project["withdrawn"]:
            raise RuleBroken(
                "payload.project_code",
                code,
                "project_withdrawn",
                f"项目 {code} 已撤销，不能再报告",
                f"project {code} was withdrawn; nothing more can be reported on it",
            )
        return project

    def _check(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = report.payload
        milestone_event_id = str(p["milestone_event_id"])
        if report.type != "milestone.retracted":
            allowed.check_office("source", "甄别（核实或驳回）报告", "verify or reject a report")
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

    def _trip(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = report.payload
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
            **envelope(report),
        )
        batch.add(trips)

    def _unit_record(
        self, report: Report, batch: Batch, context: Mapping[str, Any], allowed: Jurisdiction
    ) -> None:
        p = report.payload
        allowed.check_unit(p["unit"], "payload.unit")
        record = batch.get(ids.named_id("unit", p["unit"]))
        if record is None:
            record = UnitRecord(unit=p["unit"])
        match report.type:
            case "promotion.event_held":
                record.hold_promotion_event(p["target_region"], p["title"], **envelope(report))
            case "task.completed":
                self._check_owes_task(p["task_id"], p["unit"])
                record.complete_task(p["task_id"], **envelope(report))
            case "matter.progress_reported":
                self._check_owes_matter(p["matter_id"], p["unit"])
                record.report_matter(p["matter_id"], p["progress"], p["status"], **envelope(report))
        batch.add(record)

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
        if unit not in self.matter_units(matter_id, include_groups=True):
            raise RuleBroken(
                "payload.unit",
                unit,
                "matter_not_owed",
                f"附件4 重点事项 {matter_id} 的责任单位不包括 {unit}",
                f"{unit} is not among the responsible units of attachment-4 matter {matter_id}",
            )

    def matter_units(self, matter_id: str, include_groups: bool = False) -> list[str]:
        """The reporting units 附件4 names for a matter (dept:<key> or a region code); with
        `include_groups`, every unit of a group it names (省直有关部门, 各市（州）政府)."""
        units: list[str] = []
        for named in self.ref.matters[matter_id].responsible:
            if named in self.ref.departments:
                units.append(f"dept:{named}")
            elif self.ref.is_hubei_region(named):
                units.append(named)
            elif include_groups and named == ANY_DEPARTMENT:
                units += [f"dept:{key}" for key in self.ref.departments]
            elif include_groups and named in ANY_PREFECTURE:
                units += [p.code for p in self.ref.prefectures]
        return units

    # Queries ------------------------------------------------------------------------------

    def history(self, project_code: str) -> list[dict]:
        return self.wire_history(ids.milestones_id(project_code))

    def milestones(self, project_code: str, total_investment: Decimal | None) -> dict:
        """A project's milestones (十九), cumulative capital, provisional and official views."""
        record = Batch(self).get(ids.milestones_id(project_code))
        if record is None:
            record = ProjectMilestones(project_code=project_code)  # nothing reported yet
        return record.view(total_investment)

    def leader_progress(self, leaders: list[dict], year: int) -> dict:
        """Each leader's and each unit's out-of-province trips in `year` against the yearly
        quota ((二十一), (二十二); 神农架林区's governments exempt), with the major project
        each leader planned (as registry links it)."""
        batch = Batch(self)
        batch.preload(ids.named_id("trips", x["leader_id"]) for x in leaders)
        rows, units = [], {}
        for leader in leaders:
            record = batch.get(ids.named_id("trips", leader["leader_id"]))
            trips = [t for t in (record.trips if record else []) if t[1].year == year]
            role = self.ref.leader_roles[leader["role"]]
            exempt = role.applies_to == "government" and self._quota_exempt(leader["unit"])
            quota = None if exempt else role.yearly_trips
            rows.append(
                {
                    **leader,
                    "trips": len(trips),
                    "quota": quota,
                    "exempt": exempt,
                    "met": quota is not None and len(trips) >= quota,
                    "section": role.section,
                }
            )
            unit = units.setdefault(
                leader["unit"], {"unit": leader["unit"], "leaders": 0, "trips": 0, "quota": 0}
            )
            unit["leaders"] += 1
            unit["trips"] += len(trips)
            unit["quota"] += quota or 0
        for unit in units.values():
            unit["met"] = unit["trips"] >= unit["quota"]
        return {"year": year, "leaders": rows, "units": sorted(units.values(), key=_unit_key)}

    def _quota_exempt(self, unit: str) -> bool:
        if unit.startswith("dept:"):
            return False
        return self.ref.prefecture_of(unit).code in self.ref.trip_quota_exempt

    def promotion_events(self, unit: str = "") -> dict:
        """(三): each 市州's themed events in 粤港澳大湾区, 长三角, 京津冀 against the minimum."""
        codes = [unit] if unit else [p.code for p in self.ref.prefectures]
        records = self._unit_records(codes)
        key_regions = self.themed_events["regions"]
        minimum = self.themed_events["minimum"]
        rows = []
        for code in codes:
            events = records[code].promotion_events if code in records else []
            in_key = [e for e in events if e["target_region"] in key_regions]
            rows.append(
                {
                    "unit": code,
                    "name": self.ref.region(code).name,
                    "in_key_regions": len(in_key),
                    "by_region": {
                        k: sum(1 for e in in_key if e["target_region"] == k) for k in key_regions
                    },
                    "minimum": minimum,
                    "met": len(in_key) >= minimum,
                    "events": events,
                }
            )
        return {"key_regions": key_regions, "minimum": minimum, "prefectures": rows}

    def task_status(self, as_of: date, unit: str = "", task_id: str = "") -> dict:
        """附件3: per task and responsible unit, done (on time or late), due or overdue."""
        tasks = [self.ref.tasks[task_id]] if task_id else list(self.ref.tasks.values())
        pairs = [
            (task, owner)
            for task in tasks
            for owner in sorted(self.ref.responsible_units(task.id))
            if not unit or owner == unit
        ]
        records = self._unit_records({owner for _, owner in pairs})
        rows = []
        for task, owner in pairs:
            done_on = records[owner].tasks_done.get(task.id) if owner in records else None
            deadline = task.deadline_date
            if done_on is not None:
                status = DONE if done_on <= deadline else DONE_LATE
            else:
                status = OVERDUE if as_of > deadline else DUE
            rows.append(
                {
                    "task_id": task.id,
                    "title": task.title,
                    "unit": owner,
                    "deadline": deadline,
                    "status": status,
                    "done_on": done_on,
                }
            )
        counts = {
            s: sum(1 for r in rows if r["status"] == s) for s in (DONE, DONE_LATE, DUE, OVERDUE)
        }
        return {"as_of": as_of, "counts": counts, "tasks": rows}

    def matter_status(self, as_of: date, unit: str = "", matter_id: str = "") -> dict:
        """附件4: per key matter and responsible unit, the latest progress and its status."""
        matters = [self.ref.matters[matter_id]] if matter_id else list(self.ref.matters.values())
        wanted = {
            owner
            for matter in matters
            for owner in self.matter_units(matter.id, include_groups=True)
            if not unit or owner == unit
        }
        records = self._unit_records(wanted)
        rows = []
        for matter in matters:
            named = self.matter_units(matter.id)
            reporting = [
                owner
                for owner in self.matter_units(matter.id, include_groups=True)
                if owner in records and matter.id in records[owner].matter_reports
            ]
            for owner in dict.fromkeys([*named, *reporting]):
                if unit and owner != unit:
                    continue
                reports = (
                    records[owner].matter_reports.get(matter.id, []) if owner in records else []
                )
                latest = reports[-1] if reports else None
                status = latest["status"] if latest else NOT_REPORTED
                rows.append(
                    {
                        "matter_id": matter.id,
                        "partners": list(matter.partners),
                        "item": matter.item,
                        "unit": owner,
                        "due": matter.due,
                        "status": status,
                        "overdue": status != DONE and as_of > matter.due,
                        "latest": latest,
                        "reports": len(reports),
                    }
                )
        counts = {
            s: sum(1 for r in rows if r["status"] == s) for s in (DONE, IN_PROGRESS, NOT_REPORTED)
        }
        return {"as_of": as_of, "counts": counts, "matters": rows}

    def refusals(self, who: str | None = None) -> list[dict]:
        return list_refusals(self, who)

    def _unit_records(self, units: Iterable[str]) -> dict[str, UnitRecord]:
        batch = Batch(self)
        units = list(units)
        batch.preload(ids.named_id("unit", u) for u in units)
        found = {u: batch.get(ids.named_id("unit", u)) for u in units}
        return {u: record for u, record in found.items() if record is not None}


def _unit_key(unit: dict) -> tuple:
    return (unit["unit"].startswith("dept:"), unit["unit"])
