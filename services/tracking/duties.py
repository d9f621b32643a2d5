"""Leaders' duties known from the data: 附件3 tasks 8–11 done when the trips and projects say so,
and the 市州 leaders' major projects that reached 投产 (拉练 sites, (二十一)).

- A `leader_trips` task (地方/部门领导外出招商任务) is done for a unit once every leader of it —
  its government's for a region ((二十一)), the department's own for `dept:<key>` ((二十二)) — has
  returned from the year's quota of trips; on the day the last of them did.
- A `leader_projects` task (政府/部门领导谋划招引重大产业项目任务) is done once every such leader's
  major project — one that counts (not withdrawn, not real estate or 特色小镇, (二十一) 下同) — is
  signed (谋划招引: planned, then brought in); on the day the last of them was.
- "市（州）政府负责人谋划的重大产业项目投产后纳入省级项目拉练活动" (二十一): a 市州 government
  leader's counting major project on which 投产 was reported (and not rejected or retracted).

A unit with no leader appointed is known from its reports only. Standard library and the
reference data: services/tracking/application.py gives the leaders (registry's, with their
planned projects), their trips and the projects' production starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from services.kernel.reference import Reference
from services.kernel.reference.model import DEPARTMENT, GOVERNMENT, LEADER_TRIPS, Task


def derived_done(
    ref: Reference,
    tasks: Iterable[Task],
    leaders: Iterable[Mapping[str, Any]],
    trips: Mapping[str, list[tuple[date, date, str]]],
) -> dict[tuple[str, str], date]:
    """(task, unit) -> the day the data shows a `known_from` task done, for each one it does."""
    by_unit: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for leader in leaders:
        role = ref.leader_roles.get(leader["role"])
        if role is not None:
            by_unit.setdefault((leader["unit"], role.applies_to), []).append(leader)
    done: dict[tuple[str, str], date] = {}
    for task in tasks:
        if task.known_from is None:
            continue
        applies_to = DEPARTMENT if task.responsible.startswith("departments") else GOVERNMENT
        year = task.deadline_date.year
        for unit in ref.responsible_units(task.id):
            group = by_unit.get((unit, applies_to))
            if not group:
                continue
            days = [
                _trips_met_on(ref, leader, trips.get(leader["leader_id"], []), year)
                if task.known_from == LEADER_TRIPS
                else _project_signed_on(leader)
                for leader in group
            ]
            if all(day is not None for day in days):
                done[(task.id, unit)] = max(day for day in days if day is not None)
    return done


def _trips_met_on(
    ref: Reference, leader: Mapping[str, Any], trips: list[tuple[date, date, str]], year: int
) -> date | None:
    quota = ref.leader_roles[leader["role"]].yearly_trips
    returned = sorted(back for _, back, _ in trips if back.year == year)
    return returned[quota - 1] if len(returned) >= quota else None


def _project_signed_on(leader: Mapping[str, Any]) -> date | None:
    signed = [
        _day(project["signed_on"])
        for project in leader.get("planned_projects", [])
        if project["counts"] and project.get("signed_on")
    ]
    return min(signed, default=None)


def lalian_site(ref: Reference, leader: Mapping[str, Any], project: Mapping[str, Any]) -> bool:
    """Whether a leader's planned project joins the province's 拉练 once in production
    (二十一): a 市州 government leader's, counting as their major project."""
    role = ref.leader_roles.get(leader["role"])
    unit = leader["unit"]
    return (
        role is not None
        and role.applies_to == GOVERNMENT
        and ref.is_hubei_region(unit)
        and ref.region(unit).is_prefecture
        and bool(project["counts"])
    )


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
