"""The facts projection: what the upstream services have said, as scoring needs it (the wire
events upstream.py reads, kept and folded in order). Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from services.kernel.contract.calendar import quarter_of
from services.kernel.contract.ranking import LateReport
from services.scoring.deadlines import quarter_bounds
from services.scoring.domain import FactsError
from services.scoring.upstream import (
    CAPITAL,
    FOLDS,
    Counting,
    Entry,
    LeaderFacts,
    MilestoneFacts,
    ProjectFacts,
    State,
    TripFacts,
    aware,
    read_entry,
    utc_iso,
)


class Facts:
    """What the upstream services have said, as scoring needs it.

    Keeps every applied event (reduced), keyed by (service, notification id): applying one
    twice changes nothing, and the state is folded in notification order per service, so it
    depends on which events were applied, never on the order they arrived in.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], Entry] = {}
        self._state: State | None = None
        self._latest: datetime | None = None  # the latest recorded_at applied
        self._by_quarter: dict[str, list[Entry]] | None = None  # by business date
        self._summaries: dict[Counting, MilestoneSummary] = {}  # by what is counted

    @classmethod
    def _of(cls, entries: Iterable[Entry]) -> Facts:
        facts = cls()
        for entry in entries:
            facts._add(entry)
        return facts

    def _add(self, entry: Entry) -> None:
        self._entries[(entry.service, entry.notification_id)] = entry
        if self._latest is None or entry.recorded_at > self._latest:
            self._latest = entry.recorded_at
        self._state = self._by_quarter = None
        self._summaries = {}

    def apply(self, service: str, wire_event: Mapping[str, Any]) -> bool:
        """Takes in one wire event; True if it was new and scoring reads its type."""
        number = wire_event.get("notification_id")
        if number.__class__ is not int:  # bool is an int, but not a notification id
            raise FactsError(
                "notification_id", number, "whole_number", "a whole number", zh="须为整数"
            )
        if (service, number) in self._entries:
            return False
        entry = read_entry(service, number, wire_event)
        if entry is None:
            return False
        self._add(entry)
        return True

    def as_of(self, recorded_by: datetime) -> Facts:
        """The facts as they stood at a moment: only events recorded by then."""
        moment = aware(recorded_by, "recorded_by")
        if self._latest is None or self._latest <= moment:
            return self  # nothing was recorded after the moment
        return Facts._of(e for e in self._entries.values() if e.recorded_at <= moment)

    def _about(self, quarter: str) -> list[Entry]:
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
    ) -> list[LateReport]:
        """Reports about the quarter recorded after the moment (or, with `after`, beyond an
        upstream position: after a publication): kept, never counted in its official
        ranking, listed with the 市州 they concern where known."""
        moment = None if recorded_by is None else aware(recorded_by, "recorded_by")

        def is_late(e: Entry) -> bool:
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
                "recorded_at": utc_iso(e.recorded_at),
            }
            for e in late
        ]

    def _region_of(self, entry: Entry) -> str | None:
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

    def milestone_summary(self, counting: Counting) -> MilestoneSummary:
        """What every quarter's ranking needs of the milestones, worked out once per way of
        counting them (甄别: which statuses and review levels count)."""
        if counting not in self._summaries:
            summary = MilestoneSummary({}, {}, {})
            for m in self._folded().milestones.values():
                if m.retracted_on is not None:
                    key = (m.project_code, quarter_of(m.retracted_on))
                    summary.retracted[key] = summary.retracted.get(key, 0) + 1
                if not counting.counts(m):
                    continue
                if m.kind == CAPITAL:
                    key = (m.project_code, quarter_of(m.occurred_on))
                    amount = m.amount or Decimal(0)
                    summary.capital[key] = summary.capital.get(key, Decimal(0)) + amount
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

    def target(self, unit: str, quarter: str, indicator: str) -> Decimal | None:
        """A unit's target for a quarter as the office (or its 市州) set it (target.set):
        the quarter's own, else a quarter of the year's."""
        found = self._folded().targets.get((unit, quarter[:4], indicator))
        if found is None:
            return None
        yearly, quarterly = found
        return yearly / 4 if quarterly is None else quarterly[int(quarter[-1]) - 1]

    def yearly_target(self, unit: str, year: str, indicator: str) -> Decimal | None:
        found = self._folded().targets.get((unit, year, indicator))
        return None if found is None else found[0]

    def _folded(self) -> State:
        if self._state is None:
            state = State()
            for key in sorted(self._entries):
                FOLDS[self._entries[key].type](state, self._entries[key])
            self._state = state
        return self._state


@dataclass(frozen=True)
class MilestoneSummary:
    first: dict[tuple[str, str], date]  # (project, kind) -> first counted day, but capital
    capital: dict[tuple[str, str], Decimal]  # (project, quarter) -> counted capital arrived
    retracted: dict[tuple[str, str], int]  # (project, quarter) -> reports retracted in it
