"""scoring as a nameko service: consumes registry and tracking, answers ranking queries,
rebuilds rankings from the upstream logs for auditors."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.report import Report
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    PULL_TIMEOUT_SECONDS,
    ApplicationProvider,
    catch_up,
    consume,
    pull_from,
    upstream_queue,
)
from services.kernel.process.observability import Observability
from services.kernel.store.audit import verify_log
from services.kernel.store.environment import store_env
from services.scoring.application import OFFICIAL, Read, ScoringApplication
from services.scoring.domain import ScoringError
from services.scoring.rebuild import end_of_day


def build() -> ScoringApplication:
    return ScoringApplication(store_env("scoring"))


def reader(upstream: Any) -> Read:
    """An upstream's read_wire RPC, each page bounded in time."""

    def read(start: int, stop: int | None, limit: int) -> dict | None:
        with eventlet.Timeout(PULL_TIMEOUT_SECONDS, TimeoutError):
            return upstream.read_wire(start, stop, limit)

    return read


def refused(error: ScoringError) -> RuleBroken:
    return RuleBroken(
        error.field, error.value, error.rule, f"无法重建：{error}", f"cannot rebuild: {error}"
    )


class ScoringService:
    name = "scoring"

    app: ScoringApplication = ApplicationProvider(
        build,
        relay_as="scoring",
        consumes=[upstream_queue("scoring", "registry"), upstream_queue("scoring", "tracking")],
    )
    observability = Observability()
    registry = RpcProxy("registry")
    tracking = RpcProxy("tracking")

    @consume(upstream_queue("scoring", "registry"), requeue_on_error=True)
    def on_registry(self, body: dict) -> None:
        self.app.follower.receive(body, pull_from(self.registry))

    @consume(upstream_queue("scoring", "tracking"), requeue_on_error=True)
    def on_tracking(self, body: dict) -> None:
        self.app.follower.receive(body, pull_from(self.tracking))

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        self._catch_up()

    def _catch_up(self) -> None:
        catch_up(self.app.follower, "registry", pull_from(self.registry))
        catch_up(self.app.follower, "tracking", pull_from(self.tracking))

    @rpc
    def ingest(self, reports: list[dict]) -> list[dict]:
        return self.app.ingest([Report.from_primitive(r) for r in reports])

    @rpc
    def get_ranking(self, quarter: str, view: str = OFFICIAL) -> dict:
        self._catch_up()  # a ranking answered now includes every report accepted before
        return self.app.get_ranking(quarter, view)

    @rpc
    def publish_ranking(self, quarter: str) -> dict:
        self._catch_up()
        return self.app.publish_ranking(quarter)

    @rpc
    def get_scorecard(self, quarter: str, region: str, view: str = OFFICIAL) -> dict | None:
        self._catch_up()
        return self.app.get_scorecard(quarter, region, view)

    @rpc
    def rebuild_ranking(self, quarter: str, as_of: str | None = None) -> dict:
        self._catch_up()  # today's view, to compare with, includes every accepted report
        reads = {"registry": reader(self.registry), "tracking": reader(self.tracking)}
        try:
            return self.app.rebuild_ranking(quarter, reads, as_of and end_of_day(as_of))
        except ScoringError as error:
            raise refused(error) from None

    @rpc
    def verify(self) -> dict:
        return verify_log(self.app, "scoring")

    @rpc
    def read_wire(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        return self.app.read_wire(start, stop, limit)
