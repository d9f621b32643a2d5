"""Loading the reference data files in data/ into one `Reference`, each file checked on its own
and against the others (a department named in 附件2 must lead an industry there, and so on).

A broken file stops the start with a `ReferenceDataError` naming the file, the row and the
problem, instead of surfacing later as a wrong ranking.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType

from services.kernel.reference.industries_national import load_national_industries
from services.kernel.reference.model import (
    ATTACHMENTS_NAMING_DEPARTMENTS,
    COUNTY,
    DEPARTMENT,
    DEPARTMENTS_ATTACHMENT1,
    DEPARTMENTS_ATTACHMENT2,
    DEPARTMENTS_ATTACHMENT2_TOP10,
    GOVERNMENT,
    LEADER_PROJECTS,
    LEADER_TRIPS,
    PREFECTURE,
    PREFECTURES_AND_COUNTIES,
    TOP10_GROUP,
    Department,
    Industry,
    KeyProjectRule,
    LeaderRole,
    Matter,
    Organisation,
    Reference,
    Region,
    Task,
)
from services.kernel.reference.places_loading import load_places
from services.kernel.reference.rows import (
    ReferenceDataError,
    Row,
    read_yaml,
    region_codes,
    rows_of,
    unique,
)

DATA_DIR = Path(__file__).parent / "data"

_REGION_CODE = re.compile(r"42[0-9]{4}", re.ASCII)
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)


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
    places = load_places(directory / "places.yaml", regions)
    national = load_national_industries(directory / "industries-gbt4754.yaml")
    organisations = _load_organisations(directory / "organisations.yaml", matters)
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
        places=places,
        national_industries=national,
        organisations=organisations,
    )


@functools.cache
def reference() -> Reference:
    """The packaged reference data, loaded once per process."""
    return load_reference()


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
        row = Row(path, f"line {number}", dict(zip(_REGION_COLUMNS, cells, strict=False)))
        if len(cells) != len(_REGION_COLUMNS):
            raise row.fail(f"expected {len(_REGION_COLUMNS)} columns, got {cells!r}")
        region = Region(
            code=unique(row, regions, row.text("code"), "code"),
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
    top = read_yaml(path)
    departments: dict[str, Department] = {}
    names: set[str] = set()
    for row in rows_of(path, top.value("departments"), "key"):
        department = Department(
            key=unique(row, departments, row.key("key"), "key"),
            name=row.text("name"),
            named_in=row.texts("named_in"),
            aliases=row.texts("aliases", allow_empty=True),
        )
        row.done()
        for name in (department.name, *department.aliases):
            names.add(unique(row, names, name, "name"))
        unknown = set(department.named_in) - set(ATTACHMENTS_NAMING_DEPARTMENTS)
        if unknown:
            raise row.fail(f"named_in {sorted(unknown)}: only {ATTACHMENTS_NAMING_DEPARTMENTS}")
        departments[department.key] = department
    top.done()
    return departments


def _load_industries(
    path: Path, departments: Mapping[str, Department]
) -> tuple[dict[str, Industry], dict[str, str]]:
    top = read_yaml(path)
    industries: dict[str, Industry] = {}
    groups: dict[str, str] = {}
    for group_row in rows_of(path, top.value("groups"), "key"):
        group = unique(group_row, groups, group_row.key("key"), "group")
        groups[group] = group_row.text("name")
        for row in rows_of(path, group_row.value("industries"), "key", f"group {group}, "):
            industry = Industry(
                key=unique(row, industries, row.key("key"), "industry key"),
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
    top = read_yaml(path)
    roles: dict[str, LeaderRole] = {}
    for row in rows_of(path, top.value("roles"), "key"):
        role = LeaderRole(
            key=unique(row, roles, row.key("key"), "role"),
            name=row.text("name"),
            applies_to=row.choice("applies_to", (GOVERNMENT, DEPARTMENT)),
            yearly_trips=row.positive_int("yearly_trips"),
            planned_project_yi=row.decimal("planned_project_yi"),
            section=row.text("section"),
            excluded_categories=frozenset(row.keys("excluded_categories", allow_empty=True)),
        )
        row.done()
        roles[role.key] = role
    exempt = region_codes(top, "trip_quota_exempt", regions)
    top.done()
    return roles, exempt


_TASK_RULES = (
    PREFECTURES_AND_COUNTIES,
    DEPARTMENTS_ATTACHMENT1,
    DEPARTMENTS_ATTACHMENT2_TOP10,
    DEPARTMENTS_ATTACHMENT2,
)


def _load_tasks(path: Path, regions: Mapping[str, Region]) -> dict[str, Task]:
    top = read_yaml(path)
    tasks: dict[str, Task] = {}
    for row in rows_of(path, top.value("tasks"), "id"):
        task = Task(
            id=unique(row, tasks, row.key("id"), "task id"),
            title=row.text("title"),
            responsible=row.choice("responsible", _TASK_RULES),
            deadline=row.text("deadline"),
            section=row.text("section"),
            exempt=region_codes(row, "exempt", regions),
            known_from=row.optional_text("known_from"),
        )
        row.done()
        if task.known_from not in (None, LEADER_TRIPS, LEADER_PROJECTS):
            raise row.fail(f"known_from {task.known_from!r}: {LEADER_TRIPS} or {LEADER_PROJECTS}")
        if not _MONTH.fullmatch(task.deadline):
            raise row.fail(f"deadline {task.deadline!r} is not a month YYYY-MM")
        tasks[task.id] = task
    top.done()
    return tasks


def _load_matters(
    path: Path, regions: Mapping[str, Region], departments: Mapping[str, Department]
) -> tuple[dict[str, Matter], dict[str, str]]:
    top = read_yaml(path)
    due = top.value("due")
    if not isinstance(due, date):
        raise top.fail(f"due {due!r} is not a date YYYY-MM-DD")
    groups: dict[str, str] = {}
    themes: dict[str, tuple[str, ...]] = {}
    for row in rows_of(path, top.value("groups"), "key"):
        group = unique(row, groups, row.key("key"), "group")
        groups[group] = row.text("name")
        themes[group] = row.texts("themes", allow_empty=True)
        row.done()
    known_names = _names_needing_keys(regions, departments)
    matters: dict[str, Matter] = {}
    for row in rows_of(path, top.value("matters"), "id"):
        matter = Matter(
            id=unique(row, matters, row.key("id"), "matter id"),
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
    row: Row,
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


def _load_organisations(path: Path, matters: Mapping[str, Matter]) -> dict[str, Organisation]:
    """Each organisation is named, in the seed's words, among some 附件4 item's responsible."""
    top = read_yaml(path)
    named = {unit for matter in matters.values() for unit in matter.responsible}
    organisations: dict[str, Organisation] = {}
    for row in rows_of(path, top.value("organisations"), "key"):
        organisation = Organisation(
            key=unique(row, organisations, row.key("key"), "key"), name=row.text("name")
        )
        row.done()
        if organisation.name not in named:
            raise row.fail(f"{organisation.name!r} is responsible for no item of matters.yaml")
        organisations[organisation.key] = organisation
    top.done()
    return organisations


def _load_key_project(path: Path) -> KeyProjectRule:
    top = read_yaml(path)
    minimum = top.decimal("min_total_investment_yi")
    if minimum is None:
        raise top.fail("min_total_investment_yi must be an amount")
    five_ones: dict[str, str] = {}
    for row in rows_of(path, top.value("five_ones"), "key"):
        five_ones[unique(row, five_ones, row.key("key"), "key")] = row.text("name")
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
