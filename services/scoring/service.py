"""scoring as a nameko service: consumes registry and tracking, answers ranking queries,
rebuilds rankings from the upstream logs for auditors."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.timer import timer

from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.ranking import RankingAnswer, Rebuild, Scorecard
from services.kernel.contract.wire import json_safe
from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    PULL_TIMEOUT_SECONDS,
    ApplicationProvider,
)
from services.kernel.process.observability import Observability
from services.kernel.process.prompt import RpcProxy, rpc
from services.kernel.store.environment import store_env
from services.scoring import whatif
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


class ScoringService(entrypoints.IntakeEntrypoints, entrypoints.LogEntrypoints):
    name = "scoring"

    app: ScoringApplication = ApplicationProvider(
        build, relay_as="scoring", follows=["registry", "tracking"]
    )
    observability = Observability()
    registry = RpcProxy("registry")
    tracking = RpcProxy("tracking")

    on_registry = entrypoints.follow("scoring", "registry")
    on_tracking = entrypoints.follow("scoring", "tracking")

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        self._catch_up()

    def _catch_up(self) -> None:
        entrypoints.catch_up_with(self, "registry", "tracking")

    @rpc
    def get_ranking(self, quarter: str, view: str = OFFICIAL) -> RankingAnswer:
        self._catch_up()  # a ranking answered now includes every report accepted before
        return self.app.get_ranking(quarter, view)

    @rpc
    def publish_ranking(self, quarter: str) -> RankingAnswer:
        self._catch_up()
        return self.app.publish_ranking(quarter)

    @rpc
    def get_scorecard(self, quarter: str, region: str, view: str = OFFICIAL) -> Scorecard | None:
        self._catch_up()
        return self.app.get_scorecard(quarter, region, view)

    @rpc
    def yearly_assessment(self, year: str) -> dict:
        """(十九)(十五): the year per 市州 from its four quarters, and its rewards."""
        self._catch_up()
        return json_safe(self.app.yearly_assessment(year))

    @rpc
    def open_commitments(self, unit: str = "") -> list[dict]:
        """约谈 commitments not reported done (the circulars and reminders show them)."""
        return json_safe(self.app.open_commitments(unit))

    @rpc
    def try_policy(self, quarter: str, changes: dict[str, Any]) -> dict[str, Any]:
        """试算 (services/scoring/whatif.py): the quarter under a changed policy; nothing stored."""
        self._catch_up()
        try:
            with self.app.follower.up_to_date():
                return whatif.try_policy(self.app, quarter, changes)
        except ScoringError as error:
            raise RuleBroken(
                error.field,
                error.value,
                error.rule,
                f"无法试算：{error.message_zh}",
                f"cannot try the policy: {error}",
            ) from None

    @rpc
    def rebuild_ranking(self, quarter: str, as_of: str | None = None) -> Rebuild:
        self._catch_up()  # today's view, to compare with, includes every accepted report
        reads = {"registry": reader(self.registry), "tracking": reader(self.tracking)}
        try:
            return self.app.rebuild_ranking(quarter, reads, end_of_day(as_of) if as_of else None)
        except ScoringError as error:
            raise refused(error) from None
