"""The back-off between a failed delivery's attempts, and how many are made before a delivery
is given up (`NOTIFY_MAX_ATTEMPTS`, `NOTIFY_RETRY_FIRST_SECONDS`, `NOTIFY_RETRY_MAX_SECONDS`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notify.domain import NotifyError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: first_delay, 2×, 4×, … at most max_delay; no more than
    max_attempts attempts in all."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise NotifyError("max_attempts", self.max_attempts, "at_least_one", "try once")
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise NotifyError(
                "first_delay", self.first_delay, "positive_delays", "0 < first ≤ max delay"
            )

    def retry_at(self, attempt: int, failed_at: datetime) -> datetime | None:
        """When to try again after attempt number `attempt` failed; None: give up."""
        if attempt >= self.max_attempts:
            return None
        return failed_at + min(self.first_delay * 2 ** (attempt - 1), self.max_delay)
