"""The reference data of the 2020 plan (鄂政办发〔2020〕22号), loaded and validated at start-up.

Regions (GB/T 2260), provincial departments, the 附件2 industries, leaders' quotas ((二十一),
(二十二)), the 附件3 tasks, the 附件4 key matters and the (二) key-project rule live in `data/`,
each file naming its source. A broken file stops the start with a `ReferenceDataError` naming
the file, the row and the problem, instead of surfacing later as a wrong ranking.

Standard library and PyYAML only, so domain code may use it.
"""

from __future__ import annotations

import calendar
import csv
import functools
import re
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"

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

# 附件3 names no department itself; it points at 附件1 and 附件2.
ATTACHMENTS_NAMING_DEPARTMENTS = ("附件1", "附件2", "附件4")

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)
_REGION_CODE = re.compile(r"42[0-9]{4}", re.ASCII)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)


class ReferenceDataError(Exception):
    """A reference data file is missing or wrong; `file`, `row` and `problem` say where and what."""

    def __init__(self, file: str, row: str | None, problem: str):
        super().__init__(f"{file}, {row}: {problem}" if row else f"{file}: {problem}")
        self.file = file
        self.row = row
        self.problem = problem


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

    def industries_led_by(self, department_key: str) -> frozenset[str]:
        return self._led_by[department_key]

    def responsible_units(self, task_id: str) -> frozenset[str]:
        """The units that owe an 附件3 task, as `task.completed` names them: a region code or
        `dept:<key>`."""
        return self._task_units[task_id]


def _code(region: Region) -> str:
    return region.code


def load_reference(directory: Path | None = None) -> Reference:
    """Load and cross-check every reference file in `directory` (default: the package's data/)."""
    directory = DATA_DIR if directory is None else Path(directory)
    regions = _load_regions(directory / "regions.csv")
    departments = _load_departments(directory / "departments.yaml")
    industries, industry_groups = _load_industries(directory / "industries.yaml", departments)
    roles, exempt = _load_leaders(directory / "leaders.yaml", regions)
    tasks = _load_tasks(directory / "tasks.yaml", regions)
    matters, matter_groups = _load_matters(directory / "matters.yaml", regions, departments)
    key_project = _load_key_project(directory / "key_project.yaml")
    _check_named_in(directory / "departments.yaml", departments, industries, matters)
    task_units = {
        t.id: _task_units(directory / "tasks.yaml", t, regions, departments, industries)
        for t in tasks.values()
    }
    return Reference(
        regions=regions,
        departments=departments,
        industries=industries,
        industry_groups=industry_groups,
        leader_roles=roles,
        trip_quota_exempt=exempt,
        tasks=tasks,
        task_units=task_units,
        matters=matters,
        matter_groups=matter_groups,
        key_project=key_project,
    )


@functools.cache
def reference() -> Reference:
    """The packaged reference data, loaded once per process."""
    return load_reference()


# Reading rows ------------------------------------------------------------------------------


class _Row:
    """One mapping read from a file; every problem names the file and the row, and a field the
    loader does not know is a problem (a typo must not pass silently)."""

    def __init__(self, file: Path, label: str, data: Any):
        self.file = file.name
        self.label = label
        if not isinstance(data, dict):
            raise self.fail(f"expected a mapping of fields, got {data!r}")
        self._data = data
        self._unread = set(data)

    def fail(self, problem: str) -> ReferenceDataError:
        return ReferenceDataError(self.file, self.label, problem)

    def value(self, name: str, default: Any = ...) -> Any:
        if name not in self._data:
            if default is ...:
                raise self.fail(f"field {name!r} is missing")
            return default
        self._unread.discard(name)
        return self._data[name]

    def text(self, name: str) -> str:
        value = self.value(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"field {name!r} must be non-empty text (quote codes), got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self._data else None

    def key(self, name: str) -> str:
        value = self.text(name)
        if not _KEY.fullmatch(value):
            raise self.fail(f"field {name!r}: {value!r} is not a key ([a-z0-9_-], ≤ 40)")
        return value

    def texts(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        values = self.value(name, [] if allow_empty else ...)
        if not isinstance(values, list) or not (values or allow_empty):
            raise self.fail(f"field {name!r} must be a non-empty list, got {values!r}")
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(f"field {name!r}: {value!r} is not non-empty text (quote codes)")
        if len(set(values)) != len(values):
            raise self.fail(f"field {name!r} lists an entry twice: {values!r}")
        return tuple(values)

    def keys(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        values = self.texts(name, allow_empty=allow_empty)
        for value in values:
            if not _KEY.fullmatch(value):
                raise self.fail(f"field {name!r}: {value!r} is not a key ([a-z0-9_-], ≤ 40)")
        return values

    def decimal(self, name: str) -> Decimal | None:
        value = self.value(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(
                f"field {name!r}: write {value!r} as a quoted decimal, floats are inexact"
            )
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(f"field {name!r}: {value!r} is not a decimal") from None
        if not amount.is_finite() or amount <= 0:
            raise self.fail(f"field {name!r}: {value!r} must be a positive amount")
        return amount

    def positive_int(self, name: str) -> int:
        value = self.value(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(f"field {name!r}: {value!r} is not a positive whole number")
        return value

    def choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise self.fail(f"field {name!r}: {value!r} is not one of {sorted(allowed)}")
        return value

    def done(self) -> None:
        if self._unread:
            raise self.fail(f"unknown field(s) {sorted(self._unread)}")


def _read_yaml(path: Path) -> _Row:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceDataError(path.name, None, "file is missing") from None
    except yaml.YAMLError as exc:
        raise ReferenceDataError(path.name, None, f"not valid YAML: {exc}") from None
    top = _Row(path, "top level", data)
    top.text("source")
    return top


def _rows(path: Path, items: Any, id_field: str, where: str = "") -> Iterator[_Row]:
    if not isinstance(items, list) or not items:
        raise ReferenceDataError(path.name, where or None, "expected a non-empty list of rows")
    for number, data in enumerate(items, start=1):
        name = data.get(id_field) if isinstance(data, dict) else None
        yield _Row(path, f"{where}row {number} ({name})" if name else f"{where}row {number}", data)


def _unique(row: _Row, seen: Container[str], value: str, what: str) -> str:
    if value in seen:
        raise row.fail(f"duplicate {what} {value!r}")
    return value


def _region_codes(row: _Row, name: str, regions: Mapping[str, Region]) -> frozenset[str]:
    codes = row.texts(name, allow_empty=True)
    for code in codes:
        if code not in regions:
            raise row.fail(f"field {name!r}: {code!r} is not a region in regions.csv")
    return frozenset(codes)


# The files ---------------------------------------------------------------------------------

_REGION_COLUMNS = ["code", "name", "level", "prefecture_code"]


def _load_regions(path: Path) -> dict[str, Region]:
    """regions.csv: `#` lines are comments (the source); then a header and one row per unit."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ReferenceDataError(path.name, None, "file is missing") from None
    if not any(line.startswith("#") for line in lines):
        raise ReferenceDataError(path.name, None, "no `#` comment naming the source")
    rows = [
        (number, next(csv.reader([line])))
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.startswith("#")
    ]
    if not rows or rows[0][1] != _REGION_COLUMNS:
        raise ReferenceDataError(path.name, "header", f"expected columns {_REGION_COLUMNS}")
    regions: dict[str, Region] = {}
    for number, cells in rows[1:]:
        row = _Row(path, f"line {number}", dict(zip(_REGION_COLUMNS, cells, strict=False)))
        if len(cells) != len(_REGION_COLUMNS):
            raise row.fail(f"expected {len(_REGION_COLUMNS)} columns, got {cells!r}")
        region = Region(
            code=_unique(row, regions, row.text("code"), "code"),
            name=row.text("name"),
            level=row.choice("level", (PREFECTURE, COUNTY)),
            prefecture_code=row.text("prefecture_code"),
        )
        if not _REGION_CODE.fullmatch(region.code):
            raise row.fail(f"code {region.code!r} is not a Hubei GB/T 2260 code (42xxxx)")
        if region.is_prefecture and region.prefecture_code != region.code:
            raise row.fail(f"a prefecture's prefecture_code must be its own code {region.code}")
        regions[region.code] = region
    for number, cells in rows[1:]:
        _check_county(path, f"line {number}", regions[cells[0]], regions)
    return regions


def _check_county(path: Path, label: str, region: Region, regions: Mapping[str, Region]) -> None:
    if region.is_prefecture:
        return
    parent = regions.get(region.prefecture_code)
    if parent is None or not parent.is_prefecture:
        problem = f"prefecture_code {region.prefecture_code!r} is not a prefecture in this file"
        raise ReferenceDataError(path.name, label, problem)
    if region.code[:4] != parent.code[:4]:
        problem = f"county {region.code} does not lie in prefecture {parent.code} (GB/T 2260)"
        raise ReferenceDataError(path.name, label, problem)


def _load_departments(path: Path) -> dict[str, Department]:
    top = _read_yaml(path)
    departments: dict[str, Department] = {}
    names: set[str] = set()
    for row in _rows(path, top.value("departments"), "key"):
        department = Department(
            key=_unique(row, departments, row.key("key"), "key"),
            name=row.text("name"),
            named_in=row.texts("named_in"),
            aliases=row.texts("aliases", allow_empty=True),
        )
        row.done()
        for name in (department.name, *department.aliases):
            names.add(_unique(row, names, name, "name"))
        unknown = set(department.named_in) - set(ATTACHMENTS_NAMING_DEPARTMENTS)
        if unknown:
            raise row.fail(f"named_in {sorted(unknown)}: only {ATTACHMENTS_NAMING_DEPARTMENTS}")
        departments[department.key] = department
    top.done()
    return departments


def _load_industries(
    path: Path, departments: Mapping[str, Department]
) -> tuple[dict[str, Industry], dict[str, str]]:
    top = _read_yaml(path)
    industries: dict[str, Industry] = {}
    groups: dict[str, str] = {}
    for group_row in _rows(path, top.value("groups"), "key"):
        group = _unique(group_row, groups, group_row.key("key"), "group")
        groups[group] = group_row.text("name")
        for row in _rows(path, group_row.value("industries"), "key", f"group {group}, "):
            industry = Industry(
                key=_unique(row, industries, row.key("key"), "industry key"),
                name=row.text("name"),
                group=group,
                departments=row.keys("departments"),
            )
            row.done()
            for key in industry.departments:
                if key not in departments:
                    raise row.fail(f"department {key!r} is not in departments.yaml")
            industries[industry.key] = industry
        group_row.done()
    top.done()
    return industries, groups


def _load_leaders(
    path: Path, regions: Mapping[str, Region]
) -> tuple[dict[str, LeaderRole], frozenset[str]]:
    top = _read_yaml(path)
    roles: dict[str, LeaderRole] = {}
    for row in _rows(path, top.value("roles"), "key"):
        role = LeaderRole(
            key=_unique(row, roles, row.key("key"), "role"),
            name=row.text("name"),
            applies_to=row.choice("applies_to", (GOVERNMENT, DEPARTMENT)),
            yearly_trips=row.positive_int("yearly_trips"),
            planned_project_yi=row.decimal("planned_project_yi"),
            section=row.text("section"),
            excluded_categories=frozenset(row.keys("excluded_categories", allow_empty=True)),
        )
        row.done()
        roles[role.key] = role
    exempt = _region_codes(top, "trip_quota_exempt", regions)
    top.done()
    return roles, exempt


_TASK_RULES = (
    PREFECTURES_AND_COUNTIES,
    DEPARTMENTS_ATTACHMENT1,
    DEPARTMENTS_ATTACHMENT2_TOP10,
    DEPARTMENTS_ATTACHMENT2,
)


def _load_tasks(path: Path, regions: Mapping[str, Region]) -> dict[str, Task]:
    top = _read_yaml(path)
    tasks: dict[str, Task] = {}
    for row in _rows(path, top.value("tasks"), "id"):
        task = Task(
            id=_unique(row, tasks, row.key("id"), "task id"),
            title=row.text("title"),
            responsible=row.choice("responsible", _TASK_RULES),
            deadline=row.text("deadline"),
            section=row.text("section"),
            exempt=_region_codes(row, "exempt", regions),
        )
        row.done()
        if not _MONTH.fullmatch(task.deadline):
            raise row.fail(f"deadline {task.deadline!r} is not a month YYYY-MM")
        tasks[task.id] = task
    top.done()
    return tasks


def _load_matters(
    path: Path, regions: Mapping[str, Region], departments: Mapping[str, Department]
) -> tuple[dict[str, Matter], dict[str, str]]:
    top = _read_yaml(path)
    due = top.value("due")
    if not isinstance(due, date):
        raise top.fail(f"due {due!r} is not a date YYYY-MM-DD")
    groups: dict[str, str] = {}
    themes: dict[str, tuple[str, ...]] = {}
    for row in _rows(path, top.value("groups"), "key"):
        group = _unique(row, groups, row.key("key"), "group")
        groups[group] = row.text("name")
        themes[group] = row.texts("themes", allow_empty=True)
        row.done()
    known_names = _names_needing_keys(regions, departments)
    matters: dict[str, Matter] = {}
    for row in _rows(path, top.value("matters"), "id"):
        matter = Matter(
            id=_unique(row, matters, row.key("id"), "matter id"),
            group=row.choice("group", groups),
            partners=row.texts("partners"),
            item=row.text("item"),
            responsible=row.texts("responsible"),
            due=due,
            theme=row.optional_text("theme"),
        )
        row.done()
        allowed = themes[matter.group]
        if (matter.theme is None and allowed) or (
            matter.theme is not None and matter.theme not in allowed
        ):
            raise row.fail(f"theme {matter.theme!r}: group {matter.group} has themes {allowed}")
        for unit in matter.responsible:
            _check_responsible(row, unit, regions, departments, known_names)
        matters[matter.id] = matter
    top.done()
    return matters, groups


def _names_needing_keys(
    regions: Mapping[str, Region], departments: Mapping[str, Department]
) -> dict[str, str]:
    """Chinese names that must be written as their key or code: departments and 市州 governments."""
    names = {name: d.key for d in departments.values() for name in (d.name, *d.aliases)}
    names.update({f"{r.name}政府": r.code for r in regions.values() if r.is_prefecture})
    return names


def _check_responsible(
    row: _Row,
    unit: str,
    regions: Mapping[str, Region],
    departments: Mapping[str, Department],
    known_names: Mapping[str, str],
) -> None:
    if unit.isascii():
        region = regions.get(unit)
        if unit not in departments and (region is None or not region.is_prefecture):
            raise row.fail(f"responsible {unit!r} is neither a department key nor a 市州 code")
    elif unit in known_names:
        raise row.fail(f"responsible {unit!r}: write it as {known_names[unit]!r}")


def _load_key_project(path: Path) -> KeyProjectRule:
    top = _read_yaml(path)
    minimum = top.decimal("min_total_investment_yi")
    if minimum is None:
        raise top.fail("min_total_investment_yi must be an amount")
    five_ones: dict[str, str] = {}
    for row in _rows(path, top.value("five_ones"), "key"):
        five_ones[_unique(row, five_ones, row.key("key"), "key")] = row.text("name")
        row.done()
    rule = KeyProjectRule(
        min_total_investment=minimum,
        excluded_categories=frozenset(top.keys("excluded_categories")),
        five_ones=MappingProxyType(five_ones),
    )
    top.done()
    return rule


def _check_named_in(
    path: Path,
    departments: Mapping[str, Department],
    industries: Mapping[str, Industry],
    matters: Mapping[str, Matter],
) -> None:
    """`named_in` for 附件2 and 附件4 must agree with industries.yaml and matters.yaml."""
    actual = {
        "附件2": {key for i in industries.values() for key in i.departments},
        "附件4": {unit for m in matters.values() for unit in m.responsible if unit in departments},
    }
    for department in departments.values():
        for attachment, keys in actual.items():
            if (department.key in keys) != (attachment in department.named_in):
                found = "is" if department.key in keys else "is not"
                problem = f"named_in disagrees: it {found} responsible for a row of {attachment}"
                raise ReferenceDataError(path.name, f"department {department.key}", problem)


def _task_units(
    path: Path,
    task: Task,
    regions: Mapping[str, Region],
    departments: Mapping[str, Department],
    industries: Mapping[str, Industry],
) -> frozenset[str]:
    rule = task.responsible
    if rule == PREFECTURES_AND_COUNTIES:
        return frozenset(regions) - task.exempt
    if rule == DEPARTMENTS_ATTACHMENT1:
        keys = {d.key for d in departments.values() if "附件1" in d.named_in}
    elif rule == DEPARTMENTS_ATTACHMENT2_TOP10:
        keys = {k for i in industries.values() if i.group == TOP10_GROUP for k in i.departments}
    else:
        keys = {k for i in industries.values() for k in i.departments}
    if not keys:
        raise ReferenceDataError(path.name, f"task {task.id}", f"rule {rule} names no department")
    return frozenset(f"dept:{key}" for key in keys)
