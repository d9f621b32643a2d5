"""The reminder calendar: which 附件3 tasks and 附件4 matters units owe by when (`deadlines`),
the stages of reminding about one (`ReminderSchedule`), and the reminders due on a day
(`due_reminders`). Pure rules; the application issues what they select."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from services.kernel.reference import Reference
from services.notify.domain import NotifyError


@dataclass(frozen=True)
class Deadline:
    """An item some units owe by a date: an 附件3 task, an 附件4 matter, or a commitment made
    at 约谈 (services/notify/yearly.py)."""

    item: str
    due: date
    units: frozenset[str]
    name: str = ""  # what is owed, where the reference data does not name it (a commitment)


@dataclass(frozen=True)
class Stage:
    name: str  # "before-7d", "overdue-1d"
    on: date
    days_late: int  # negative: days before the deadline


@dataclass(frozen=True)
class ReminderSchedule:
    """Reminders `before_days` before a deadline and overdue notices `overdue_days` after it.

    On any day only the latest stage reached counts (a service that was down for the 7-day
    reminder sends the 1-day one, not both), and only within `grace_days` of that stage's date
    (a service started long after a deadline does not flood units with stale notices).
    """

    before_days: tuple[int, ...] = (7, 1)
    overdue_days: tuple[int, ...] = (1,)
    grace_days: int = 7

    def __post_init__(self) -> None:
        for name in ("before_days", "overdue_days"):
            days = getattr(self, name)
            if any(d < 1 for d in days) or len(set(days)) != len(days):
                raise NotifyError(name, days, "distinct_positive_days", "e.g. (7, 1)")
        if self.grace_days < 0:
            raise NotifyError("grace_days", self.grace_days, "not_negative", "0 or more days")

    def stages(self, due: date) -> list[Stage]:
        stages = [Stage(f"before-{d}d", due - timedelta(days=d), -d) for d in self.before_days]
        stages += [Stage(f"overdue-{d}d", due + timedelta(days=d), d) for d in self.overdue_days]
        return sorted(stages, key=lambda s: s.on)

    def stage_on(self, due: date, today: date) -> Stage | None:
        reached = [s for s in self.stages(due) if s.on <= today]
        if not reached or (today - reached[-1].on).days > self.grace_days:
            return None
        return reached[-1]


def due_reminders(
    deadlines: Iterable[Deadline],
    schedule: ReminderSchedule,
    today: date,
    is_done: Callable[[str, str], bool],
    reachable: Callable[[str], bool],
) -> Iterator[tuple[Deadline, str, Stage]]:
    """(deadline, unit, stage) for every reminder due today, in a stable order."""
    for deadline in deadlines:
        stage = schedule.stage_on(deadline.due, today)
        if stage is None:
            continue
        for unit in sorted(deadline.units):
            if reachable(unit) and not is_done(deadline.item, unit):
                yield deadline, unit, stage


def deadlines(ref: Reference) -> Iterator[Deadline]:
    """附件3 tasks (due the last day of their month) and 附件4 matters, with the units that
    owe them in the form units report as (a region code, `dept:<key>`, `org:<key>` for 武汉铁路局
    and 湖北机场集团, who report their own progress; 附件4's own words for a group)."""
    for task in ref.tasks.values():
        yield Deadline(f"task:{task.id}", task.deadline_date, ref.responsible_units(task.id))
    for matter in ref.matters.values():
        units = frozenset(ref.unit_named(unit) or unit for unit in matter.responsible)
        yield Deadline(f"matter:{matter.id}", matter.due, units)
