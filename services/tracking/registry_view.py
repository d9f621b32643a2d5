"""Tracking's own view of what its rules read from registry, built from registry's events.

Tracking judges a milestone report (十九) against its project's region and industry (the
sender's jurisdiction), its list (二) (no construction start or capital before signing), its
total investment (cumulative capital) and whether it was withdrawn; a trip ((二十一), (二十二))
against its leader's unit and role. It learns them from registry's wire events, like any
consumer (services/kernel/bus/consumer.py), and keeps them in its own store as private events
(never on the wire), saved in the same transaction as its position in registry's log. So a
report is judged without asking registry anything (docs/ARCHITECTURE.md "The report path").

Each copy takes the id of registry's aggregate it copies (`ids.project_id`, `ids.leader_id`):
the intake's preload already names those for a report (services/kernel/ingest/reports.py), so
the copies are read with the report's other aggregates, in the same query.

What a project's event changes is read from the event: its facts and designations as they
carry them, its list from `project.list_changed`'s `list`; only `project.signed` leaves the
list to the reader, and it is taken as tracking reads it: signed, or started already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.report import Report
from services.kernel.ingest.reports import Apply, Batch

PROJECT, LEADER = "project", "leader"
SIGNED, STARTED = "signed", "started"
# A project's facts tracking reads, as project.proposed and project.corrected carry them.
PROJECT_FACTS = ("region", "industry", "prefecture", "total_investment", "key_project")
# The stage each of these events puts a project in (二).
STAGE_OF = {"project.proposed": "promotion", "project.tracking_started": "tracking"}
PROJECT_TYPES = frozenset(
    {
        "project.proposed",
        "project.tracking_started",
        "project.signed",
        "project.list_changed",
        "project.corrected",
        "project.withdrawn",
        "project.designated",
        "project.undesignated",
    }
)
LEADER_TYPE = "leader.appointed"
# The rules that a view behind registry's log could break wrongly (services/tracking/service.py
# catches up with registry and judges such reports again): a project or leader not heard of
# yet, and a project whose signing (project.signed, sent in an earlier call) it has not heard.
UNHEARD_OF = frozenset({"unknown_project", "unknown_leader", "unknown_milestone", "before_signing"})


def wants(upstream: str, wire: Mapping) -> bool:
    """registry's events that change the view."""
    return wire["type"] in PROJECT_TYPES or wire["type"] == LEADER_TYPE


def copy_id(kind: str, key: str) -> UUID:
    return ids.project_id(key) if kind == PROJECT else ids.leader_id(key)


class RegistryCopy(Aggregate):
    """What tracking knows of one of registry's projects or leaders: the state after the last
    registry event that changed it (each event carries the whole state)."""

    class Noted(Aggregate.Created):
        kind: str
        key: str
        state: dict

    class Changed(Aggregate.Event):
        state: dict

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> UUID:
        return copy_id(kind, key)

    @event(Noted)
    def __init__(self, kind: str, key: str, state: dict) -> None:
        self.kind, self.key, self.state = kind, key, state

    @event(Changed)
    def change(self, state: dict) -> None:
        self.state = state


def project_after(state: Mapping[str, Any] | None, wire: Mapping) -> dict | None:
    """A project's state after one of registry's events (None: not proposed yet)."""
    kind, payload = wire["type"], wire["payload"]
    if kind == "project.proposed":
        return {
            "project_code": payload["project_code"],
            **{fact: payload[fact] for fact in PROJECT_FACTS},
            "stage": STAGE_OF[kind],
            "withdrawn": False,
            "designated_by": [],
        }
    if state is None:
        return None
    after = dict(state)
    if kind in STAGE_OF:
        after["stage"] = STAGE_OF[kind]
    elif kind == "project.signed" and state["stage"] not in (SIGNED, STARTED):
        after["stage"] = SIGNED
    elif kind == "project.list_changed":
        after["stage"] = payload["list"]
    elif kind == "project.corrected":
        changes = payload["changes"]
        after.update({fact: changes[fact] for fact in PROJECT_FACTS if fact in changes})
        after.update(prefecture=payload["prefecture"], key_project=payload["key_project"])
    elif kind == "project.withdrawn":
        after["withdrawn"] = True
    elif kind == "project.designated":
        after["designated_by"] = sorted({*state["designated_by"], payload["unit"]})
    elif kind == "project.undesignated":
        after["designated_by"] = [u for u in state["designated_by"] if u != payload["unit"]]
    return after


def leader_state(wire: Mapping) -> dict:
    payload = wire["payload"]
    return {key: payload[key] for key in ("leader_id", "name", "unit", "role", "prefecture")}


def _subject(wire: Mapping) -> tuple[str, str]:
    if wire["type"] == LEADER_TYPE:
        return LEADER, wire["payload"]["leader_id"]
    return PROJECT, wire["payload"]["project_code"]


def note(batch: Batch, events: Iterable[Mapping]) -> None:
    """Change the copies in `batch` for registry's events, in log order."""
    wanted = [e for e in events if wants("registry", e)]
    batch.preload(copy_id(*_subject(e)) for e in wanted)
    for wire in wanted:
        kind, key = _subject(wire)
        copy = batch.get(copy_id(kind, key))
        held = copy.state if isinstance(copy, RegistryCopy) else None
        state = leader_state(wire) if kind == LEADER else project_after(held, wire)
        if state is None or state == held:
            continue
        if isinstance(copy, RegistryCopy):
            copy.change(state)
        else:
            batch.add(RegistryCopy(kind=kind, key=key, state=state))


class _Copies:
    """The copies of one kind in a batch, looked up by registry's key (what `context` holds)."""

    def __init__(self, batch: Batch, kind: str) -> None:
        self.batch, self.kind = batch, kind

    def get(self, key: str, default: Any = None) -> Any:
        copy = self.batch.get(copy_id(self.kind, key))
        return copy.state if isinstance(copy, RegistryCopy) else default


def context_of(batch: Batch) -> dict[str, Any]:
    """registry's state for the handlers (services/tracking/handlers.py), from the view."""
    return {"projects": _Copies(batch, PROJECT), "leaders": _Copies(batch, LEADER)}


def judged_by_view(apply: Apply) -> Apply:
    """`apply`, with registry's state read from the view unless the caller gave one."""

    def with_view(report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        apply(report, batch, context or context_of(batch))

    return with_view


def unheard_of(answer: Mapping[str, Any]) -> bool:
    """Whether a report was rejected only for naming what the view may not have heard of yet."""
    rules = {e.get("rule") for e in answer.get("errors") or ()}
    return answer.get("status") == "rejected" and bool(rules) and rules <= UNHEARD_OF


Judge = Callable[[list[Report]], list[dict]]


def judged_again(run: list[Report], judge: Judge, heard_more: Callable[[], bool]) -> list[dict]:
    """Judge a run; should a report be refused for naming a project, leader or milestone the
    view has not heard of, catch up with registry (`heard_more`: whether that brought anything
    new) and judge those reports again, in their order. A refusal for that changes nothing
    (no receipt, no refusal record), so judging again is safe."""
    answers = judge(run)
    unheard = [n for n, answer in enumerate(answers) if unheard_of(answer)]
    if unheard and heard_more():
        for n, answer in zip(unheard, judge([run[n] for n in unheard]), strict=True):
            answers[n] = answer
    return answers
