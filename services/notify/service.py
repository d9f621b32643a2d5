"""notify as a nameko service: the circular (通报) and the notices of each published ranking,
deadline reminders, and their delivery by e-mail and webhook."""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    ApplicationProvider,
    catch_up,
    consume,
    pull_from,
    upstream_queue,
)
from services.kernel.process.observability import Observability
from services.notify.application import NotifyApplication
from services.notify.bootstrap import build

DELIVER_SECONDS = 5  # how soon a new notice, or a retry that fell due, goes out
REMINDER_SECONDS = 3600  # reminders are by the day; hourly is soon enough after midnight


class NotifyService:
    name = "notify"

    app: NotifyApplication = ApplicationProvider(
        build, consumes=[upstream_queue("notify", "scoring"), upstream_queue("notify", "tracking")]
    )
    observability = Observability()
    scoring = RpcProxy("scoring")
    tracking = RpcProxy("tracking")

    @consume(upstream_queue("notify", "scoring"), requeue_on_error=True)
    def on_scoring(self, body: dict) -> None:
        self.app.follower.receive(body, pull_from(self.scoring))

    @consume(upstream_queue("notify", "tracking"), requeue_on_error=True)
    def on_tracking(self, body: dict) -> None:
        self.app.follower.receive(body, pull_from(self.tracking))

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        catch_up(self.app.follower, "scoring", pull_from(self.scoring))
        catch_up(self.app.follower, "tracking", pull_from(self.tracking))

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
