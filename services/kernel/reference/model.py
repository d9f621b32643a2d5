"""The reference data as values: one record type per kind of row (regions, departments,
industries, leader roles, tasks, matters, the key-project rule) and `Reference`, which holds
them all with the look-ups the services need.

Standard library only; loading.py builds a `Reference` from the data files.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from services.kernel.reference.places import HubeiPlaces

PREFECTURE = "prefecture"
COUNTY = "county"
GOVERNMENT = "government"
DEPARTMENT = "department"

# 附件3 names its responsible units by these rules, not one by one.
PREFECTURES_AND_COUNTIES = "prefectures_and_counties"  # 各市、州、县人民政府
DEPARTMENTS_ATTACHMENT1 = "departments_attachment1"  # 附件1中相关部门
DEPARTMENTS_ATTACHMENT2_TOP10 = "departments_attachment2_top10"  # 附件2中十大重点产业责任单位
DEPARTMENTS_ATTACHMENT2 = "departments_attachment2"  # 附件2中责任单位
TOP10_GROUP = "top10"  # 十大重点产业
# What the data tells of an 附件3 task's completion (tasks.yaml `known_from`).
LEADER_TRIPS, LEADER_PROJECTS = "leader_trips", "leader_projects"

# 附件3 names no department itself; it points at 附件1 and 附件2.
ATTACHMENTS_NAMING_DEPARTMENTS = ("附件1", "附件2", "附件4")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    prefecture_code: str

    @property
    def is_prefecture(self) -> bool:
        return self.level == PREFECTURE


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    named_in: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Organisation:
    """An organisation 附件4 makes responsible that is no department nor government: a sending
    system `org:<key>` of its own (organisations.yaml)."""

    key: str
    name: str


@dataclass(frozen=True)
class Industry:
    key: str
    name: str
    group: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class LeaderRole:
    key: str
    name: str
    applies_to: str
    yearly_trips: int
    planned_project_yi: Decimal | None
    section: str
    excluded_categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    responsible: str
    deadline: str
    section: str = ""
    exempt: frozenset[str] = frozenset()
    known_from: str | None = None  # LEADER_TRIPS or LEADER_PROJECTS: done when the data says so

    @property
    def deadline_date(self) -> date:
        """The last day of the deadline month: 附件3 gives months ("2020年6月")."""
        year, month = int(self.deadline[:4]), int(self.deadline[5:])
        return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Matter:
    id: str
    group: str
    partners: tuple[str, ...]
    item: str
    responsible: tuple[str, ...]
    due: date
    theme: str | None = None


@dataclass(frozen=True)
class KeyProjectRule:
    min_total_investment: Decimal
    excluded_categories: frozenset[str]
    five_ones: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def is_key_project(self, total_investment: Decimal, categories: Iterable[str]) -> bool:
        if not isinstance(total_investment, Decimal):
            raise TypeError(f"total_investment must be a Decimal in 亿元, not {total_investment!r}")
        if isinstance(categories, str):
            raise TypeError(
                f"categories must be a collection of keys, not the string {categories!r}"
            )
        return (
            total_investment >= self.min_total_investment
            and self.excluded_categories.isdisjoint(categories)
        )


class Reference:
    """Everything the plan fixes in advance, with the look-ups the services need."""

    def __init__(
        self,
        *,
        regions: Mapping[str, Region],
        departments: Mapping[str, Department],
        industries: Mapping[str, Industry],
        industry_groups: Mapping[str, str],
        leader_roles: Mapping[str, LeaderRole],
        trip_quota_exempt: frozenset[str],
        tasks: Mapping[str, Task],
        task_units: Mapping[str, frozenset[str]],
        matters: Mapping[str, Matter],
        matter_groups: Mapping[str, str],
        key_project: KeyProjectRule,
        places: HubeiPlaces,
        national_industries: Mapping[str, Industry] | None = None,
        organisations: Mapping[str, Organisation] | None = None,
    ):
        ordered = sorted(regions.values(), key=_code)
        self.regions = MappingProxyType({r.code: r for r in ordered})
        self.prefectures = tuple(r for r in ordered if r.is_prefecture)
        self.departments = MappingProxyType(dict(departments))
        self.industries = MappingProxyType(dict(industries))
        self.industry_groups = MappingProxyType(dict(industry_groups))
        self.leader_roles = MappingProxyType(dict(leader_roles))
        self.trip_quota_exempt = trip_quota_exempt
        self.tasks = MappingProxyType(dict(tasks))
        self.matters = MappingProxyType(dict(matters))
        self.matter_groups = MappingProxyType(dict(matter_groups))
        self.key_project = key_project
        self.places = places
        # GB/T 4754-2017 sections and divisions, accepted beside 附件2's industries (none led
        # by a department): `industry(key)` answers either.
        self.national_industries = MappingProxyType(dict(national_industries or {}))
        self.organisations = MappingProxyType(dict(organisations or {}))
        self._organisation_named = {o.name: o.key for o in self.organisations.values()}
        self._task_units = MappingProxyType(dict(task_units))
        counties: dict[str, list[Region]] = {p.code: [] for p in self.prefectures}
        for region in ordered:
            if not region.is_prefecture:
                counties[region.prefecture_code].append(region)
        self._counties = {code: tuple(members) for code, members in counties.items()}
        self._led_by = {
            key: frozenset(i.key for i in industries.values() if key in i.departments)
            for key in departments
        }

    def region(self, code: str) -> Region:
        return self.regions[code]

    def is_hubei_region(self, code: object) -> bool:
        return code in self.regions

    def prefecture_of(self, code: str) -> Region:
        """The 市州 a county belongs to; a 市州 is its own."""
        return self.regions[self.region(code).prefecture_code]

    def counties_of(self, prefecture_code: str) -> tuple[Region, ...]:
        self.region(prefecture_code)
        return self._counties.get(prefecture_code, ())

    def industry(self, key: str) -> Industry:
        """An 附件2 industry or a GB/T 4754-2017 section or division."""
        found = self.industries.get(key) or self.national_industries.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def is_known_industry(self, key: str) -> bool:
        return key in self.industries or key in self.national_industries

    def unit_named(self, named: str) -> str | None:
        """The reporting unit an 附件4 `responsible` entry names: `dept:<key>`, a 市州 code or
        `org:<key>`; None for a group (省直有关部门, 各市（州）政府, ...)."""
        if named in self.departments:
            return f"dept:{named}"
        if self.is_hubei_region(named):
            return named
        key = self._organisation_named.get(named)
        return None if key is None else f"org:{key}"

    def industries_led_by(self, department_key: str) -> frozenset[str]:
        return self._led_by[department_key]

    def responsible_units(self, task_id: str) -> frozenset[str]:
        """The units that owe an 附件3 task, as `task.completed` names them: a region code or
        `dept:<key>`."""
        return self._task_units[task_id]


def _code(region: Region) -> str:
    return region.code
