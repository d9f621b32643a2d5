"""The upstream wire events scoring reads (registry's and tracking's), each type with the service
that owns it, how it is read (each field checked for form by wireform.py: a FactsError names
it) and how it is folded into the facts' state (facts.py folds them in order).

Immutable tuples rather than frozen dataclasses: a rebuild makes hundreds of thousands.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from services.kernel.contract.vocabulary import MILESTONE_TYPES
from services.scoring.domain import FactsError
from services.scoring.wireform import read_code, read_day, read_decimal, read_field, read_moment

# Milestone kinds and statuses, as tracking reports them.
REGISTERED = "registered"
STARTED = "construction_started"
PRODUCING = "production_started"
CAPITAL = "capital_arrived"
REPORTED, VERIFIED, REJECTED, RETRACTED = "reported", "verified", "rejected", "retracted"
PREFECTURE_LEVEL = "prefecture"  # a 市州's review of its counties' reports (市审核)


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
    status: str = REPORTED
    retracted_on: date | None = None
    from_county: bool = False  # sent by a county: its 市州 may review it first
    prefecture_verified: bool = False  # the 市州's review (市审核) verified it


class LeaderFacts(NamedTuple):
    leader_id: str
    unit: str
    role: str
    prefecture: str | None


class TripFacts(NamedTuple):
    event_id: str
    leader_id: str
    returned_on: date
    status: str = REPORTED
    from_county: bool = False
    prefecture_verified: bool = False


class Counting(NamedTuple):
    """Which reports an indicator counts (甄别, (十九)): those whose status is in `statuses`
    and, with `prefecture`, whose 市州 verified them when a county sent them."""

    statuses: frozenset[str]
    prefecture: bool = False

    def counts(self, report: MilestoneFacts | TripFacts) -> bool:
        if report.status not in self.statuses:
            return False
        return not (self.prefecture and report.from_county) or report.prefecture_verified


class Entry(NamedTuple):
    """One applied wire event, reduced to what scoring reads (a tuple: a million of them are
    made in a rebuild, several times faster than a frozen dataclass)."""

    service: str
    notification_id: int
    type: str
    event_id: str
    occurred_on: date
    recorded_at: datetime
    data: Mapping[str, Any]


@dataclass
class State:
    """What the facts fold to: the latest word on each project, milestone, leader and trip."""

    projects: dict[str, ProjectFacts] = field(default_factory=dict)
    milestones: dict[str, MilestoneFacts] = field(default_factory=dict)
    leaders: dict[str, LeaderFacts] = field(default_factory=dict)
    trips: dict[str, TripFacts] = field(default_factory=dict)
    tasks_done: dict[tuple[str, str], date] = field(default_factory=dict)
    # (unit, year, indicator) -> (yearly, Q1..Q4 or None): target.set, the latest word
    targets: dict[tuple[str, str, str], tuple[Decimal, tuple[Decimal, ...] | None]] = field(
        default_factory=dict
    )


def _fold_proposed(state: State, entry: Entry) -> None:
    code = entry.data["project_code"]
    state.projects[code] = ProjectFacts(
        code=code,
        prefecture=entry.data["prefecture"],
        total_investment=entry.data["total_investment"],
        key_project=entry.data["key_project"],
        fortune_global_500=entry.data["fortune_global_500"],
    )


def _fold_corrected(state: State, entry: Entry) -> None:
    project = state.projects.get(entry.data["project_code"])
    if project is not None:
        changed = {k: v for k, v in entry.data.items() if k != "project_code" and v is not None}
        state.projects[project.code] = project._replace(**changed)


def _fold_withdrawn(state: State, entry: Entry) -> None:
    project = state.projects.get(entry.data["project_code"])
    if project is not None:
        state.projects[project.code] = project._replace(withdrawn=True)


def _fold_appointed(state: State, entry: Entry) -> None:
    state.leaders[entry.data["leader_id"]] = LeaderFacts(**entry.data)


def _fold_milestone(state: State, entry: Entry) -> None:
    data = entry.data
    state.milestones[entry.event_id] = MilestoneFacts(  # positional: the most frequent fold
        entry.event_id,
        data["kind"],
        data["project_code"],
        entry.occurred_on,
        data["amount"],
        from_county=data["from_county"],
    )


def _fold_checked(state: State, entry: Entry) -> None:
    """A check or retraction; a retracted report stays retracted (tracking allows no more).
    A 市州's verification (市审核) is noted; the office's check or any rejection decides."""
    milestone = state.milestones.get(entry.data["milestone_event_id"])
    if milestone is not None and milestone.status != RETRACTED:
        status = entry.data["status"]
        if entry.data.get("level") == PREFECTURE_LEVEL and status == VERIFIED:
            state.milestones[milestone.event_id] = milestone._replace(prefecture_verified=True)
            return
        state.milestones[milestone.event_id] = MilestoneFacts(  # not _replace(): faster
            event_id=milestone.event_id,
            kind=milestone.kind,
            project_code=milestone.project_code,
            occurred_on=milestone.occurred_on,
            amount=milestone.amount,
            status=status,
            retracted_on=entry.occurred_on if status == RETRACTED else None,
            from_county=milestone.from_county,
            prefecture_verified=milestone.prefecture_verified,
        )


def _fold_report_checked(state: State, entry: Entry) -> None:
    """A check of a trip (report.verified / report.rejected); themed events are not scored."""
    trip = state.trips.get(entry.data["report_event_id"])
    if trip is None:
        return
    if entry.data["level"] == PREFECTURE_LEVEL and entry.data["status"] == VERIFIED:
        state.trips[trip.event_id] = trip._replace(prefecture_verified=True)
    else:
        state.trips[trip.event_id] = trip._replace(status=entry.data["status"])


def _fold_trip(state: State, entry: Entry) -> None:
    state.trips[entry.event_id] = TripFacts(
        event_id=entry.event_id,
        leader_id=entry.data["leader_id"],
        returned_on=entry.data["returned_on"],
        from_county=entry.data["from_county"],
    )


def _fold_task(state: State, entry: Entry) -> None:
    """The earliest reported completion of each (task, unit) counts: order-independent."""
    key = (entry.data["task_id"], entry.data["unit"])
    if key not in state.tasks_done or entry.occurred_on < state.tasks_done[key]:
        state.tasks_done[key] = entry.occurred_on


# Reading wire events: what each type scoring reads contributes, checked for form.


def _read_proposed(payload: Mapping) -> dict:
    investor = read_field(payload, "investor", "payload", Mapping)
    return {
        "project_code": read_code(payload, "project_code"),
        "prefecture": read_code(payload, "prefecture"),
        "total_investment": read_decimal(payload, "total_investment", "payload"),
        "key_project": read_field(payload, "key_project", "payload", bool),
        "fortune_global_500": read_field(investor, "fortune_global_500", "payload.investor", bool),
    }


def _read_corrected(payload: Mapping) -> dict:
    changes = read_field(payload, "changes", "payload", Mapping)
    investor = changes.get("investor")
    if investor is not None:
        investor = read_field(changes, "investor", "payload.changes", Mapping)
    return {
        "project_code": read_field(payload, "project_code", "payload", str),
        "prefecture": read_field(payload, "prefecture", "payload", str),
        "key_project": read_field(payload, "key_project", "payload", bool),
        "total_investment": (
            read_decimal(changes, "total_investment", "payload.changes")
            if "total_investment" in changes
            else None
        ),
        "fortune_global_500": (
            read_field(investor, "fortune_global_500", "payload.changes.investor", bool)
            if investor is not None
            else None
        ),
    }


def _read_withdrawn(payload: Mapping) -> dict:
    return {"project_code": read_field(payload, "project_code", "payload", str)}


def _read_appointed(payload: Mapping) -> dict:
    return {
        "leader_id": read_field(payload, "leader_id", "payload", str),
        "unit": read_field(payload, "unit", "payload", str),
        "role": read_field(payload, "role", "payload", str),
        "prefecture": read_field(payload, "prefecture", "payload", str | None),
    }


def _milestone_reader(kind: str):
    def read(payload: Mapping) -> dict:
        amount = read_decimal(payload, "amount", "payload") if kind == CAPITAL else None
        return {
            "kind": kind,
            "project_code": read_code(payload, "project_code"),
            "amount": amount,
        }

    return read


_REPORT = "report_event_id"  # what a check of a trip or themed event names


def _check_reader(status: str, subject: str = "milestone_event_id"):
    def read(payload: Mapping) -> dict:
        data = {"status": status, subject: read_field(payload, subject, "payload", str)}
        if "level" in payload or subject == _REPORT:  # checks before levels were the office's
            data["level"] = read_field(payload, "level", "payload", str)
        return data

    return read


def _read_trip(payload: Mapping) -> dict:
    returned_on = read_field(payload, "returned_on", "payload", str)
    return {
        "leader_id": read_field(payload, "leader_id", "payload", str),
        "returned_on": read_day(returned_on, "payload.returned_on"),
    }


def _read_target(payload: Mapping) -> dict:
    quarterly = payload.get("quarterly")
    return {
        "unit": read_field(payload, "unit", "payload", str),
        "year": read_field(payload, "year", "payload", str),
        "indicator": read_field(payload, "indicator", "payload", str),
        "yearly": read_decimal(payload, "yearly", "payload"),
        "quarterly": None
        if quarterly is None
        else tuple(
            read_decimal({"q": q}, "q", "payload.quarterly")
            for q in read_field(payload, "quarterly", "payload", list)
        ),
    }


def _fold_target(state: State, entry: Entry) -> None:
    data = entry.data
    state.targets[(data["unit"], data["year"], data["indicator"])] = (
        data["yearly"],
        data["quarterly"],
    )


def _read_task(payload: Mapping) -> dict:
    return {
        "task_id": read_field(payload, "task_id", "payload", str),
        "unit": read_field(payload, "unit", "payload", str),
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
    "report.verified": ("tracking", _check_reader(VERIFIED, _REPORT), _fold_report_checked),
    "report.rejected": ("tracking", _check_reader(REJECTED, _REPORT), _fold_report_checked),
    "task.completed": ("tracking", _read_task, _fold_task),
    "target.set": ("tracking", _read_target, _fold_target),
}
_SENT_BY_UNITS = MILESTONE_TYPES | {"leader.trip_completed"}  # a 市州 may review first
FOLDS = {kind: fold for kind, (_, _, fold) in _TYPES.items()}
UPSTREAMS = frozenset(owner for owner, _, _ in _TYPES.values())
READ_TYPES = frozenset(_TYPES)  # the wire types facts are made of; others are ignored


def read_entry(service: str, number: int, wire_event: Mapping[str, Any]) -> Entry | None:
    if service not in UPSTREAMS:
        raise FactsError(
            "service",
            service,
            "known_upstream",
            f"one of {sorted(UPSTREAMS)}",
            zh=f"须为 {sorted(UPSTREAMS)} 之一",
        )
    kind = wire_event.get("type")
    if not isinstance(kind, str) or (spec := _TYPES.get(kind)) is None:
        return None  # a type facts are not made of
    owner, read, _ = spec
    if owner != service:
        raise FactsError(
            "type",
            kind,
            "owned_by_upstream",
            f"{kind} comes from {owner}",
            zh=f"{kind} 应来自 {owner}",
        )
    payload = wire_event.get("payload")
    if payload.__class__ is not dict:
        payload = read_field(wire_event, "payload", "", Mapping)
    data = read(payload)
    if kind in _SENT_BY_UNITS:
        data["from_county"] = str(wire_event.get("source", "")).startswith("county:")
    return Entry(
        service,
        number,
        kind,
        read_field(wire_event, "event_id", "", str),
        read_day(read_field(wire_event, "occurred_on", "", str), "occurred_on"),
        read_moment(read_field(wire_event, "recorded_at", "", str), "recorded_at"),
        MappingProxyType(data),
    )
