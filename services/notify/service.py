"""notify as a nameko service: writes each published ranking's circular (通报)."""

from __future__ import annotations

from nameko.messaging import consume
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.common.nameko_support import (
    CATCH_UP_SECONDS,
    EventSourcedApplication,
    catch_up,
    pull_from,
    upstream_queue,
)
from services.common.store import store_env, var_dir
from services.notify.application import NotifyApplication


def build() -> NotifyApplication:
    return NotifyApplication(store_env("notify"), circulars=var_dir() / "circulars")


class NotifyService:
    name = "notify"

    app: NotifyApplication = EventSourcedApplication(
        build, consumes=[upstream_queue("notify", "scoring")]
    )
    scoring = RpcProxy("scoring")

    @consume(upstream_queue("notify", "scoring"), requeue_on_error=True)
    def on_scoring(self, body: dict) -> None:
        self.app.receive(body, pull_from(self.scoring))

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        catch_up(self.app, "scoring", pull_from(self.scoring))

    @rpc
    def circular_files(self, ranking_hash: str) -> list[str]:
        return self.app.circular_files(ranking_hash)
