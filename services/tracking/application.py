"""Tracking: the use cases on milestones, trips, promotion events, tasks and matters.

Reports are applied by services/tracking/handlers.py, under the sender's jurisdiction, with
registry's state of the projects and leaders they name as tracking's own view holds it
(services/tracking/registry_view.py, kept by following registry's events: `follower`); one its
sender may not send is recorded as a refusal and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from eventsourcing.persistence import Tracking

from services.kernel.bus.consumer import Follower
from services.kernel.contract import ids
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import RefusalLog
from services.kernel.ingest.reports import Batch, ReportIntake, record_followed
from services.kernel.reference import DATA_DIR, Reference, reference
from services.kernel.reference.model import Task
from services.kernel.store.environment import ServiceApplication
from services.tracking import registry_view, review
from services.tracking.domain import ProjectMilestones, UnitRecord
from services.tracking.duties import derived_done, lalian_site
from services.tracking.evidence import evidence_checked
from services.tracking.evidence_store import open_store
from services.tracking.handlers import ReportHandlers, checked_milestones, matter_units
from services.tracking.rules import PRODUCING

THEMED_EVENTS_FILE = DATA_DIR / "themed_events.yaml"
LOG_PAGE = 2000  # notifications per read of the log (the review queue)

DONE, DONE_LATE, DUE, OVERDUE = "done", "done_late", "due", "overdue"
NOT_REPORTED, IN_PROGRESS = "not_reported", "in_progress"


def project_codes(reports: Iterable[Report]) -> set[str]:
    """The projects whose registry state a run of reports needs."""
    return _named(reports, "project_code")


def leader_keys(reports: Iterable[Report]) -> set[str]:
    """The leaders whose registry state (their unit) a run of reports needs."""
    return _named(reports, "leader_id")


def _named(reports: Iterable[Report], key: str) -> set[str]:
    """The values of `key` in the payloads that have it, whatever their report types."""
    payloads: Iterable[Mapping[str, Any]] = (r.payload for r in reports)
    return {payload[key] for payload in payloads if key in payload}


def load_themed_events(path: Path = THEMED_EVENTS_FILE) -> dict:
    """(三): the three key regions and the minimum of themed events per 市州."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    minimum = data["minimum_per_prefecture"]
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise ValueError(f"{path.name}: minimum_per_prefecture must be a positive whole number")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValueError(f"{path.name}: year must be the plan's year, such as 2020")
    return {
        "minimum": minimum,
        "year": year,
        "regions": {r["key"]: r["name"] for r in data["regions"]},
    }


class TrackingApplication(ServiceApplication):
    """Tracking's store, with its intake of milestone, trip, promotion, task and matter
    reports (`reports`) and its follower of registry (`follower`: the view of registry)."""

    name = "tracking"

    def __init__(self, env: Mapping[str, str] | None = None, ref: Reference | None = None):
        self.ref = ref or reference()
        self.themed_events = load_themed_events()
        super().__init__(env)
        handlers = ReportHandlers(self.ref)
        self.evidence = open_store(env)  # 佐证材料 (evidence.py)
        apply = evidence_checked(registry_view.judged_by_view(handlers.apply), self.evidence)
        self.reports = ReportIntake(self, apply, also_touched=checked_milestones)
        self.refusal_log = RefusalLog(self)
        self.follower = Follower(self, self._follow_registry, wants=registry_view.wants)

    def ingest(
        self, reports: Sequence[Report], context: Mapping[str, Any] | None = None
    ) -> list[dict]:
        """Apply a run of reports, answering per report; registry's state is read from the
        view unless `context` gives it (the projects' and leaders' states by key)."""
        return self.reports.ingest(reports, context)

    def _follow_registry(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        """registry's events into the view, saved with registry's position."""
        reached = partial(self.follower.position, upstream)

        def change(batch: Batch) -> None:
            registry_view.note(batch, events)

        record_followed(self, reached, tracking, change, self.reports.aggregates)

    # Queries ------------------------------------------------------------------------------

    def history(self, project_code: str) -> list[dict]:
        return self.reports.with_operators(self.wire_history(ids.milestones_id(project_code)))

    def milestones(self, project_code: str, total_investment: Decimal | None) -> dict:
        """A project's milestones (十九), cumulative capital, provisional and official views."""
        record = Batch(self).get(ids.milestones_id(project_code))
        if record is None:
            record = ProjectMilestones(project_code=project_code)  # nothing reported yet
        return record.view(total_investment)

    def leader_progress(self, leaders: list[dict], year: int) -> dict:
        """Each leader's and each unit's out-of-province trips in `year` against the yearly
        quota ((二十一), (二十二); 神农架林区's governments exempt), with the major project
        each leader planned (as registry links it), its 投产 if reported, and whether it is a
        拉练 site (二十一: a 市州 government leader's major project in production)."""
        batch = Batch(self)
        batch.preload(ids.named_id("trips", x["leader_id"]) for x in leaders)
        producing = self._production_starts(
            p["project_code"] for x in leaders for p in x.get("planned_projects", [])
        )
        rows: list[dict] = []
        units: dict[str, dict[str, Any]] = {}
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
                    "planned_projects": [
                        {
                            **project,
                            "production_started_on": producing.get(project["project_code"]),
                            "lalian_site": project["project_code"] in producing
                            and lalian_site(self.ref, leader, project),
                        }
                        for project in leader.get("planned_projects", [])
                    ],
                }
            )
            # a 市州's own departments' leaders ((二十二)) are counted apart from its government's
            unit = units.setdefault(
                f"{leader['unit']}/{role.applies_to}",
                {
                    "unit": leader["unit"],
                    "leaders_of": role.applies_to,
                    "leaders": 0,
                    "trips": 0,
                    "quota": 0,
                },
            )
            unit["leaders"] += 1
            unit["trips"] += len(trips)
            unit["quota"] += quota or 0
        for unit in units.values():
            unit["met"] = unit["trips"] >= unit["quota"]
        sites = [
            {"leader_id": row["leader_id"], "unit": row["unit"], **project}
            for row in rows
            for project in row["planned_projects"]
            if project["lalian_site"]
        ]
        return {
            "year": year,
            "leaders": rows,
            "units": sorted(units.values(), key=_unit_key),
            "lalian_sites": sites,
        }

    def _production_starts(self, project_codes: Iterable[str]) -> dict[str, date]:
        """The first counting 投产 (reported or verified) of each project that has one."""
        codes = list(dict.fromkeys(project_codes))
        batch = Batch(self)
        batch.preload(ids.milestones_id(code) for code in codes)
        found: dict[str, date] = {}
        for code in codes:
            record = batch.get(ids.milestones_id(code))
            days = [m["occurred_on"] for m in record.counting(PRODUCING)] if record else []
            if days:
                found[code] = min(days)
        return found

    def _quota_exempt(self, unit: str) -> bool:
        if unit.startswith("dept:"):
            return False
        return self.ref.prefecture_of(unit).code in self.ref.trip_quota_exempt

    def promotion_events(self, unit: str = "") -> dict:
        """(三): each 市州's themed events in 粤港澳大湾区, 长三角, 京津冀 against the minimum,
        counted within the plan's year (events of other years listed apart)."""
        codes = [unit] if unit else [p.code for p in self.ref.prefectures]
        records = self._unit_records(codes)
        key_regions = self.themed_events["regions"]
        minimum, year = self.themed_events["minimum"], self.themed_events["year"]
        rows = []
        for code in codes:
            held = records[code].promotion_events if code in records else []
            events = [e for e in held if e["occurred_on"].year == year]
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
                    "other_years": [e for e in held if e["occurred_on"].year != year],
                }
            )
        return {"key_regions": key_regions, "minimum": minimum, "year": year, "prefectures": rows}

    def task_status(
        self,
        as_of: date,
        unit: str = "",
        task_id: str = "",
        leaders: Sequence[Mapping[str, Any]] = (),
    ) -> dict:
        """附件3: per task and responsible unit, done (on time or late), due or overdue.

        A task the data tells of (tasks.yaml `known_from`: leaders' trips and major projects,
        services/tracking/duties.py) is done when `leaders` (registry's, with their planned
        projects) and their trips show it by `as_of`, reported or not; `known_from` says
        which: "report" or "data"."""
        tasks = [self.ref.tasks[task_id]] if task_id else list(self.ref.tasks.values())
        pairs = [
            (task, owner)
            for task in tasks
            for owner in sorted(self.ref.responsible_units(task.id))
            if not unit or owner == unit
        ]
        records = self._unit_records({owner for _, owner in pairs})
        derived = self._derived_done(tasks, leaders)
        rows = []
        for task, owner in pairs:
            reported = records[owner].tasks_done.get(task.id) if owner in records else None
            shown = derived.get((task.id, owner))
            shown = shown if shown is not None and shown <= as_of else None
            done_on = min((d for d in (reported, shown) if d is not None), default=None)
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
                    "known_from": None
                    if done_on is None
                    else ("report" if done_on == reported else "data"),
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
            for owner in matter_units(self.ref, matter.id, include_groups=True)
            if not unit or owner == unit
        }
        records = self._unit_records(wanted)
        rows = []
        for matter in matters:
            named = matter_units(self.ref, matter.id)
            reporting = [
                owner
                for owner in matter_units(self.ref, matter.id, include_groups=True)
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

    def _derived_done(
        self, tasks: Iterable[Task], leaders: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[str, str], date]:
        batch = Batch(self)
        batch.preload(ids.named_id("trips", x["leader_id"]) for x in leaders)
        trips: dict[str, list[tuple[date, date, str]]] = {}
        for leader in leaders:
            record = batch.get(ids.named_id("trips", leader["leader_id"]))
            trips[leader["leader_id"]] = list(record.trips) if record else []
        return derived_done(self.ref, tasks, leaders, trips)

    def refusals(self, who: str | None = None) -> list[dict]:
        return self.refusal_log.listed(who)

    def open_reports(self) -> list[dict]:
        """甄别: the reports that count for points no check has closed (services/tracking/
        review.py), read from this store's log."""
        return review.open_reports(self._wire_log())

    def _wire_log(self) -> Iterator[dict]:
        start = 1
        while (message := self.read_wire(start, None, LOG_PAGE)) is not None:
            yield from message["events"]
            start = message["last"] + 1

    def _unit_records(self, units: Iterable[str]) -> dict[str, UnitRecord]:
        batch = Batch(self)
        units = list(units)
        batch.preload(ids.named_id("unit", u) for u in units)
        found = {u: batch.get(ids.named_id("unit", u)) for u in units}
        return {u: record for u, record in found.items() if record is not None}


def _unit_key(unit: dict) -> tuple:
    return (unit["unit"].startswith("dept:"), unit["unit"], unit["leaders_of"] != "government")
