"""Deadlines in a quarter: its cut-off (the last day a report still counts for its official
ranking), the moment reporting for it closes, and the 附件3 tasks that fell overdue in it.

Quarters themselves are the calendar's (services/kernel/contract/calendar.py); scoring refuses a
malformed one as a ScoringError, as it always has. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from services.kernel.contract import calendar
from services.kernel.contract.calendar import SHANGHAI, QuarterInvalid
from services.scoring.domain import ScoringError
from services.scoring.policy import Policy

if TYPE_CHECKING:  # facts.py reads quarters through this module
    from services.scoring.facts import Facts


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter such as "2020Q3"; a ScoringError if it is not one."""
    try:
        return calendar.quarter_bounds(quarter)
    except QuarterInvalid as invalid:
        raise ScoringError(
            invalid.field, invalid.value, invalid.rule, invalid.message_en, zh=invalid.message_zh
        ) from None


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
