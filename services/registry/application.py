"""Registry: the use cases on projects and leaders, in simple values.

Reports are applied by services/registry/handlers.py, under the sender's jurisdiction; one it may
not send is recorded as a refusal and changes nothing. Registry also follows tracking's events,
exactly once in effect like scoring, to keep the 开工 list (二): a project moves onto it with its
first construction start and off it when that start is rejected or retracted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from services.kernel.bus.consumer import Follower
from services.kernel.contract import ids
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import RefusalLog, record_refusals
from services.kernel.ingest.reports import Batch, ReportIntake, record_followed
from services.kernel.reference import Reference, reference
from services.kernel.store.environment import ServiceApplication, event_topics
from services.registry.domain import Leader, Project
from services.registry.handlers import ReportHandlers
from services.registry.rules import FIVE_ONES, LIST_NAMES_ZH, LIST_ORDER, START_REPORT, START_UNDONE

FOLLOWED = frozenset({START_REPORT, "milestone.verified", *START_UNDONE})
PROVINCE = "420000"  # 湖北省: the whole province, as a list's scope
PAGE = 1000


def changes_start_list(upstream: str, wire: Mapping) -> bool:
    """Tracking's events that move a project onto or off the 开工 list."""
    return wire["type"] in FOLLOWED


class AggregateIndex:
    """Every aggregate of one class, kept current by reading the store's notification log from
    where it last stopped; any replica sees what any other stored."""

    def __init__(self, app: ServiceApplication, aggregate_class: type[Aggregate]) -> None:
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
                member_id = cast(UUID, n.originator_id)  # an Aggregate's id is a UUID
                member = self.members.get(member_id)
                version = 0 if member is None else member.version
                if n.originator_version == version + 1 and member_id not in behind:
                    # the topics are the aggregate class's own events, which mutate it
                    event = cast(Aggregate.Event, self.app.mapper.to_domain_event(n))
                    self.members[member_id] = event.mutate(member)
                elif n.originator_version > version:
                    behind.add(member_id)
            self.position = notifications[-1].id
        if behind:
            batch = Batch(self.app)
            batch.preload(behind)
            self.members.update({i: batch.get(i) for i in behind})


class RegistryApplication(ServiceApplication):
    """Registry's store, with its intake of project and leader reports (`reports`) and its
    follower of tracking (`follower`)."""

    name = "registry"

    def __init__(self, env: Mapping[str, str] | None = None, ref: Reference | None = None):
        self.ref = ref or reference()
        super().__init__(env)
        self.reports = ReportIntake(self, ReportHandlers(self.ref).apply)
        self.refusal_log = RefusalLog(self)
        self.follower = Follower(self, self._follow_tracking, wants=changes_start_list)
        self.projects = AggregateIndex(self, Project)
        self.leaders = AggregateIndex(self, Leader)

    def ingest(
        self, reports: Sequence[Report], context: Mapping[str, Any] | None = None
    ) -> list[dict]:
        """Apply a run of project and leader reports, answering per report."""
        return self.reports.ingest(reports, context)

    def record_refusals(self, refused: Iterable[Mapping[str, Any]]) -> int:
        """Refusals the gateway decided (a report claiming another sender's source)."""
        return record_refusals(self, refused)

    # Following tracking (the 开工 list) -------------------------------------------------------

    def _follow_tracking(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        followed = [e for e in events if e["type"] in FOLLOWED]

        def change(batch: Batch) -> None:
            batch.preload(ids.project_id(e["payload"]["project_code"]) for e in followed)
            for wire in followed:
                project = batch.get(ids.project_id(wire["payload"]["project_code"]))
                if project is not None:
                    derived = ids.named_id("list_changed", wire["event_id"])
                    project.follow_tracking(wire, str(derived))

        reached = partial(self.follower.position, upstream)
        record_followed(self, reached, tracking, change, self.reports.aggregates)

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
        return self.reports.with_operators(self.wire_history(ids.project_id(project_code)))

    def list_projects(
        self, list_name: str = "", region: str = "", department: str = "", register: bool = False
    ) -> dict:
        """A list of (二) as the office reports it: for the province, a 市州, a county or a
        responsible department (附件2); every list when `list_name` is empty.

        The lists hold key projects (二): the province's and a department's the provincial key
        projects (derived: 20亿元 and more, exclusions), a 市州's or county's those its
        government designated its own (project.designated). `register`: every project of the
        scope instead, key or not (the office's whole register, 招商引资项目库).
        """
        scope = self._scope(region, department)
        lists = [list_name] if list_name else list(LIST_ORDER)
        rows = sorted(
            (
                self._row(p)
                for p in self.projects.current()
                if not p.withdrawn
                and p.stage in lists
                and scope.covers(p)
                and (register or self._on_lists_of(scope, p))
            ),
            key=lambda row: (LIST_ORDER.index(row["list"]), row["region"], row["project_code"]),
        )
        title_list = LIST_NAMES_ZH[list_name] if list_name else "清单"
        title = f"招商引资项目库（{title_list}）" if register else f"招商引资重点项目{title_list}"
        return {
            "title": f"{scope.name_zh}{title}",
            "list": list_name or None,
            "register": register,
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
        """Key projects (provincial, or designated by a 市州 or county) lacking any of 五个一
        (二), per 市州 and per department."""
        scope = self._unit_scope(unit)
        lacking = [
            p
            for p in self.projects.current()
            if p.is_key_anywhere and not p.withdrawn and p.five_ones_missing and scope.covers(p)
        ]
        by_prefecture: dict[str, list[dict]] = {}
        by_department: dict[str, list[dict]] = {}
        for project in sorted(lacking, key=lambda p: p.code):
            row = {**self._row(project), "missing": project.five_ones_missing}
            by_prefecture.setdefault(project.prefecture, []).append(row)
            for key in self.ref.industry(project.facts["industry"]).departments:
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
        planned: dict[str, list[Project]] = {}
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
                            "signed_on": p.signed_on,
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
        return self.refusal_log.listed(who)

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
            "industry_name": self.ref.industry(facts["industry"]).name,
            "departments": [
                f"dept:{key}" for key in self.ref.industry(facts["industry"]).departments
            ],
            "investor": facts["investor"]["name"],
            "total_investment": str(facts["total_investment"]),
            "contract_investment": (
                None if project.contract_investment is None else str(project.contract_investment)
            ),
            "key_project": project.key_project,
            "designated_by": list(project.designated_by),
            "channel": facts["channel"],
            "planned_by_leader": facts.get("planned_by_leader"),
        }

    @staticmethod
    def _on_lists_of(scope: _Scope, project: Project) -> bool:
        """Whether a project is on the lists of (二) a scope keeps: the province's and the
        departments' hold provincial key projects, a 市州's or county's its own key projects."""
        if scope.region is None or scope.region == PROVINCE:
            return project.key_project
        return scope.region in project.designated_by

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
