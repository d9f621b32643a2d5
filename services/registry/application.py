"""Registry: the use cases on projects and leaders, in simple values.

Reports are applied under the sender's jurisdiction (services/kernel/contract/jurisdiction.py);
one it may not send is recorded as a refusal and changes nothing. Registry also consumes
tracking's events, exactly once in effect like scoring, to keep the 开工 list (二): a project moves
onto it with its first construction start and off it when that start is rejected or retracted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Tracking

from services.kernel.bus.consumer import ConsumerApplication
from services.kernel.contract import ids
from services.kernel.contract.contracts import Report
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.jurisdiction import Jurisdiction, Jurisdictions, NotPermitted
from services.kernel.ingest.refusals import list_refusals, record_refusal, record_refusals
from services.kernel.ingest.reports import SAVE_ATTEMPTS, Batch, ReportApplication
from services.kernel.reference.reference import Reference, reference
from services.kernel.store.environment import event_topics
from services.registry.domain import (
    FIVE_ONES,
    LIST_NAMES_ZH,
    LIST_ORDER,
    START_REPORT,
    START_UNDONE,
    Leader,
    Project,
)

FOLLOWED = frozenset({START_REPORT, "milestone.verified", *START_UNDONE})
PROVINCE = "420000"  # 湖北省: the whole province, as a list's scope
PAGE = 1000


def envelope(report: Report) -> dict[str, Any]:
    return {
        "event_id": str(report.event_id),
        "source": report.source,
        "occurred_on": report.occurred_on,
    }


def unknown_project(code: str) -> RuleBroken:
    return RuleBroken(
        "payload.project_code",
        code,
        "unknown_project",
        f"项目 {code} 不存在：请先报送 project.proposed",
        f"project {code} is unknown: report project.proposed first",
    )


def unknown_leader(leader_id: str, field: str) -> RuleBroken:
    return RuleBroken(
        field,
        leader_id,
        "unknown_leader",
        f"领导 {leader_id} 不存在：请先报送 leader.appointed",
        f"leader {leader_id} is unknown: report leader.appointed first",
    )


class AggregateIndex:
    """Every aggregate of one class, kept current by reading the store's notification log from
    where it last stopped; any replica sees what any other stored."""

    def __init__(self, app: ReportApplication, aggregate_class: type[Aggregate]) -> None:
        self.app = app
        self.topics = event_topics(aggregate_class)
        self.members: dict[UUID, Any] = {}
        self.position = 0
        self._lock = threading.Lock()

    def current(self) -> list[Any]:
        with self._lock:
            self._refresh()
            return list(self.members.values())

    def get(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        """The members with these ids, as stored now (absent ones left out)."""
        with self._lock:
            self._refresh()
            return {i: self.members[i] for i in aggregate_ids if i in self.members}

    def _refresh(self) -> None:
        """Apply what was stored since: each new event to its member, in log order (the
        notifications carry the events; a member whose versions do not follow on, which an
        event of a topic not listed would cause, is read again from its own events)."""
        behind: set[UUID] = set()
        while notifications := self.app.recorder.select_notifications(
            self.position + 1, PAGE, topics=self.topics
        ):
            for n in notifications:
                member = self.members.get(n.originator_id)
                version = 0 if member is None else member.version
                if n.originator_version == version + 1 and n.originator_id not in behind:
                    event = self.app.mapper.to_domain_event(n)
                    self.members[n.originator_id] = event.mutate(member)
                elif n.originator_version > version:
                    behind.add(n.originator_id)
            self.position = notifications[-1].id
        if behind:
            batch = Batch(self.app)
            batch.preload(behind)
            self.members.update({i: batch.get(i) for i in behind})


class RegistryApplication(ReportApplication, ConsumerApplication):
    name = "registry"
    service = "registry"

    def __init__(self, env: Mapping[str, str] | None = None, ref: Reference | None = None):
        self.ref = ref or reference()
        self.jurisdictions = Jurisdictions(self.ref)
        super().__init__(env)
        self._handlers: dict[str, Callable[[Report, Batch, Jurisdiction], None]] = {
            "project.proposed": self._propose,
            "project.tracking_started": self._start_tracking,
            "project.signed": self._sign,
            "project.assigned": self._assign,
            "project.corrected": self._correct,
            "project.withdrawn": self._withdraw,
            "leader.appointed": self._appoint,
        }
        self.projects = AggregateIndex(self, Project)
        self.leaders = AggregateIndex(self, Leader)

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        try:
            self._handlers[report.type](report, batch, self.jurisdictions.of(report.source))
        except NotPermitted as refused:
            record_refusal(batch, report, refused)
            raise

    # Reports ------------------------------------------------------------------------------

    def _propose(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = report.payload
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

    def _project(self, report: Report, batch: Batch, allowed: Jurisdiction) -> Project:
        code = report.payload["project_code"]
        project = batch.get(ids.project_id(code))
        if project is None:
            raise unknown_project(code)
        allowed.check_project(
            code, project.facts["region"], project.facts["industry"], "payload.project_code"
        )
        return project

    def _start_tracking(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        self._project(report, batch, allowed).start_tracking(**envelope(report))

    def _sign(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        project = self._project(report, batch, allowed)
        project.sign(**envelope(report), contract=report.payload["contract_investment"])

    def _assign(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = report.payload
        self._project(report, batch, allowed).assign(
            **envelope(report), leader=p["leader"], task_force=p["task_force"], plan=p["plan"]
        )

    def _correct(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        project = self._project(report, batch, allowed)
        changes = dict(report.payload["changes"])
        facts = {**project.facts, **changes}
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
            changes=changes,
            reason=report.payload["reason"],
            prefecture=self.ref.prefecture_of(facts["region"]).code,
            key_project=self._is_key(facts["total_investment"], facts["categories"]),
        )

    def _withdraw(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        project = self._project(report, batch, allowed)
        project.withdraw(**envelope(report), reason=report.payload["reason"])

    def _appoint(self, report: Report, batch: Batch, allowed: Jurisdiction) -> None:
        p = report.payload
        unit = p["unit"]
        allowed.check_unit(unit, "payload.unit")
        leader = batch.get(ids.leader_id(p["leader_id"]))
        if leader is not None:
            allowed.check_unit(leader.unit, "payload.leader_id")  # not another unit's leader
        fields = {
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

    def _is_key(self, total_investment: Any, categories: Iterable[str]) -> bool:
        return self.ref.key_project.is_key_project(total_investment, categories)

    def record_refusals(self, refused: list[Mapping[str, Any]]) -> int:
        """Refusals the gateway decided (a report claiming another sender's source)."""
        return record_refusals(self, refused)

    # Following tracking (the 开工 list) -------------------------------------------------------

    def wants(self, upstream: str, wire: Mapping) -> bool:
        return wire["type"] in FOLLOWED

    def process(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        for attempt in range(SAVE_ATTEMPTS):
            # receive() checked the position before the first try; a retry checks it again
            if attempt and self.position(upstream) >= tracking.notification_id:
                return  # another replica got there first
            batch = Batch(self, self.aggregates)
            followed = [e for e in events if e["type"] in FOLLOWED]
            batch.preload(ids.project_id(e["payload"]["project_code"]) for e in followed)
            for wire in followed:
                project = batch.get(ids.project_id(wire["payload"]["project_code"]))
                if project is not None:
                    derived = ids.named_id("list_changed", wire["event_id"])
                    project.follow_tracking(wire, str(derived))
            try:
                self.record_tracked(tracking, *batch.changed())
            except IntegrityError:
                continue  # a report changed one of these projects meanwhile: read them again
            batch.saved()
            return
        raise RuntimeError(f"registry: could not follow tracking after {SAVE_ATTEMPTS} tries")

    # Queries ------------------------------------------------------------------------------

    def get_project(self, project_code: str) -> dict | None:
        project = Batch(self).get(ids.project_id(project_code))
        return None if project is None else project.state()

    def project_states(self, project_codes: Iterable[str]) -> dict[str, dict]:
        """What tracking checks a run of reports against (from the index: each project is
        loaded once per change, not once per look-up)."""
        found = self.projects.get(ids.project_id(code) for code in set(project_codes))
        return {p.code: p.state() for p in found.values()}

    def leader_states(self, leader_ids: Iterable[str]) -> dict[str, dict]:
        found = self.leaders.get(ids.leader_id(key) for key in set(leader_ids))
        return {x.leader_id: _leader_state(x) for x in found.values()}

    def history(self, project_code: str) -> list[dict]:
        return self.wire_history(ids.project_id(project_code))

    def list_projects(self, list_name: str = "", region: str = "", department: str = "") -> dict:
        """A list of (二) as the office reports it: for the province, a 市州, a county or a
        responsible department (附件2); every list when `list_name` is empty."""
        scope = self._scope(region, department)
        lists = [list_name] if list_name else list(LIST_ORDER)
        rows = sorted(
            (
                self._row(p)
                for p in self.projects.current()
                if not p.withdrawn and p.stage in lists and scope.covers(p)
            ),
            key=lambda row: (LIST_ORDER.index(row["list"]), row["region"], row["project_code"]),
        )
        title_list = LIST_NAMES_ZH[list_name] if list_name else "清单"
        return {
            "title": f"{scope.name_zh}招商引资重点项目{title_list}",
            "list": list_name or None,
            "region": scope.region,
            "department": scope.department,
            "count": len(rows),
            "total_investment": str(
                sum((Decimal(r["total_investment"]) for r in rows), Decimal(0))
            ),
            "by_list": {name: sum(1 for r in rows if r["list"] == name) for name in lists},
            "projects": rows,
        }

    def five_ones_gaps(self, unit: str = "") -> dict:
        """Provincial key projects lacking any of 五个一 (二), per 市州 and per department."""
        scope = self._unit_scope(unit)
        lacking = [
            p
            for p in self.projects.current()
            if p.key_project and not p.withdrawn and p.five_ones_missing and scope.covers(p)
        ]
        by_prefecture: dict[str, list[dict]] = {}
        by_department: dict[str, list[dict]] = {}
        for project in sorted(lacking, key=lambda p: p.code):
            row = {**self._row(project), "missing": project.five_ones_missing}
            by_prefecture.setdefault(project.prefecture, []).append(row)
            for key in self.ref.industries[project.facts["industry"]].departments:
                by_department.setdefault(f"dept:{key}", []).append(row)
        five_ones = self.ref.key_project.five_ones
        return {
            "unit": unit or None,
            "five_ones": {part: five_ones.get(part, part) for part in FIVE_ONES},
            "count": len(lacking),
            "by_prefecture": [
                {"unit": code, "name": self.ref.region(code).name, "projects": rows}
                for code, rows in sorted(by_prefecture.items())
            ],
            "by_department": [
                {"unit": key, "name": self.ref.departments[key[5:]].name, "projects": rows}
                for key, rows in sorted(by_department.items())
            ],
        }

    def leaders_of(self, unit: str = "") -> list[dict]:
        """Leaders (of a unit, or all) with the major projects they planned ((二十一), (二十二))."""
        planned: dict[str, list[dict]] = {}
        for project in self.projects.current():
            if (leader := project.facts.get("planned_by_leader")) is not None:
                planned.setdefault(leader, []).append(project)
        found = []
        for leader in sorted(self.leaders.current(), key=lambda x: (x.unit, x.leader_id)):
            if unit and leader.unit != unit and leader.prefecture != unit:
                continue
            role = self.ref.leader_roles[leader.role]
            projects = sorted(planned.get(leader.leader_id, []), key=lambda p: p.code)
            found.append(
                {
                    **_leader_state(leader),
                    "role_zh": role.name,
                    "planned_project_target": role.planned_project_yi,
                    "planned_projects": [
                        {
                            **self._row(p),
                            "withdrawn": p.withdrawn,
                            # 房地产、特色小镇项目除外 (二十一)
                            "counts": not p.withdrawn
                            and role.excluded_categories.isdisjoint(p.facts["categories"]),
                        }
                        for p in projects
                    ],
                }
            )
        return found

    def refusals(self, who: str | None = None) -> list[dict]:
        return list_refusals(self, who)

    def _row(self, project: Project) -> dict:
        facts = project.facts
        region = self.ref.region(facts["region"])
        return {
            "project_code": project.code,
            "name": facts["name"],
            "list": project.stage,
            "list_zh": LIST_NAMES_ZH[project.stage],
            "region": region.code,
            "region_name": region.name,
            "prefecture": project.prefecture,
            "industry": facts["industry"],
            "industry_name": self.ref.industries[facts["industry"]].name,
            "departments": [
                f"dept:{key}" for key in self.ref.industries[facts["industry"]].departments
            ],
            "investor": facts["investor"]["name"],
            "total_investment": str(facts["total_investment"]),
            "contract_investment": (
                None if project.contract_investment is None else str(project.contract_investment)
            ),
            "key_project": project.key_project,
            "channel": facts["channel"],
            "planned_by_leader": facts.get("planned_by_leader"),
        }

    def _scope(self, region: str, department: str) -> _Scope:
        if department:
            return self._unit_scope(f"dept:{department}")
        if region and region != PROVINCE:
            return self._unit_scope(region)
        return _Scope("湖北省", PROVINCE, None, lambda p: True)

    def _unit_scope(self, unit: str) -> _Scope:
        if not unit:
            return _Scope("湖北省", PROVINCE, None, lambda p: True)
        if unit.startswith("dept:"):
            key = unit[5:]
            led = self.ref.industries_led_by(key)
            name = self.ref.departments[key].name
            return _Scope(name, None, key, lambda p: p.facts["industry"] in led)
        region = self.ref.region(unit)
        if region.is_prefecture:
            return _Scope(region.name, unit, None, lambda p: p.prefecture == unit)
        return _Scope(region.name, unit, None, lambda p: p.facts["region"] == unit)


class _Scope:
    """Which projects a list covers: the province, a 市州 (with its counties), a county, or the
    projects of a department's 附件2 industries."""

    def __init__(
        self,
        name_zh: str,
        region: str | None,
        department: str | None,
        covers: Callable[[Project], bool],
    ) -> None:
        self.name_zh, self.region, self.department, self.covers = (
            name_zh,
            region,
            department,
            covers,
        )


def _leader_state(leader: Leader) -> dict:
    return {
        "leader_id": leader.leader_id,
        "name": leader.name,
        "unit": leader.unit,
        "role": leader.role,
        "prefecture": leader.prefecture,
    }
