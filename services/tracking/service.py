"""tracking as a nameko service: thin entrypoints over TrackingApplication."""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc

from services.common.contracts import Report
from services.common.nameko_support import EventSourcedApplication
from services.common.observability import Observability
from services.common.store import store_env
from services.tracking.application import TrackingApplication, milestone_project_codes


def build() -> TrackingApplication:
    return TrackingApplication(store_env("tracking"))


class TrackingService:
    name = "tracking"

    app: TrackingApplication = EventSourcedApplication(build, relay_as="tracking")
    observability = Observability()
    registry = RpcProxy("registry")

    @rpc
    def ingest(self, reports: list[dict]) -> list[dict]:
        run = [Report.from_primitive(r) for r in reports]
        codes = milestone_project_codes(run)
        projects = self.registry.project_states(sorted(codes)) if codes else {}
        return self.app.ingest(run, {"projects": projects})

    @rpc
    def history(self, project_code: str) -> list[dict]:
        return self.app.history(project_code)

    @rpc
    def read_wire(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        return self.app.read_wire(start, stop, limit)
