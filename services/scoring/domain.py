"""Scoring's domain: the scoring policy, the facts projection and the quarterly ranking (十九).

Standard library and eventsourcing.domain only: the policy arrives as a mapping (the policy
file's content), the facts as wire events of the upstream services, the 市州 and the trip quotas
as arguments. A ranking
is a pure function of (events known at a moment, policy in force), so rebuilding it from the
same events gives the same bytes (DESIGN §5.6).

Arithmetic is exact `Decimal` in one fixed context; each indicator's points, each bonus and each
deduction are rounded to 0.01 (ROUND_HALF_UP) once, where they are computed, and the total is
their exact sum.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from types import MappingProxyType
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.calendar import SHANGHAI

# The indicators (十九) names, by the keys a policy weights them under.
REGISTRATIONS = "registrations"
CONSTRUCTION_STARTS = "construction_starts"
PRODUCTION_STARTS = "production_starts"
CAPITAL_ARRIVED = "capital_arrived"
KEY_PROJECT_LANDINGS = "key_project_landings"
LEADER_TRIPS = "leader_trips"
MEASURES = (
    REGISTRATIONS,
    CONSTRUCTION_STARTS,
    PRODUCTION_STARTS,
    CAPITAL_ARRIVED,
    KEY_PROJECT_LANDINGS,
    LEADER_TRIPS,
)
COUNTED_MEASURES = frozenset(
    {REGISTRATIONS, CONSTRUCTION_STARTS, PRODUCTION_STARTS, KEY_PROJECT_LANDINGS}
)

# Bonuses and deductions a policy may price.
FORTUNE_GLOBAL_500_LANDING = "fortune_global_500_landing"
RETRACTED_REPORT = "retracted_report"
OVERDUE_TASK = "overdue_task"
BONUS_KEYS = frozenset({FORTUNE_GLOBAL_500_LANDING})
DEDUCTION_KEYS = frozenset({RETRACTED_REPORT, OVERDUE_TASK})

RELATIVE, TARGET = "relative", "target"
TOTAL, REGION = "total", "region"

# Milestone kinds and statuses, as tracking reports them.
REGISTERED = "registered"
STARTED = "construction_started"
PRODUCING = "production_started"
CAPITAL = "capital_arrived"
REPORTED, VERIFIED, REJECTED, RETRACTED = "reported", "verified", "rejected", "retracted"

_CENT = Decimal("0.01")
_CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class ScoringError(ValueError):
    """A broken rule, naming the field, the value and the rule."""

    def __init__(self, field: str, value: Any, rule: str, explanation: str):
        super().__init__(f"{field} = {value!r}: {rule} ({explanation})")
        self.field, self.value, self.rule = field, value, rule


class PolicyError(ScoringError):
    """The policy data breaks a rule of its own shape."""


class FactsError(ScoringError):
    """A wire event scoring needs lacks a field it needs, or has it in the wrong form."""


# Quarters ----------------------------------------------------------------------------------


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter such as "2020Q3"."""
    match = _QUARTER.match(quarter) if isinstance(quarter, str) else None
    if match is None:
        raise ScoringError("quarter", quarter, "quarter_format", 'a quarter reads "2020Q3"')
    year, number = int(match[1]), int(match[2])
    last_month = number * 3
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, last_month - 2, 1), date(year, last_month, last_day)


def previous_quarter(quarter: str) -> str:
    first_day, _ = quarter_bounds(quarter)
    return quarter_of(first_day - timedelta(days=1))


def cut_off(quarter: str, policy: Policy) -> date:
    """The last day on which a report still counts for the quarter's official ranking."""
    return quarter_bounds(quarter)[1] + timedelta(days=policy.cut_off_days)


def cut_off_moment(quarter: str, policy: Policy) -> datetime:
    """The last instant of the cut-off day in Asia/Shanghai: a `recorded_by` for rank_quarter."""
    return datetime.combine(cut_off(quarter, policy), time.max, tzinfo=SHANGHAI)


def quarter_close(facts: Facts, quarter: str, policy: Policy) -> datetime:
    """The moment reporting for a quarter closes: its official ranking counts what was recorded
    by then; what comes later is late.

    That is the end of the cut-off day. A quarter nothing was reported about until after its
    cut-off (loaded after the fact: a migration, the demo) gets the policy's cut-off days
    counted from the day its first report was recorded instead.
    """
    deadline = cut_off_moment(quarter, policy)
    first = facts.first_recorded(quarter)
    if first is None or first <= deadline:
        return deadline
    day = first.astimezone(SHANGHAI).date() + timedelta(days=policy.cut_off_days)
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


# Policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    name_zh: str
    weight: Decimal
    scoring: str  # RELATIVE or TARGET
    cap: Decimal | None = None  # TARGET only: the most of the weight a unit can earn
    targets: Mapping[str, Mapping[str, Decimal]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # unit code -> quarter -> target

    def target_for(self, unit: str, quarter: str) -> Decimal | None:
        return self.targets.get(unit, {}).get(quarter)

    def points_against(self, target: Decimal, actual: Decimal) -> Decimal:
        ratio = actual / target
        return self.weight * (ratio if self.cap is None else min(ratio, self.cap))


@dataclass(frozen=True)
class Adjustment:
    """A bonus or a deduction: points per occurrence, at most `cap` per unit and quarter."""

    key: str
    name_zh: str
    points: Decimal
    cap: Decimal | None = None


@dataclass(frozen=True)
class RewardTier:
    name_zh: str
    first_rank: int
    last_rank: int


@dataclass(frozen=True)
class Policy:
    version: str
    indicators: tuple[Indicator, ...]
    bonuses: tuple[Adjustment, ...]
    deductions: tuple[Adjustment, ...]
    tie_break: tuple[str, ...]
    cut_off_days: int
    summon_bottom: int
    summon_after_quarters: int  # consecutive quarters in the bottom before a summons
    reward_tiers: tuple[RewardTier, ...]
    min_project_investment: Decimal  # 亿元
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        data = _fields(data, "", _POLICY_REQUIRED, _POLICY_OPTIONAL)
        indicators = tuple(
            _indicator(item, f"indicators[{i}]")
            for i, item in enumerate(_items(data["indicators"], "indicators"))
        )
        check_indicators(indicators)
        summons = _fields(data["summons"], "summons", ("bottom", "after_quarters"), ())
        return cls(
            version=_text(data["version"], "version"),
            indicators=indicators,
            bonuses=_adjustments(data.get("bonuses", []), "bonuses", BONUS_KEYS),
            deductions=_adjustments(data.get("deductions", []), "deductions", DEDUCTION_KEYS),
            tie_break=check_tie_break(data["tie_break"], indicators),
            cut_off_days=_count(data["cut_off_days"], "cut_off_days", minimum=0),
            summon_bottom=_count(summons["bottom"], "summons.bottom", minimum=0),
            summon_after_quarters=_count(
                summons["after_quarters"], "summons.after_quarters", minimum=1
            ),
            reward_tiers=check_reward_tiers(data["reward_tiers"]),
            min_project_investment=_decimal(
                data["min_project_investment"], "min_project_investment", positive=False
            ),
            source=_text(data["source"], "source") if "source" in data else "",
        )

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)

    def tier_of(self, rank: int) -> str | None:
        return next(
            (t.name_zh for t in self.reward_tiers if t.first_rank <= rank <= t.last_rank), None
        )


_POLICY_REQUIRED = (
    "version",
    "indicators",
    "tie_break",
    "cut_off_days",
    "summons",
    "reward_tiers",
    "min_project_investment",
)
_POLICY_OPTIONAL = ("source", "bonuses", "deductions")


def check_indicators(indicators: Sequence[Indicator]) -> None:
    keys = [i.key for i in indicators]
    for position, key in enumerate(keys):
        if key in keys[:position]:
            raise PolicyError(f"indicators[{position}].key", key, "unique_key", "listed twice")
    total = sum((i.weight for i in indicators), Decimal(0))
    if total != 100:
        raise PolicyError(
            "indicators[].weight", str(total), "weights_sum_to_100", "the weights must sum to 100"
        )


def check_tie_break(value: Any, indicators: Sequence[Indicator]) -> tuple[str, ...]:
    keys = tuple(_text(k, f"tie_break[{i}]") for i, k in enumerate(_items(value, "tie_break")))
    allowed = {TOTAL, REGION} | {i.key for i in indicators}
    for position, key in enumerate(keys):
        if key not in allowed:
            raise PolicyError(
                f"tie_break[{position}]", key, "known_key", f"one of {sorted(allowed)}"
            )
        if key in keys[:position]:
            raise PolicyError(f"tie_break[{position}]", key, "unique_key", "listed twice")
    if not keys or keys[0] != TOTAL:
        raise PolicyError("tie_break[0]", keys[:1], "starts_with_total", "rank by total first")
    if keys[-1] != REGION:
        raise PolicyError(
            f"tie_break[{len(keys) - 1}]",
            keys[-1],
            "ends_with_region",
            "the region code must come last so that the order is total",
        )
    return keys


def check_reward_tiers(value: Any) -> tuple[RewardTier, ...]:
    tiers = []
    for i, item in enumerate(_items(value, "reward_tiers")):
        data = _fields(item, f"reward_tiers[{i}]", ("name_zh", "ranks"), ())
        ranks = _items(data["ranks"], f"reward_tiers[{i}].ranks")
        if len(ranks) != 2:
            raise PolicyError(
                f"reward_tiers[{i}].ranks", ranks, "rank_range", "[first rank, last rank]"
            )
        first = _count(ranks[0], f"reward_tiers[{i}].ranks[0]", minimum=1)
        last = _count(ranks[1], f"reward_tiers[{i}].ranks[1]", minimum=first)
        if tiers and first <= tiers[-1].last_rank:
            raise PolicyError(
                f"reward_tiers[{i}].ranks", ranks, "tiers_in_order", "after the previous tier"
            )
        tiers.append(RewardTier(_text(data["name_zh"], f"reward_tiers[{i}].name_zh"), first, last))
    return tuple(tiers)


def _indicator(item: Any, path: str) -> Indicator:
    data = _fields(item, path, ("key", "name_zh", "weight", "scoring"), ("cap", "targets"))
    key = _text(data["key"], f"{path}.key")
    if key not in MEASURES:
        raise PolicyError(f"{path}.key", key, "known_indicator", f"one of {list(MEASURES)}")
    scoring = data["scoring"]
    if scoring not in (RELATIVE, TARGET):
        raise PolicyError(
            f"{path}.scoring", scoring, "known_scoring", f"{RELATIVE!r} or {TARGET!r}"
        )
    if scoring == TARGET and "cap" not in data:
        raise PolicyError(f"{path}.cap", None, "cap_required", "target scoring needs a cap")
    if scoring == RELATIVE and ("cap" in data or "targets" in data):
        raise PolicyError(
            f"{path}.scoring", scoring, "relative_has_no_targets", "cap and targets need 'target'"
        )
    cap = _decimal(data["cap"], f"{path}.cap") if "cap" in data else None
    return Indicator(
        key=key,
        name_zh=_text(data["name_zh"], f"{path}.name_zh"),
        weight=_decimal(data["weight"], f"{path}.weight"),
        scoring=scoring,
        cap=cap,
        targets=_targets(data.get("targets", {}), f"{path}.targets"),
    )


def _targets(value: Any, path: str) -> Mapping[str, Mapping[str, Decimal]]:
    units = _fields(value, path, (), None)
    targets = {}
    for unit, by_quarter in units.items():
        quarters = _fields(by_quarter, f"{path}.{unit}", (), None)
        for quarter in quarters:
            if not isinstance(quarter, str) or not _QUARTER.match(quarter):
                raise PolicyError(
                    f"{path}.{unit}.{quarter}", quarter, "quarter_format", 'like "2020Q3"'
                )
        targets[str(unit)] = MappingProxyType(
            {q: _decimal(t, f"{path}.{unit}.{q}") for q, t in quarters.items()}
        )
    return MappingProxyType(targets)


def _adjustments(value: Any, path: str, known: frozenset[str]) -> tuple[Adjustment, ...]:
    adjustments = []
    for i, item in enumerate(_items(value, path)):
        data = _fields(item, f"{path}[{i}]", ("key", "name_zh", "points"), ("cap",))
        key = _text(data["key"], f"{path}[{i}].key")
        if key not in known or key in {a.key for a in adjustments}:
            raise PolicyError(
                f"{path}[{i}].key", key, "known_unique_key", f"once each, one of {sorted(known)}"
            )
        cap = data.get("cap")
        adjustments.append(
            Adjustment(
                key=key,
                name_zh=_text(data["name_zh"], f"{path}[{i}].name_zh"),
                points=_decimal(data["points"], f"{path}[{i}].points"),
                cap=None if cap is None else _decimal(cap, f"{path}[{i}].cap"),
            )
        )
    return tuple(adjustments)


def _fields(
    value: Any, path: str, required: Sequence[str], optional: Sequence[str] | None
) -> Mapping:
    """A mapping with the required keys and, unless `optional` is None, no others."""
    where = path or "policy"
    if not isinstance(value, Mapping):
        raise PolicyError(where, value, "mapping", "a mapping of keys to values")
    for key in required:
        if key not in value:
            raise PolicyError(_at(path, key), None, "required", "missing")
    if optional is not None:
        for key in value:
            if key not in required and key not in optional:
                allowed = sorted([*required, *optional])
                raise PolicyError(_at(path, key), value[key], "known_key", f"one of {allowed}")
    return value


def _at(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _items(value: Any, path: str) -> list:
    if not isinstance(value, list | tuple):
        raise PolicyError(path, value, "list", "a list")
    return list(value)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(path, value, "text", "a non-empty string")
    return value


def _count(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(path, value, "whole_number", f"a whole number ≥ {minimum}")
    return value


def _decimal(value: Any, path: str, positive: bool = True) -> Decimal:
    """Whole numbers or decimal strings; floats are refused (they lose cents)."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise PolicyError(path, value, "decimal", 'a whole number or a decimal string, "2.5"')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PolicyError(path, value, "decimal", "not a decimal number") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        rule = "greater than 0" if positive else "0 or more"
        raise PolicyError(path, value, "decimal_range", rule)
    return number


# Facts -------------------------------------------------------------------------------------
# Immutable tuples rather than frozen dataclasses: a rebuild makes hundreds of thousands.


class ProjectFacts(NamedTuple):
    code: str
    prefecture: str  # the 市州 its region belongs to
    total_investment: Decimal  # 亿元
    key_project: bool  # provincial key project (二), derived by registry
    fortune_global_500: bool
    withdrawn: bool = False


class MilestoneFacts(NamedTuple):
    event_id: str
    kind: str  # REGISTERED, STARTED, PRODUCING or CAPITAL
    project_code: str
    occurred_on: date
    amount: Decimal | None  # 亿元, capital arrivals only
    recorded_at: datetime
    status: str = REPORTED
    retracted_on: date | None = None


class LeaderFacts(NamedTuple):
    leader_id: str
    unit: str
    role: str
    prefecture: str | None


class TripFacts(NamedTuple):
    event_id: str
    leader_id: str
    returned_on: date
    recorded_at: datetime


class _Entry(NamedTuple):
    """One applied wire event, reduced to what scoring reads (a tuple: a million of them are
    made in a rebuild, several times faster than a frozen dataclass)."""

    service: str
    notification_id: int
    type: str
    event_id: str
    occurred_on: date
    recorded_at: datetime
    data: Mapping[str, Any]


class Facts:
    """What the upstream services have said, as scoring needs it.

    Keeps every applied event (reduced), keyed by (service, notification id): applying one
    twice changes nothing, and the state is folded in notification order per service, so it
    depends on which events were applied, never on the order they arrived in.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], _Entry] = {}
        self._state: _State | None = None
        self._latest: datetime | None = None  # the latest recorded_at applied
        self._by_quarter: dict[str, list[_Entry]] | None = None  # by business date
        self._summaries: dict[frozenset[str], _MilestoneSummary] = {}  # by statuses counted

    @classmethod
    def _of(cls, entries: Iterable[_Entry]) -> Facts:
        facts = cls()
        for entry in entries:
            facts._add(entry)
        return facts

    def _add(self, entry: _Entry) -> None:
        self._entries[(entry.service, entry.notification_id)] = entry
        if self._latest is None or entry.recorded_at > self._latest:
            self._latest = entry.recorded_at
        self._state = self._by_quarter = None
        self._summaries = {}

    def apply(self, service: str, wire_event: Mapping[str, Any]) -> bool:
        """Takes in one wire event; True if it was new and scoring reads its type."""
        number = wire_event.get("notification_id")
        if number.__class__ is not int:  # bool is an int, but not a notification id
            raise FactsError("notification_id", number, "whole_number", "a whole number")
        if (service, number) in self._entries:
            return False
        entry = _read_entry(service, number, wire_event)
        if entry is None:
            return False
        self._add(entry)
        return True

    def as_of(self, recorded_by: datetime) -> Facts:
        """The facts as they stood at a moment: only events recorded by then."""
        moment = _aware(recorded_by, "recorded_by")
        if self._latest is None or self._latest <= moment:
            return self  # nothing was recorded after the moment
        return Facts._of(e for e in self._entries.values() if e.recorded_at <= moment)

    def _about(self, quarter: str) -> list[_Entry]:
        """The reports whose business date is in the quarter."""
        quarter_bounds(quarter)  # refuses a malformed quarter
        if self._by_quarter is None:
            self._by_quarter = {}
            for entry in self._entries.values():
                self._by_quarter.setdefault(quarter_of(entry.occurred_on), []).append(entry)
        return self._by_quarter.get(quarter, [])

    def first_recorded(self, quarter: str) -> datetime | None:
        """When the first report about the quarter (its business date in it) was recorded."""
        return min((e.recorded_at for e in self._about(quarter)), default=None)

    def late(
        self,
        quarter: str,
        recorded_by: datetime | None = None,
        after: Mapping[str, int] | None = None,
    ) -> list[dict]:
        """Reports about the quarter recorded after the moment (or, with `after`, beyond an
        upstream position: after a publication): kept, never counted in its official
        ranking, listed with the 市州 they concern where known."""
        moment = None if recorded_by is None else _aware(recorded_by, "recorded_by")

        def is_late(e: _Entry) -> bool:
            return (moment is not None and e.recorded_at > moment) or (
                after is not None and e.notification_id > after.get(e.service, 0)
            )

        late = sorted(
            (e for e in self._about(quarter) if is_late(e)),
            key=lambda e: (e.recorded_at, e.service, e.notification_id),
        )
        return [
            {
                "service": e.service,
                "notification_id": e.notification_id,
                "type": e.type,
                "event_id": e.event_id,
                "region": self._region_of(e),
                "occurred_on": e.occurred_on.isoformat(),
                "recorded_at": _utc(e.recorded_at),
            }
            for e in late
        ]

    def _region_of(self, entry: _Entry) -> str | None:
        state = self._folded()
        data = entry.data
        if "milestone_event_id" in data:
            milestone = state.milestones.get(data["milestone_event_id"])
            data = {"project_code": milestone.project_code} if milestone else {}
        if "project_code" in data:
            project = state.projects.get(data["project_code"])
            return project.prefecture if project else None
        if "leader_id" in data:
            leader = state.leaders.get(data["leader_id"])
            return leader.prefecture if leader else None
        return data.get("unit")

    def milestone_summary(self, counting: frozenset[str]) -> _MilestoneSummary:
        """What every quarter's ranking needs of the milestones, worked out once."""
        if counting not in self._summaries:
            summary = _MilestoneSummary({}, {}, {})
            for m in self._folded().milestones.values():
                if m.retracted_on is not None:
                    key = (m.project_code, quarter_of(m.retracted_on))
                    summary.retracted[key] = summary.retracted.get(key, 0) + 1
                if m.status not in counting:
                    continue
                if m.kind == CAPITAL:
                    key = (m.project_code, quarter_of(m.occurred_on))
                    summary.capital[key] = summary.capital.get(key, 0) + (m.amount or 0)
                else:
                    key = (m.project_code, m.kind)
                    known = summary.first.get(key)
                    summary.first[key] = (
                        m.occurred_on if known is None else min(known, m.occurred_on)
                    )
            self._summaries[counting] = summary
        return self._summaries[counting]

    @property
    def tasks_done(self) -> Mapping[tuple[str, str], date]:
        """(附件3 task, unit) -> the earliest reported completion."""
        return MappingProxyType(self._folded().tasks_done)

    @property
    def projects(self) -> Mapping[str, ProjectFacts]:
        return MappingProxyType(self._folded().projects)

    @property
    def milestones(self) -> Mapping[str, MilestoneFacts]:
        return MappingProxyType(self._folded().milestones)

    @property
    def leaders(self) -> Mapping[str, LeaderFacts]:
        return MappingProxyType(self._folded().leaders)

    @property
    def trips(self) -> Mapping[str, TripFacts]:
        return MappingProxyType(self._folded().trips)

    def _folded(self) -> _State:
        if self._state is None:
            state = _State()
            for key in sorted(self._entries):
                _FOLDS[self._entries[key].type](state, self._entries[key])
            self._state = state
        return self._state


@dataclass(frozen=True)
class _MilestoneSummary:
    first: dict[tuple[str, str], date]  # (project, kind) -> first counted day, but capital
    capital: dict[tuple[str, str], Decimal]  # (project, quarter) -> counted capital arrived
    retracted: dict[tuple[str, str], int]  # (project, quarter) -> reports retracted in it


@dataclass
class _State:
    projects: dict[str, ProjectFacts] = field(default_factory=dict)
    milestones: dict[str, MilestoneFacts] = field(default_factory=dict)
    leaders: dict[str, LeaderFacts] = field(default_factory=dict)
    trips: dict[str, TripFacts] = field(default_factory=dict)
    tasks_done: dict[tuple[str, str], date] = field(default_factory=dict)


def _fold_proposed(state: _State, entry: _Entry) -> None:
    code = entry.data["project_code"]
    state.projects[code] = ProjectFacts(
        code=code,
        prefecture=entry.data["prefecture"],
        total_investment=entry.data["total_investment"],
        key_project=entry.data["key_project"],
        fortune_global_500=entry.data["fortune_global_500"],
    )


def _fold_corrected(state: _State, entry: _Entry) -> None:
    project = state.projects.get(entry.data["project_code"])
    if project is not None:
        changed = {k: v for k, v in entry.data.items() if k != "project_code" and v is not None}
        state.projects[project.code] = project._replace(**changed)


def _fold_withdrawn(state: _State, entry: _Entry) -> None:
    project = state.projects.get(entry.data["project_code"])
    if project is not None:
        state.projects[project.code] = project._replace(withdrawn=True)


def _fold_appointed(state: _State, entry: _Entry) -> None:
    state.leaders[entry.data["leader_id"]] = LeaderFacts(**entry.data)


def _fold_milestone(state: _State, entry: _Entry) -> None:
    state.milestones[entry.event_id] = MilestoneFacts(
        event_id=entry.event_id,
        occurred_on=entry.occurred_on,
        recorded_at=entry.recorded_at,
        **entry.data,
    )


def _fold_checked(state: _State, entry: _Entry) -> None:
    """A check or retraction; a retracted report stays retracted (tracking allows no more)."""
    milestone = state.milestones.get(entry.data["milestone_event_id"])
    if milestone is not None and milestone.status != RETRACTED:
        status = entry.data["status"]
        state.milestones[milestone.event_id] = MilestoneFacts(  # not _replace(): faster
            event_id=milestone.event_id,
            kind=milestone.kind,
            project_code=milestone.project_code,
            occurred_on=milestone.occurred_on,
            amount=milestone.amount,
            recorded_at=milestone.recorded_at,
            status=status,
            retracted_on=entry.occurred_on if status == RETRACTED else None,
        )


def _fold_trip(state: _State, entry: _Entry) -> None:
    state.trips[entry.event_id] = TripFacts(
        event_id=entry.event_id,
        leader_id=entry.data["leader_id"],
        returned_on=entry.data["returned_on"],
        recorded_at=entry.recorded_at,
    )


def _fold_task(state: _State, entry: _Entry) -> None:
    """The earliest reported completion of each (task, unit) counts: order-independent."""
    key = (entry.data["task_id"], entry.data["unit"])
    if key not in state.tasks_done or entry.occurred_on < state.tasks_done[key]:
        state.tasks_done[key] = entry.occurred_on


# Reading wire events: what each type scoring reads contributes, checked for form.


def _read_proposed(payload: Mapping) -> dict:
    investor = _wire(payload, "investor", "payload", Mapping)
    return {
        "project_code": _wire(payload, "project_code", "payload", str),
        "prefecture": _wire(payload, "prefecture", "payload", str),
        "total_investment": _wire_decimal(payload, "total_investment", "payload"),
        "key_project": _wire(payload, "key_project", "payload", bool),
        "fortune_global_500": _wire(investor, "fortune_global_500", "payload.investor", bool),
    }


def _read_corrected(payload: Mapping) -> dict:
    changes = _wire(payload, "changes", "payload", Mapping)
    investor = changes.get("investor")
    if investor is not None:
        investor = _wire(changes, "investor", "payload.changes", Mapping)
    return {
        "project_code": _wire(payload, "project_code", "payload", str),
        "prefecture": _wire(payload, "prefecture", "payload", str),
        "key_project": _wire(payload, "key_project", "payload", bool),
        "total_investment": (
            _wire_decimal(changes, "total_investment", "payload.changes")
            if "total_investment" in changes
            else None
        ),
        "fortune_global_500": (
            _wire(investor, "fortune_global_500", "payload.changes.investor", bool)
            if investor is not None
            else None
        ),
    }


def _read_withdrawn(payload: Mapping) -> dict:
    return {"project_code": _wire(payload, "project_code", "payload", str)}


def _read_appointed(payload: Mapping) -> dict:
    return {
        "leader_id": _wire(payload, "leader_id", "payload", str),
        "unit": _wire(payload, "unit", "payload", str),
        "role": _wire(payload, "role", "payload", str),
        "prefecture": _wire(payload, "prefecture", "payload", str | None),
    }


def _milestone_reader(kind: str):
    def read(payload: Mapping) -> dict:
        amount = _wire_decimal(payload, "amount", "payload") if kind == CAPITAL else None
        return {
            "kind": kind,
            "project_code": _wire(payload, "project_code", "payload", str),
            "amount": amount,
        }

    return read


def _check_reader(status: str):
    def read(payload: Mapping) -> dict:
        return {
            "status": status,
            "milestone_event_id": _wire(payload, "milestone_event_id", "payload", str),
        }

    return read


def _read_trip(payload: Mapping) -> dict:
    returned_on = _wire(payload, "returned_on", "payload", str)
    return {
        "leader_id": _wire(payload, "leader_id", "payload", str),
        "returned_on": _wire_date(returned_on, "payload.returned_on"),
    }


def _read_task(payload: Mapping) -> dict:
    return {
        "task_id": _wire(payload, "task_id", "payload", str),
        "unit": _wire(payload, "unit", "payload", str),
    }


# type -> (owning service, reader, fold)
_TYPES = {
    "project.proposed": ("registry", _read_proposed, _fold_proposed),
    "project.corrected": ("registry", _read_corrected, _fold_corrected),
    "project.withdrawn": ("registry", _read_withdrawn, _fold_withdrawn),
    "leader.appointed": ("registry", _read_appointed, _fold_appointed),
    "project.company_registered": ("tracking", _milestone_reader(REGISTERED), _fold_milestone),
    "project.construction_started": ("tracking", _milestone_reader(STARTED), _fold_milestone),
    "project.production_started": ("tracking", _milestone_reader(PRODUCING), _fold_milestone),
    "project.capital_arrived": ("tracking", _milestone_reader(CAPITAL), _fold_milestone),
    "milestone.verified": ("tracking", _check_reader(VERIFIED), _fold_checked),
    "milestone.rejected": ("tracking", _check_reader(REJECTED), _fold_checked),
    "milestone.retracted": ("tracking", _check_reader(RETRACTED), _fold_checked),
    "leader.trip_completed": ("tracking", _read_trip, _fold_trip),
    "task.completed": ("tracking", _read_task, _fold_task),
}
_FOLDS = {kind: fold for kind, (_, _, fold) in _TYPES.items()}
UPSTREAMS = frozenset(owner for owner, _, _ in _TYPES.values())
READ_TYPES = frozenset(_TYPES)  # the wire types facts are made of; others are ignored


def _read_entry(service: str, number: int, wire_event: Mapping[str, Any]) -> _Entry | None:
    if service not in UPSTREAMS:
        raise FactsError("service", service, "known_upstream", f"one of {sorted(UPSTREAMS)}")
    kind = wire_event.get("type")
    spec = _TYPES.get(kind)
    if spec is None:
        return None
    owner, read, _ = spec
    if owner != service:
        raise FactsError("type", kind, "owned_by_upstream", f"{kind} comes from {owner}")
    payload = wire_event.get("payload")
    if payload.__class__ is not dict:
        payload = _wire(wire_event, "payload", "", Mapping)
    return _Entry(
        service,
        number,
        kind,
        _wire(wire_event, "event_id", "", str),
        _wire_date(_wire(wire_event, "occurred_on", "", str), "occurred_on"),
        _wire_moment(_wire(wire_event, "recorded_at", "", str), "recorded_at"),
        MappingProxyType(read(payload)),
    )


def _wire(mapping: Mapping, key: str, path: str, kind: Any) -> Any:
    value = mapping.get(key)
    if value.__class__ is kind:  # the common case, checked first
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise FactsError(_at(path, key), value, "wire_form", f"expected {kind}")
    return value


def _wire_decimal(mapping: Mapping, key: str, path: str) -> Decimal:
    value = _wire(mapping, key, path, str)
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise FactsError(_at(path, key), value, "decimal_string", 'a decimal string, "2.5"')
    return number


def _wire_date(value: str, path: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FactsError(path, value, "iso_date", "YYYY-MM-DD") from None


def _wire_moment(value: str, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FactsError(path, value, "iso_datetime", "an ISO date and time in UTC") from None
    return _aware(moment, path)


def _aware(moment: datetime, path: str) -> datetime:
    if moment.tzinfo is None:
        raise FactsError(path, moment.isoformat(), "aware_datetime", "needs a UTC offset")
    return moment


# Ranking -----------------------------------------------------------------------------------


@dataclass
class _Card:
    """One unit's quarter: what it did, and what that scores."""

    region: str
    name: str
    actual: dict[str, Decimal]
    occurrences: dict[str, int]
    targets: dict[str, Decimal | None] = field(default_factory=dict)
    points: dict[str, Decimal] = field(default_factory=dict)
    basis: dict[str, str] = field(default_factory=dict)
    adjustments: dict[str, Decimal] = field(default_factory=dict)
    trips: int = 0  # trips returned in the quarter by the unit's own leaders
    trip_quota: Decimal = Decimal(0)  # the quarter's share of their yearly quotas
    bonuses: Decimal = Decimal(0)
    deductions: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


def rank_quarter(
    facts: Facts,
    policy: Policy,
    quarter: str,
    prefectures: Sequence[tuple[str, str]],
    trip_quotas: Mapping[str, int],
    trip_quota_exempt: frozenset[str],
    *,
    official: bool = True,
    recorded_by: datetime | None = None,
    overdue_tasks: Mapping[str, Mapping[str, int]] | None = None,
    due_tasks: Iterable[DueTask] = (),
) -> dict:
    """Scores and ranks the units of `prefectures` ((code, name_zh), the 17 市州) for a quarter.

    `official` counts verified milestones only; otherwise reported ones too (provisional).
    `recorded_by` limits the facts to events recorded by that moment (the quarter's close, or
    an "as of" rebuild); the reports about the quarter recorded later are listed as `late`.
    `trip_quotas` are the yearly trips per leader role ((二十一), (二十二)). `overdue_tasks` maps
    quarter -> unit code -> 附件3 tasks that fell overdue in it; without it, they are counted
    from the facts' task.completed reports against `due_tasks`. The result is JSON-safe.
    """
    view = facts if recorded_by is None else facts.as_of(recorded_by)
    if overdue_tasks is None:
        year = quarter_bounds(quarter)[0].year
        quarters = [q for q in (f"{year}Q{n}" for n in range(1, 5)) if q <= quarter]
        units = [code for code, _ in prefectures]
        overdue_tasks = overdue_by_quarter(view.tasks_done, due_tasks, units, quarters)
    rank = _Ranker(view, policy, prefectures, trip_quotas, trip_quota_exempt, official)
    with localcontext(_CONTEXT):
        cards = rank(quarter, overdue_tasks.get(quarter, {}))
        summons = _summons(rank, quarter, cards, overdue_tasks)
    return {
        "quarter": quarter,
        "policy_version": policy.version,
        "official": official,
        "cut_off": cut_off(quarter, policy).isoformat(),
        "recorded_by": None if recorded_by is None else _utc(recorded_by),
        "late": [] if recorded_by is None else facts.late(quarter, recorded_by),
        "rows": [_row(position, card, policy) for position, card in enumerate(cards, 1)],
        "summons": summons,
        "tiers": {
            tier.name_zh: [
                card.region
                for position, card in enumerate(cards, 1)
                if tier.first_rank <= position <= tier.last_rank
            ]
            for tier in policy.reward_tiers
        },
    }


class _Ranker:
    """Ranks any quarter from one set of facts under one policy."""

    def __init__(
        self,
        facts: Facts,
        policy: Policy,
        prefectures: Sequence[tuple[str, str]],
        trip_quotas: Mapping[str, int],
        exempt: frozenset[str],
        official: bool,
    ) -> None:
        self.facts, self.policy, self.exempt = facts, policy, exempt
        self.trip_quotas = trip_quotas
        self.counting = frozenset({VERIFIED} if official else {REPORTED, VERIFIED})
        self.units = dict(prefectures)
        if len(self.units) != len(prefectures):
            raise ScoringError("prefectures", prefectures, "unique_codes", "each code once")

    def __call__(self, quarter: str, overdue: Mapping[str, int]) -> list[_Card]:
        """The units' scorecards for a quarter, best first."""
        quarter_bounds(quarter)  # refuses a malformed quarter
        cards = {
            code: _Card(code, name, dict.fromkeys(MEASURES, Decimal(0)), {})
            for code, name in self.units.items()
        }
        self.measure_milestones(quarter, cards)
        self.count_retractions(quarter, cards)
        self.measure_trips(quarter, cards)
        for code, card in cards.items():
            card.occurrences[OVERDUE_TASK] = overdue.get(code, 0)
        self.score(quarter, list(cards.values()))
        return sorted(cards.values(), key=self.sort_key)

    def measure_milestones(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Capital arrived in the quarter; projects whose first counted milestone is in it."""
        scored = {
            code: project
            for code, project in self.facts.projects.items()
            if project.prefecture in cards
            and not project.withdrawn
            and project.total_investment >= self.policy.min_project_investment
        }
        start, end = quarter_bounds(quarter)
        summary = self.facts.milestone_summary(self.counting)
        for (code, in_quarter), amount in summary.capital.items():
            project = scored.get(code)
            if project is not None and in_quarter == quarter:
                cards[project.prefecture].actual[CAPITAL_ARRIVED] += amount
        landings = dict.fromkeys(cards, 0)
        for (code, kind), day in summary.first.items():
            project = scored.get(code)
            if project is None or not start <= day <= end:
                continue
            card = cards[project.prefecture]
            card.actual[_COUNTED_BY_KIND[kind]] += 1
            if kind == STARTED and project.key_project:
                card.actual[KEY_PROJECT_LANDINGS] += 1
            if kind == STARTED and project.fortune_global_500:
                landings[project.prefecture] += 1
        for code, card in cards.items():
            card.occurrences[FORTUNE_GLOBAL_500_LANDING] = landings[code]

    def count_retractions(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Reports retracted as false in the quarter, on any project of the unit.

        Size and withdrawal do not matter here: a false report was made either way.
        """
        retracted = dict.fromkeys(cards, 0)
        projects = self.facts.projects
        for (code, in_quarter), count in self.facts.milestone_summary(
            self.counting
        ).retracted.items():
            project = projects.get(code)
            if in_quarter == quarter and project is not None and project.prefecture in cards:
                retracted[project.prefecture] += count
        for code, card in cards.items():
            card.occurrences[RETRACTED_REPORT] = retracted[code]

    def measure_trips(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Trips over the quarter's share of the unit's own leaders' yearly quotas, at most 1."""
        start, end = quarter_bounds(quarter)
        quota = dict.fromkeys(cards, Decimal(0))
        trips = dict.fromkeys(cards, 0)
        leaders = self.facts.leaders
        for leader in leaders.values():
            if leader.unit in quota:
                quota[leader.unit] += Decimal(self.trip_quotas.get(leader.role, 0)) / 4
        for trip in self.facts.trips.values():
            leader = leaders.get(trip.leader_id)
            if leader is not None and leader.unit in trips and start <= trip.returned_on <= end:
                trips[leader.unit] += 1
        for code, card in cards.items():
            card.trips, card.trip_quota = trips[code], quota[code]
            if quota[code] > 0:
                card.actual[LEADER_TRIPS] = min(trips[code] / quota[code], Decimal(1))

    def score(self, quarter: str, cards: list[_Card]) -> None:
        for indicator in self.policy.indicators:
            competing = [c for c in cards if not self.pro_rata(indicator.key, c.region)]
            best = max((c.actual[indicator.key] for c in competing), default=Decimal(0))
            for card in competing:
                self.score_indicator(indicator, quarter, card, best)
        for card in cards:
            trips = self.policy.indicator(LEADER_TRIPS)
            if trips is not None and self.pro_rata(trips.key, card.region):
                others = sum(p for k, p in card.points.items() if k != trips.key)
                share = others / (100 - trips.weight) if trips.weight < 100 else Decimal(0)
                card.targets[trips.key] = None
                card.points[trips.key] = _cents(trips.weight * share)
                card.basis[trips.key] = "pro_rata"
            self.adjust(card)

    def pro_rata(self, key: str, region: str) -> bool:
        """A unit exempt from the trip quotas (神农架林区, (二十一)) is not measured on trips."""
        return key == LEADER_TRIPS and region in self.exempt

    def score_indicator(
        self, indicator: Indicator, quarter: str, card: _Card, best: Decimal
    ) -> None:
        actual = card.actual[indicator.key]
        target = indicator.target_for(card.region, quarter)
        if target is not None:
            points = indicator.points_against(target, actual)
        else:
            points = indicator.weight * actual / best if best > 0 else Decimal(0)
        card.targets[indicator.key] = target
        card.points[indicator.key] = _cents(points)
        card.basis[indicator.key] = RELATIVE if target is None else TARGET

    def adjust(self, card: _Card) -> None:
        for adjustment in (*self.policy.bonuses, *self.policy.deductions):
            points = card.occurrences[adjustment.key] * adjustment.points
            if adjustment.cap is not None:
                points = min(points, adjustment.cap)
            card.adjustments[adjustment.key] = _cents(points)
        card.bonuses = sum((card.adjustments[a.key] for a in self.policy.bonuses), Decimal(0))
        card.deductions = sum((card.adjustments[a.key] for a in self.policy.deductions), Decimal(0))
        card.total = sum(card.points.values(), Decimal(0)) + card.bonuses - card.deductions

    def sort_key(self, card: _Card) -> tuple:
        return tuple(
            card.region if key == REGION else -(card.total if key == TOTAL else card.actual[key])
            for key in self.policy.tie_break
        )


_COUNTED_BY_KIND = {
    REGISTERED: REGISTRATIONS,
    STARTED: CONSTRUCTION_STARTS,
    PRODUCING: PRODUCTION_STARTS,
}


def _summons(
    rank: _Ranker,
    quarter: str,
    cards: list[_Card],
    overdue_tasks: Mapping[str, Mapping[str, int]],
) -> list[str]:
    """The bottom units, if they were also in the bottom for the policy's earlier quarters.

    Earlier quarters are ranked again from the same facts under the same policy.
    """
    bottom = rank.policy.summon_bottom
    summoned = [card.region for card in _bottom(cards, bottom)]
    earlier = quarter
    for _ in range(rank.policy.summon_after_quarters - 1):
        earlier = previous_quarter(earlier)
        before = rank(earlier, overdue_tasks.get(earlier, {}))
        bottom_before = {card.region for card in _bottom(before, bottom)}
        summoned = [region for region in summoned if region in bottom_before]
    return summoned


def _bottom(cards: list[_Card], size: int) -> list[_Card]:
    return cards[max(len(cards) - size, 0) :] if size else []


def _row(rank: int, card: _Card, policy: Policy) -> dict:
    return {
        "rank": rank,
        "region": card.region,
        "name": card.name,
        "total": _money(card.total),
        "indicators": {
            indicator.key: {
                "actual": _actual(indicator.key, card.actual[indicator.key]),
                "target": _optional_money(card.targets[indicator.key]),
                "points": _money(card.points[indicator.key]),
                "basis": card.basis[indicator.key],
            }
            for indicator in policy.indicators
        },
        "trips": {"completed": card.trips, "quota_share": _money(card.trip_quota)},
        "bonuses": _money(card.bonuses),
        "deductions": _money(card.deductions),
        "adjustments": {
            key: {"count": card.occurrences[key], "points": _money(points)}
            for key, points in card.adjustments.items()
        },
        "tier": policy.tier_of(rank),
    }


def _utc(moment: datetime) -> str:
    return _aware(moment, "recorded_by").astimezone(UTC).isoformat()


def _cents(value: Decimal) -> Decimal:
    """The one rounding step: to 0.01, half up."""
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    return str(_cents(value))


def _optional_money(value: Decimal | None) -> str | None:
    return None if value is None else _money(value)


def _actual(key: str, value: Decimal) -> str:
    return str(int(value)) if key in COUNTED_MEASURES else _money(value)


# Canonical form ----------------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    """The bytes a ranking is published and hashed as: same value, same bytes."""
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def ranking_hash(ranking: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(ranking)).hexdigest()


# 附件3 tasks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueTask:
    """An 附件3 task owed by every 市州 government, with its deadline and the units exempt."""

    id: str
    due: date
    exempt: frozenset[str] = frozenset()


def overdue_by_quarter(
    done: Mapping[tuple[str, str], date],
    tasks: Iterable[DueTask],
    units: Iterable[str],
    quarters: Iterable[str],
) -> dict[str, dict[str, int]]:
    """quarter -> unit -> tasks due in that quarter and not reported done by their deadline
    (附件3 备注: report to the office before the deadline)."""
    tasks, units = list(tasks), list(units)
    result: dict[str, dict[str, int]] = {}
    for quarter in quarters:
        first, last = quarter_bounds(quarter)
        counts = result.setdefault(quarter, {})
        for task in tasks:
            if not first <= task.due <= last:
                continue
            for unit in units:
                reported = done.get((task.id, unit))
                if unit not in task.exempt and (reported is None or reported > task.due):
                    counts[unit] = counts.get(unit, 0) + 1
    return result


# Aggregates: what scoring stores ------------------------------------------------------------


class Ledger(Aggregate):
    """What scoring consumed from one upstream service, message by message."""

    class Opened(Aggregate.Created):
        upstream: str

    class Received(Aggregate.Event):
        last: int
        events: list

    @staticmethod
    def create_id(upstream: str) -> UUID:
        return ids.named_id("ledger", upstream)

    @event(Opened)
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.last = 0

    @event(Received)
    def receive(self, last: int, events: list) -> None:
        self.last = last


@dataclass(frozen=True)
class Adoption:
    """One policy.adopted: a policy version in force from a quarter on, recorded at a moment."""

    effective_from: str
    version: str
    policy: Mapping[str, Any]
    recorded_at: datetime


class PolicyBook(Aggregate):
    """Every scoring policy the office adopted, each in force from its quarter on."""

    class Opened(Aggregate.Created):
        pass

    class Adopted(Aggregate.Event):
        wire_type = "policy.adopted"
        event_id: str
        source: str
        occurred_on: date
        version: str
        effective_from: str
        policy: dict

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.adopted.append(
                Adoption(self.effective_from, self.version, self.policy, self.timestamp)
            )

    @staticmethod
    def create_id() -> UUID:
        return ids.named_id("policies", "book")

    @event(Opened)
    def __init__(self) -> None:
        self.adopted: list[Adoption] = []

    def adopt(self, **fields: Any) -> None:
        self.trigger_event(self.Adopted, **fields)

    def in_force(self, quarter: str, recorded_by: datetime | None = None) -> Adoption | None:
        """The latest-starting adoption at or before `quarter` (the later adoption wins between
        two starting in the same quarter); with `recorded_by`, among those recorded by then."""
        candidates = [
            (adoption.effective_from, i)
            for i, adoption in enumerate(self.adopted)
            if adoption.effective_from <= quarter
            and (recorded_by is None or adoption.recorded_at <= recorded_by)
        ]
        return self.adopted[max(candidates)[1]] if candidates else None

    def adopted_as(self, version: str) -> Adoption | None:
        return next((a for a in self.adopted if a.version == version), None)


class PublishedRanking(Aggregate):
    """A quarter's official ranking as the office published it, with its content hash."""

    class Published(Aggregate.Created):
        wire_type = "ranking.published"
        event_id: str
        source: str
        occurred_on: date
        quarter: str
        ranking: dict
        hash: str
        policy_version: str
        as_of: dict

    @staticmethod
    def create_id(quarter: str, **_: Any) -> UUID:
        return ids.named_id("ranking", quarter)

    @event(Published)
    def __init__(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        quarter: str,
        ranking: dict,
        hash: str,
        policy_version: str,
        as_of: dict,
    ) -> None:
        self.quarter = quarter
        self.ranking = ranking
        self.hash = hash
        self.policy_version = policy_version
        self.as_of = as_of
