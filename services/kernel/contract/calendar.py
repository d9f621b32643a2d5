"""The plan's calendar: business dates are dates in Asia/Shanghai (docs/DECISIONS.md "Money and
dates"), counted in quarters such as "2020Q3" (the rankings of (十九) are quarterly).

Standard library only (and errors.py), so domain modules may import it.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.kernel.contract.errors import RuleBroken

SHANGHAI = ZoneInfo("Asia/Shanghai")

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class QuarterInvalid(RuleBroken, ValueError):
    """A quarter that does not read like "2020Q3"."""

    def __init__(self, quarter: Any) -> None:
        super().__init__(
            "quarter",
            quarter,
            "quarter_format",
            '季度应写作 "2020Q3" 这样的形式（年份加 Q1–Q4）',
            'a quarter reads "2020Q3"',
        )


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def is_quarter(value: Any) -> bool:
    return isinstance(value, str) and _QUARTER.match(value) is not None


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter such as "2020Q3"; QuarterInvalid if it is not one."""
    match = _QUARTER.match(quarter) if isinstance(quarter, str) else None
    if match is None:
        raise QuarterInvalid(quarter)
    year, last_month = int(match[1]), int(match[2]) * 3
    return date(year, last_month - 2, 1), date(year, last_month, monthrange(year, last_month)[1])


def previous_quarter(quarter: str) -> str:
    first_day, _ = quarter_bounds(quarter)
    return quarter_of(first_day - timedelta(days=1))
