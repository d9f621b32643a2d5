"""The plan's calendar: business dates are dates in Asia/Shanghai (README "Reports").

Standard library only, so domain modules may import it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()
