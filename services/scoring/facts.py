"""The facts projection: what the upstream services have said, as scoring needs it (the wire
events upstream.py reads, folded in order; kept in memory or read back from scoring's store).
Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

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
    read_entry,
)
from services.scoring.wireform import aware, utc_iso

# Reads the events applied, in notification order per service (History).
History = Callable[[], Iterable[Entry]]
VIEWS_KEPT = 2  # the facts as of a moment (a quarter's close), the latest asked for
LATE_KEPT = 8  # lists of late reports, by (quarter, moment, positions)


class Facts:
    """What the upstream services have said, as scoring needs it: the state folded from the
    events applied, in notification order per service, and what a ranking asks of the events
    themselves (when each quarter was first reported about, which reports came late, the facts
    as they stood at a moment).

    Where the events applied are kept decides the memory it takes:
    - in memory (no `history`): every applied event (reduced), keyed by (service, notification
      id), so applying one twice changes nothing and any order of arrival folds to the same
      state; for an auditor's replay and the tests.
    - in the service's store (`history` reads them back, in notification order per service):
      scoring's ledgers hold them, so memory holds only the folded state and a few cached
      answers (VIEWS_KEPT, LATE_KEPT), however long the log. The follower applies each
      upstream's events once and in order; an event at or below the last one applied from its
      service is taken as applied.
    """

    def __init__(self, history: History | None = None) -> None:
        self._kept: dict[tuple[str, int], Entry] | None = None if history else {}
        self._history: History = history or self._kept_in_order
        self._state = State()
        self._refold = False  # an event came after a later one of its service was folded
        self._last: dict[str, int] = {}  # per service, the last notification id folded
        self._latest: datetime | None = None  # the latest recorded_at applied
        self._first: dict[date, datetime] = {}  # business day -> first report about it recorded
        self._summaries: dict[Counting, MilestoneSummary] = {}  # by what is counted
        self._views: dict[datetime, Facts] = {}  # as_of answers
        self._late: dict[tuple, list[Entry]] = {}  # late reports, by what was asked

    def _kept_in_order(self) -> Iterator[Entry]:
        kept = cast(dict, self._kept)
        return (kept[key] for key in sorted(kept))

    def apply(self, service: str, wire_event: Mapping[str, Any]) -> bool:
        """Takes in one wire event; True if it was new and scoring reads its type."""
        number = wire_event.get("notification_id")
        if number.__class__ is not int:  # bool is an int, but not a notification id
            raise FactsError(
                "notification_id", number, "whole_number", "a whole number", zh="须为整数"
            )
        if self._kept is None:
            if number <= self._last.get(service, 0):
                return False
        elif (service, number) in self._kept:
            return False
        entry = read_entry(service, number, wire_event)
        if entry is None:
            return False
        self._add(entry)
        return True

    def _add(self, entry: Entry) -> None:
        service, number, recorded = entry.service, entry.notification_id, entry.recorded_at
        if self._kept is not None:
            self._kept[(service, number)] = entry
        if number > self._last.get(service, 0):
            self._last[service] = number
            if not self._refold:
                FOLDS[entry.type](self._state, entry)
        else:  # in memory only: folded again, in order, when next read
            self._refold = True
        if self._latest is None or recorded > self._latest:
            self._latest = recorded
        first = self._first.get(entry.occurred_on)
        if first is None or recorded < first:
            self._first[entry.occurred_on] = recorded
        if self._summaries:
            self._summaries = {}
        if self._views or self._late:
            self._keep_answers(entry, quarter_of(entry.occurred_on))

    def _keep_answers(self, entry: Entry, quarter: str) -> None:
        """The cached answers, as the new entry changes them."""
        for moment in [m for m in self._views if entry.recorded_at <= m]:
            del self._views[moment]  # the facts as of then changed: asked again, made again
        for (about, moment, after), late in self._late.items():
            if about == quarter and _is_late(entry, moment, None if after is None else dict(after)):
                late.append(entry)

    def as_of(self, recorded_by: datetime) -> Facts:
        """The facts as they stood at a moment: only events recorded by then."""
        moment = aware(recorded_by, "recorded_by")
        if self._latest is None or self._latest <= moment:
            return self  # nothing was recorded after the moment

        def made() -> Facts:
            view = Facts(lambda: (e for e in self._history() if e.recorded_at <= moment))
            for entry in view._history():
                view._add(entry)
            return view

        return _remembered(self._views, moment, made, VIEWS_KEPT)

    def first_recorded(self, quarter: str) -> datetime | None:
        """When the first report about the quarter (its business date in it) was recorded."""
        first, last = quarter_bounds(quarter)
        return min((t for day, t in self._first.items() if first <= day <= last), default=None)

    def late(
        self,
        quarter: str,
        recorded_by: datetime | None = None,
        after: Mapping[str, int] | None = None,
    ) -> list[LateReport]:
        """Reports about the quarter recorded after the moment (or, with `after`, beyond an
        upstream position: after a publication): kept, never counted in its official
        ranking, listed with the 市州 they concern where known."""
        quarter_bounds(quarter)  # refuses a malformed quarter
        moment = None if recorded_by is None else aware(recorded_by, "recorded_by")
        positions = None if after is None else tuple(sorted(after.items()))
        if not self._any_late(moment, after):
            return []
        late = _remembered(
            self._late,
            (quarter, moment, positions),
            lambda: [
                e
                for e in self._history()
                if quarter_of(e.occurred_on) == quarter and _is_late(e, moment, after)
            ],
            LATE_KEPT,
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
            for e in sorted(late, key=lambda e: (e.recorded_at, e.service, e.notification_id))
        ]

    def _any_late(self, moment: datetime | None, after: Mapping[str, int] | None) -> bool:
        """Whether anything applied could be late: recorded after the moment or beyond the
        positions."""
        if moment is not None and self._latest is not None and self._latest > moment:
            return True
        return after is not None and any(n > after.get(s, 0) for s, n in self._last.items())

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
        if self._refold:
            self._state, self._refold = State(), False
            for entry in self._history():
                FOLDS[entry.type](self._state, entry)
        return self._state


def _is_late(entry: Entry, moment: datetime | None, after: Mapping[str, int] | None) -> bool:
    """Recorded after the moment, or beyond the upstream positions `after`."""
    if moment is not None and entry.recorded_at > moment:
        return True
    return after is not None and entry.notification_id > after.get(entry.service, 0)


def _remembered(cache: dict, key: Any, make: Callable[[], Any], kept: int) -> Any:
    """`cache[key]`, made if missing; the latest asked for are kept, `kept` of them."""
    value = cache.pop(key, None)
    if value is None:
        value = make()
    cache[key] = value
    while len(cache) > kept:
        del cache[next(iter(cache))]
    return value


@dataclass(frozen=True)
class MilestoneSummary:
    first: dict[tuple[str, str], date]  # (project, kind) -> first counted day, but capital
    capital: dict[tuple[str, str], Decimal]  # (project, quarter) -> counted capital arrived
    retracted: dict[tuple[str, str], int]  # (project, quarter) -> reports retracted in it
