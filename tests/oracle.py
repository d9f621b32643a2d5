"""An independent count of a quarter's ranking (十九), for tests to hold the system against.

Written from docs/DECISIONS.md "The 2020 scoring: what the plan fixes, what is ours" and the 2020
default policy (services/kernel/reference/data/policy-2020.yaml), not from services.scoring: it
reads the raw reports a sender sent (all taken as accepted, in the order sent) and the region and
task tables, and nothing else of the system.

The rules, as this oracle reads them:
- Scored projects: total investment ≥ 1亿 (after corrections) and not withdrawn. A project
  counts for the 市州 of its region (a county rolls up through regions.csv `prefecture_code`).
- Official view: a milestone counts if its latest check is `milestone.verified`; a later
  `milestone.rejected` undoes that, a `milestone.retracted` undoes it for good.
- registrations / construction_starts / production_starts: projects whose first counted
  milestone of that kind falls in the quarter; capital_arrived: the counted 到资 amounts in the
  quarter; key_project_landings: provincial key projects ((二): ≥ 20亿, none of real_estate,
  characteristic_town, ppp_urban_infrastructure) whose first counted start is in the quarter.
- leader_trips: trips returned in the quarter by leaders whose unit is the 市州 itself, over a
  quarter of their yearly quotas (principal 2, investment lead 6, other 4), at most 1; 0 with
  no quota. 神农架林区 is exempt ((二十一)): it scores 10 × (its other points / 90) instead and
  does not set the best ratio.
- Points: weight × actual / best actual among the units (0 if the best is 0), 0.01 half up.
- Adjustments (policy-2020.yaml): +1 per Fortune Global 500 investor's scored project whose first
  counted start is in the quarter (at most 3); −2 per milestone retracted in the quarter; −1 per
  附件3 task of the 市州 due in the quarter and not reported done by its deadline (at most 3).
- Total = points + adjustments; ranked by total, capital, starts, production starts,
  registrations (all descending), then region code.
"""

from __future__ import annotations

import calendar
import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parents[1] / "services" / "kernel" / "reference" / "data"

REGISTRATIONS = "registrations"
CONSTRUCTION_STARTS = "construction_starts"
PRODUCTION_STARTS = "production_starts"
CAPITAL_ARRIVED = "capital_arrived"
KEY_PROJECT_LANDINGS = "key_project_landings"
LEADER_TRIPS = "leader_trips"
WEIGHTS = {
    REGISTRATIONS: Decimal(15),
    CONSTRUCTION_STARTS: Decimal(20),
    PRODUCTION_STARTS: Decimal(20),
    CAPITAL_ARRIVED: Decimal(25),
    KEY_PROJECT_LANDINGS: Decimal(10),
    LEADER_TRIPS: Decimal(10),
}
COUNTED_BY_TYPE = {
    "project.company_registered": REGISTRATIONS,
    "project.construction_started": CONSTRUCTION_STARTS,
    "project.production_started": PRODUCTION_STARTS,
}
MIN_SCORED_INVESTMENT = Decimal(1)
KEY_PROJECT_INVESTMENT = Decimal(20)
NOT_KEY_CATEGORIES = frozenset({"real_estate", "characteristic_town", "ppp_urban_infrastructure"})
YEARLY_TRIPS = {"principal": 2, "investment_lead": 6, "other": 4}
TRIP_QUOTA_EXEMPT = "429021"  # 神农架林区

FORTUNE_500_LANDING = "fortune_global_500_landing"
RETRACTED_REPORT = "retracted_report"
OVERDUE_TASK = "overdue_task"
# key -> (points per occurrence, most points per unit and quarter); bonuses add, deductions take.
BONUSES = {FORTUNE_500_LANDING: (Decimal(1), Decimal(3))}
DEDUCTIONS = {RETRACTED_REPORT: (Decimal(2), None), OVERDUE_TASK: (Decimal(1), Decimal(3))}
CENT = Decimal("0.01")


@dataclass
class UnitScore:
    """One 市州's quarter: what it did, the points each indicator earned, its total."""

    region: str
    name: str
    actuals: dict[str, Decimal]
    points: dict[str, Decimal] = field(default_factory=dict)
    adjustments: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = Decimal(0)


def expected_ranking(
    reports: Sequence[Mapping], quarter: str, prefectures: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(region code, total as "87.35") for every unit of `prefectures`, best first."""
    return [(unit.region, str(unit.total)) for unit in score_units(reports, quarter, prefectures)]


def score_units(
    reports: Sequence[Mapping], quarter: str, prefectures: Sequence[tuple[str, str]]
) -> list[UnitScore]:
    """Every unit's actuals, points, adjustments and total, in rank order."""
    first, last = quarter_bounds(quarter)
    facts = _Facts(reports, _prefecture_of())
    units = [
        UnitScore(code, name, dict.fromkeys(WEIGHTS, Decimal(0))) for code, name in prefectures
    ]
    by_code = {unit.region: unit for unit in units}
    landings_by_fortune_500: dict[str, int] = defaultdict(int)
    for project, kind, day in facts.first_counted():
        unit = by_code.get(project.prefecture)
        if unit is None or not first <= day <= last:
            continue
        unit.actuals[kind] += 1
        if kind == CONSTRUCTION_STARTS and project.is_key:
            unit.actuals[KEY_PROJECT_LANDINGS] += 1
        if kind == CONSTRUCTION_STARTS and project.fortune_global_500:
            landings_by_fortune_500[unit.region] += 1
    for project, amount, day in facts.counted_capital():
        if project.prefecture in by_code and first <= day <= last:
            by_code[project.prefecture].actuals[CAPITAL_ARRIVED] += amount
    for unit in units:
        unit.actuals[LEADER_TRIPS] = facts.trip_ratio(unit.region, first, last)
    _score(units)
    overdue = _overdue_tasks(facts, by_code, first, last)
    retracted = facts.retractions_by_prefecture(first, last)
    for unit in units:
        occurrences = {
            FORTUNE_500_LANDING: landings_by_fortune_500[unit.region],
            RETRACTED_REPORT: retracted[unit.region],
            OVERDUE_TASK: overdue[unit.region],
        }
        unit.adjustments = _adjustments(occurrences)
        unit.total = sum(unit.points.values(), Decimal(0)) + sum(unit.adjustments.values())
    return sorted(units, key=_rank_key)


def _adjustments(occurrences: Mapping[str, int]) -> dict[str, Decimal]:
    adjustments = {}
    for sign, table in ((1, BONUSES), (-1, DEDUCTIONS)):
        for key, (points, cap) in table.items():
            value = points * occurrences[key]
            adjustments[key] = _cents(sign * (value if cap is None else min(value, cap)))
    return adjustments


def quarter_bounds(quarter: str) -> tuple[date, date]:
    match = re.fullmatch(r"(\d{4})Q([1-4])", quarter)
    if match is None:
        raise ValueError(f"not a quarter: {quarter!r}")
    year, last_month = int(match[1]), int(match[2]) * 3
    return date(year, last_month - 2, 1), date(
        year, last_month, calendar.monthrange(year, last_month)[1]
    )


def _score(units: list[UnitScore]) -> None:
    for key, weight in WEIGHTS.items():
        competing = [
            u for u in units if not (key == LEADER_TRIPS and u.region == TRIP_QUOTA_EXEMPT)
        ]
        best = max((u.actuals[key] for u in competing), default=Decimal(0))
        for unit in competing:
            unit.points[key] = _cents(weight * unit.actuals[key] / best) if best else _cents(0)
    others_weight = sum(WEIGHTS.values()) - WEIGHTS[LEADER_TRIPS]
    for unit in units:
        if unit.region == TRIP_QUOTA_EXEMPT:
            others = sum(p for k, p in unit.points.items() if k != LEADER_TRIPS)
            unit.points[LEADER_TRIPS] = _cents(WEIGHTS[LEADER_TRIPS] * (others / others_weight))


def _rank_key(unit: UnitScore) -> tuple:
    a = unit.actuals
    return (
        -unit.total,
        -a[CAPITAL_ARRIVED],
        -a[CONSTRUCTION_STARTS],
        -a[PRODUCTION_STARTS],
        -a[REGISTRATIONS],
        unit.region,
    )


def _cents(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _prefecture_of() -> dict[str, str]:
    with (DATA / "regions.csv").open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {row["code"]: row["prefecture_code"] for row in rows}


def _overdue_tasks(
    facts: _Facts, units: Mapping[str, UnitScore], first: date, last: date
) -> dict[str, int]:
    """附件3 tasks of 各市、州、县人民政府 due in the quarter and not reported done by then."""
    tasks = yaml.safe_load((DATA / "tasks.yaml").read_text(encoding="utf-8"))["tasks"]
    overdue: dict[str, int] = defaultdict(int)
    for task in tasks:
        year, month = (int(x) for x in task["deadline"].split("-"))
        due = date(year, month, calendar.monthrange(year, month)[1])
        if task["responsible"] != "prefectures_and_counties" or not first <= due <= last:
            continue
        for code in units:
            done_on = facts.tasks_done.get((task["id"], code))
            if code not in task.get("exempt", []) and (done_on is None or done_on > due):
                overdue[code] += 1
    return overdue


@dataclass
class _Project:
    prefecture: str
    total: Decimal
    categories: frozenset[str]
    fortune_global_500: bool
    withdrawn: bool = False

    @property
    def scored(self) -> bool:
        return self.total >= MIN_SCORED_INVESTMENT and not self.withdrawn

    @property
    def is_key(self) -> bool:
        return self.total >= KEY_PROJECT_INVESTMENT and not self.categories & NOT_KEY_CATEGORIES


@dataclass
class _Milestone:
    type: str
    project_code: str
    occurred_on: date
    amount: Decimal | None
    verified: bool = False
    retracted_on: date | None = None


class _Facts:
    """The state the reports describe, folded in the order they were sent."""

    def __init__(self, reports: Iterable[Mapping], prefecture_of: Mapping[str, str]):
        self.prefecture_of = prefecture_of
        self.projects: dict[str, _Project] = {}
        self.milestones: dict[str, _Milestone] = {}
        self.leaders: dict[str, tuple[str, str]] = {}  # leader_id -> (unit, role)
        self.trips: list[tuple[str, date]] = []  # (leader_id, returned_on)
        self.tasks_done: dict[tuple[str, str], date] = {}  # (task, unit) -> first report
        for report in reports:
            self.apply(report)

    def apply(self, report: Mapping) -> None:
        kind, p = report["type"], report["payload"]
        day = date.fromisoformat(report["occurred_on"])
        if kind == "project.proposed":
            investor = p["investor"]
            self.projects[p["project_code"]] = _Project(
                prefecture=self.prefecture_of[p["region"]],
                total=Decimal(p["total_investment"]),
                categories=frozenset(p.get("categories", [])),
                fortune_global_500=bool(investor.get("fortune_global_500", False)),
            )
        elif kind == "project.corrected":
            self.correct(self.projects[p["project_code"]], p["changes"])
        elif kind == "project.withdrawn":
            self.projects[p["project_code"]].withdrawn = True
        elif kind in COUNTED_BY_TYPE or kind == "project.capital_arrived":
            amount = Decimal(p["amount"]) if "amount" in p else None
            self.milestones[report["event_id"]] = _Milestone(kind, p["project_code"], day, amount)
        elif kind in ("milestone.verified", "milestone.rejected", "milestone.retracted"):
            self.check(self.milestones[p["milestone_event_id"]], kind, day)
        elif kind == "leader.appointed":
            self.leaders[p["leader_id"]] = (p["unit"], p["role"])
        elif kind == "leader.trip_completed":
            self.trips.append((p["leader_id"], date.fromisoformat(p["returned_on"])))
        elif kind == "task.completed":
            self.tasks_done.setdefault((p["task_id"], p["unit"]), day)

    def correct(self, project: _Project, changes: Mapping) -> None:
        if "region" in changes:
            project.prefecture = self.prefecture_of[changes["region"]]
        if "total_investment" in changes:
            project.total = Decimal(changes["total_investment"])
        if "categories" in changes:
            project.categories = frozenset(changes["categories"])
        if "investor" in changes:
            project.fortune_global_500 = bool(changes["investor"].get("fortune_global_500"))

    @staticmethod
    def check(milestone: _Milestone, kind: str, day: date) -> None:
        if milestone.retracted_on is not None:
            return
        milestone.verified = kind == "milestone.verified"
        if kind == "milestone.retracted":
            milestone.retracted_on = day

    def counted(self) -> Iterable[tuple[_Project, _Milestone]]:
        for milestone in self.milestones.values():
            project = self.projects.get(milestone.project_code)
            if project is not None and project.scored and milestone.verified:
                yield project, milestone

    def first_counted(self) -> Iterable[tuple[_Project, str, date]]:
        """(project, indicator, day of its first counted milestone of that kind)."""
        first: dict[tuple[str, str], tuple[_Project, date]] = {}
        for project, milestone in self.counted():
            if milestone.type in COUNTED_BY_TYPE:
                key = (milestone.project_code, COUNTED_BY_TYPE[milestone.type])
                earlier = first.get(key)
                if earlier is None or milestone.occurred_on < earlier[1]:
                    first[key] = (project, milestone.occurred_on)
        return [(project, kind, day) for (_, kind), (project, day) in first.items()]

    def counted_capital(self) -> Iterable[tuple[_Project, Decimal, date]]:
        for project, milestone in self.counted():
            if milestone.amount is not None:
                yield project, milestone.amount, milestone.occurred_on

    def retractions_by_prefecture(self, first: date, last: date) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for milestone in self.milestones.values():
            project = self.projects.get(milestone.project_code)
            day = milestone.retracted_on
            if project is not None and day is not None and first <= day <= last:
                found[project.prefecture] += 1
        return found

    def trip_ratio(self, unit: str, first: date, last: date) -> Decimal:
        own = {leader for leader, (at, _) in self.leaders.items() if at == unit}
        quota = sum(YEARLY_TRIPS.get(role, 0) for at, role in self.leaders.values() if at == unit)
        if not quota:
            return Decimal(0)
        trips = sum(1 for leader, day in self.trips if leader in own and first <= day <= last)
        return min(Decimal(trips) / (Decimal(quota) / 4), Decimal(1))
