"""Registry's domain: projects on the four lists of (二), their 五个一, and leaders.

Each domain event names the v1 wire type it is published as; its fields are the payload.
`project.list_changed` is not a report anyone sends: registry derives it from tracking's
construction starts and the office's checks of them (the 开工 list, (二)).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.events import Reported
from services.kernel.contract.projects import check_not_withdrawn
from services.registry import rules
from services.registry.rules import PROMOTION, SIGNED, START_REPORT, STARTED, TRACKING


class Project(Aggregate):
    """A 招商引资 project, from the promotion list (推介) to the started list (开工)."""

    class Proposed(Aggregate.Created):
        wire_type = "project.proposed"
        class_version = 2
        event_id: str
        source: str
        occurred_on: date
        project_code: str
        name: str
        investor: dict
        industry: str
        region: str
        prefecture: str
        total_investment: Decimal
        categories: list
        channel: str
        key_project: bool
        planned_by_leader: str | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            """v2 links a project to the leader who planned it; none was named before."""
            state["planned_by_leader"] = None

    class TrackingStarted(Reported):
        wire_type = "project.tracking_started"
        project_code: str

    class Signed(Reported):
        wire_type = "project.signed"
        project_code: str
        contract_investment: Decimal
        increase: Decimal  # what this signing adds: all of it the first time, then the rise

    class Assigned(Reported):
        wire_type = "project.assigned"
        project_code: str
        leader: str
        task_force: str
        plan: str

    class Corrected(Reported):
        wire_type = "project.corrected"
        project_code: str
        changes: dict
        previous: dict
        reason: str
        prefecture: str
        key_project: bool

    class Withdrawn(Reported):
        wire_type = "project.withdrawn"
        project_code: str
        reason: str

    class Designated(Reported):
        """A 市州 or county government names it one of its own key projects (二)."""

        wire_type = "project.designated"
        project_code: str
        unit: str

    class Undesignated(Reported):
        wire_type = "project.undesignated"
        project_code: str
        unit: str
        reason: str

    class ListChanged(Reported):
        """Onto the 开工 list on its first construction start (十九) reported to tracking; back to
        签约 when that start is rejected or retracted, and on again if the office then verifies
        it. The envelope is the tracking report's that caused it, under a derived event_id."""

        wire_type = "project.list_changed"
        project_code: str
        list: str
        previous_list: str
        caused_by: str  # the tracking report (its event_id) that moved the project
        cause_type: str
        milestone_event_id: str  # the construction-start report concerned

    @staticmethod
    def create_id(project_code: str, **_: Any) -> UUID:
        return ids.project_id(project_code)

    @event(Proposed)
    def __init__(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        name: str,
        investor: dict,
        industry: str,
        region: str,
        prefecture: str,
        total_investment: Decimal,
        categories: list,
        channel: str,
        key_project: bool,
        planned_by_leader: str | None = None,
    ) -> None:
        self.code = project_code
        self.facts: dict[str, Any] = {
            "name": name,
            "investor": investor,
            "industry": industry,
            "region": region,
            "total_investment": total_investment,
            "categories": categories,
            "channel": channel,
            "planned_by_leader": planned_by_leader,
        }
        self.prefecture = prefecture
        self.key_project = key_project
        self.stage = PROMOTION
        self.withdrawn = False
        self.contract_investment: Decimal | None = None
        self.signed_on: date | None = None  # the first signing's business date (招引, (二十一))
        self.five_in_one: dict | None = None
        self.proposed_by = source
        self.start_report: str | None = None  # the construction start that moved it to 开工
        self.start_undone_by: str | None = None  # the check that moved it back, if any
        self.designated_by: list[str] = []  # the governments whose key project it is (二)

    # Rules --------------------------------------------------------------------------------

    def check_active(self) -> None:
        check_not_withdrawn(self.code, self.withdrawn)

    def check_move(self, target: str) -> None:
        self.check_active()
        rules.check_forward(self.code, self.stage, target)

    def check_increase(self, contract_investment: Decimal) -> None:
        rules.check_increase(self.code, self.contract_investment, contract_investment)

    # Commands -----------------------------------------------------------------------------

    def start_tracking(self, event_id: str, source: str, occurred_on: date) -> None:
        self.check_move(TRACKING)
        self._start_tracking(event_id, source, occurred_on, self.code)

    @event(TrackingStarted)
    def _start_tracking(
        self, event_id: str, source: str, occurred_on: date, project_code: str
    ) -> None:
        self.stage = TRACKING

    def sign(self, event_id: str, source: str, occurred_on: date, contract: Decimal) -> None:
        self.check_active()
        self.check_increase(contract)
        increase = contract - (self.contract_investment or Decimal(0))
        self._sign(event_id, source, occurred_on, self.code, contract, increase)

    @event(Signed)
    def _sign(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        contract_investment: Decimal,
        increase: Decimal,
    ) -> None:
        self.contract_investment = contract_investment
        self.signed_on = self.signed_on or occurred_on
        if self.stage != STARTED:
            self.stage = SIGNED

    def assign(
        self, event_id: str, source: str, occurred_on: date, leader: str, task_force: str, plan: str
    ) -> None:
        self.check_active()
        self._assign(event_id, source, occurred_on, self.code, leader, task_force, plan)

    @event(Assigned)
    def _assign(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        leader: str,
        task_force: str,
        plan: str,
    ) -> None:
        self.five_in_one = {"leader": leader, "task_force": task_force, "plan": plan}

    def correct(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        changes: dict,
        reason: str,
        prefecture: str,
        key_project: bool,
    ) -> None:
        self.check_active()
        previous = {key: self.facts[key] for key in changes}
        self._correct(
            event_id,
            source,
            occurred_on,
            self.code,
            changes,
            previous,
            reason,
            prefecture,
            key_project,
        )

    @event(Corrected)
    def _correct(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        changes: dict,
        previous: dict,
        reason: str,
        prefecture: str,
        key_project: bool,
    ) -> None:
        self.facts.update(changes)
        self.prefecture = prefecture
        self.key_project = key_project

    def withdraw(self, event_id: str, source: str, occurred_on: date, reason: str) -> None:
        self.check_active()
        self._withdraw(event_id, source, occurred_on, self.code, reason)

    @event(Withdrawn)
    def _withdraw(
        self, event_id: str, source: str, occurred_on: date, project_code: str, reason: str
    ) -> None:
        self.withdrawn = True

    def designate(self, event_id: str, source: str, occurred_on: date, unit: str) -> None:
        self.check_active()
        rules.check_designation(self.code, unit, unit in self.designated_by, designating=True)
        self._designate(event_id, source, occurred_on, self.code, unit)

    @event(Designated)
    def _designate(
        self, event_id: str, source: str, occurred_on: date, project_code: str, unit: str
    ) -> None:
        self.designated_by = sorted({*self.designated_by, unit})

    def undesignate(
        self, event_id: str, source: str, occurred_on: date, unit: str, reason: str
    ) -> None:
        rules.check_designation(self.code, unit, unit in self.designated_by, designating=False)
        self._undesignate(event_id, source, occurred_on, self.code, unit, reason)

    @event(Undesignated)
    def _undesignate(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        unit: str,
        reason: str,
    ) -> None:
        self.designated_by = [u for u in self.designated_by if u != unit]

    # Following tracking: the 开工 list (二) -------------------------------------------------

    def follow_tracking(self, wire_event: dict, derived_event_id: str) -> None:
        """Move on or off the 开工 list for a construction start or a check of it.

        Anything else, and anything about a withdrawn project, changes nothing: tracking
        already refused a start before signing, so a start always finds the project signed.
        """
        kind, payload = wire_event["type"], wire_event["payload"]
        milestone = (
            wire_event["event_id"] if kind == START_REPORT else payload.get("milestone_event_id")
        )
        if self.withdrawn or milestone is None:
            return
        target = rules.list_after_tracking(
            kind, milestone, self.stage, self.start_report, self.start_undone_by
        )
        if target is None:
            return
        self._change_list(
            derived_event_id,
            wire_event["source"],
            date.fromisoformat(wire_event["occurred_on"]),
            self.code,
            target,
            self.stage,
            wire_event["event_id"],
            kind,
            milestone,
        )

    @event(ListChanged)
    def _change_list(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        project_code: str,
        list: str,
        previous_list: str,
        caused_by: str,
        cause_type: str,
        milestone_event_id: str,
    ) -> None:
        self.stage = list
        self.start_report = milestone_event_id
        self.start_undone_by = cause_type if list == SIGNED else None

    # Views --------------------------------------------------------------------------------

    @property
    def lists(self) -> list[str]:
        """The lists a project is on: none once withdrawn (二)."""
        return [] if self.withdrawn else [self.stage]

    @property
    def is_key_anywhere(self) -> bool:
        """A provincial key project (derived, (二)) or one a 市州 or county named its own."""
        return self.key_project or bool(self.designated_by)

    @property
    def five_ones_missing(self) -> list[str]:
        """Which of 五个一 (二) nobody has reported yet."""
        return rules.missing_five_ones(self.five_in_one)

    def state(self) -> dict:
        return {
            "project_code": self.code,
            **self.facts,
            "prefecture": self.prefecture,
            "key_project": self.key_project,
            "stage": self.stage,
            "withdrawn": self.withdrawn,
            "lists": self.lists,
            "contract_investment": self.contract_investment,
            "five_in_one": self.five_in_one,
            "designated_by": list(self.designated_by),
            "five_ones_missing": self.five_ones_missing if self.is_key_anywhere else [],
            "start_report": self.start_report,
            "version": self.version,
        }


class Leader(Aggregate):
    """A government or department leader with a yearly quota of trips ((二十一), (二十二))."""

    class Appointed(Aggregate.Created):
        wire_type = "leader.appointed"
        event_id: str
        source: str
        occurred_on: date
        leader_id: str
        name: str
        unit: str
        role: str
        prefecture: str | None

    class Reappointed(Reported):
        wire_type = "leader.appointed"
        leader_id: str
        name: str
        unit: str
        role: str
        prefecture: str | None

    @staticmethod
    def create_id(leader_id: str, **_: Any) -> UUID:
        return ids.leader_id(leader_id)

    @event(Appointed)
    def __init__(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        leader_id: str,
        name: str,
        unit: str,
        role: str,
        prefecture: str | None,
    ) -> None:
        self._set(leader_id, name, unit, role, prefecture)

    @event(Reappointed)
    def reappoint(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        leader_id: str,
        name: str,
        unit: str,
        role: str,
        prefecture: str | None,
    ) -> None:
        self._set(leader_id, name, unit, role, prefecture)

    def _set(self, leader_id: str, name: str, unit: str, role: str, prefecture: str | None) -> None:
        self.leader_id, self.name, self.unit, self.role = leader_id, name, unit, role
        self.prefecture = prefecture
