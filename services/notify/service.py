"""notify as a nameko service: the circular (通报) and the notices of each published ranking,
deadline reminders, and their delivery by e-mail and webhook."""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    ApplicationProvider,
)
from services.kernel.process.observability import Observability
from services.notify.application import NotifyApplication
from services.notify.bootstrap import build

DELIVER_SECONDS = 5  # how soon a new notice, or a retry that fell due, goes out
REMINDER_SECONDS = 3600  # reminders are by the day; hourly is soon enough after midnight


class NotifyService:
    name = "notify"

    app: NotifyApplication = ApplicationProvider(build, follows=["scoring", "tracking"])
    observability = Observability()
    scoring = RpcProxy("scoring")
    tracking = RpcProxy("tracking")

    on_scoring = entrypoints.follow("notify", "scoring")
    on_tracking = entrypoints.follow("notify", "tracking")

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        entrypoints.catch_up_with(self, "scoring", "tracking")

    @timer(interval=REMINDER_SECONDS)
    def remind(self) -> None:
        self.app.issue_reminders()

    @timer(interval=DELIVER_SECONDS)
    def deliver(self) -> None:
        self.app.deliver_due()

    @rpc
    def circular_files(self, ranking_hash: str) -> list[str]:
        return self.app.circular_files(ranking_hash)

    @rpc
    def deliveries(
        self, unit: str | None = None, status: str | None = None, kind: str | None = None
    ) -> list[dict]:
        return self.app.deliveries(unit, status, kind)

    @rpc
    def failures(self) -> list[dict]:
        return self.app.failures()
