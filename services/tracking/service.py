"""tracking as a nameko service: thin entrypoints over TrackingApplication."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc

from services.kernel.contract.report import Report
from services.kernel.contract.wire import json_safe
from services.kernel.ingest.reports import STORE_DOWN_NAMES, StoreUnavailable
from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import ApplicationProvider
from services.kernel.process.observability import Observability
from services.kernel.store.environment import store_env
from services.tracking.application import TrackingApplication, leader_keys, project_codes


def build() -> TrackingApplication:
    return TrackingApplication(store_env("tracking"))


@contextmanager
def registry_store_down_is_unavailable() -> Iterator[None]:
    """registry lost its database mid-call (a restart, a failover): the sender may resend."""
    try:
        yield
    except RemoteError as error:
        if error.exc_type in STORE_DOWN_NAMES:
            raise StoreUnavailable(f"registry cannot read its store: {error.value}") from error
        raise


class TrackingService(entrypoints.ReportLogEntrypoints):
    name = "tracking"

    app: TrackingApplication = ApplicationProvider(build, relay_as="tracking")
    observability = Observability()
    registry = RpcProxy("registry")

    @rpc
    def ingest(self, reports: list[dict]) -> list[dict]:
        run = [Report.from_primitive(r) for r in reports]
        codes, leaders = sorted(project_codes(run)), sorted(leader_keys(run))
        context: dict[str, dict] = {"projects": {}, "leaders": {}}
        if codes or leaders:
            with registry_store_down_is_unavailable():
                context = self.registry.states(codes, leaders)
        return self.app.ingest(run, context)

    @rpc
    def milestones(self, project_code: str) -> dict | None:
        project = self.registry.project_states([project_code]).get(project_code)
        if project is None:
            return None
        total = Decimal(project["total_investment"])
        return json_safe(self.app.milestones(project_code, total))

    @rpc
    def leader_progress(self, year: int, unit: str = "") -> dict:
        leaders = self.registry.leaders(unit)
        return json_safe(self.app.leader_progress(leaders, year))

    @rpc
    def promotion_events(self, unit: str = "") -> dict:
        return json_safe(self.app.promotion_events(unit))

    @rpc
    def task_status(self, as_of: str, unit: str = "", task_id: str = "") -> dict:
        return json_safe(self.app.task_status(date.fromisoformat(as_of), unit, task_id))

    @rpc
    def matter_status(self, as_of: str, unit: str = "", matter_id: str = "") -> dict:
        return json_safe(self.app.matter_status(date.fromisoformat(as_of), unit, matter_id))
