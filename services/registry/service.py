"""registry as a nameko service: thin entrypoints over RegistryApplication."""

from __future__ import annotations

from nameko.rpc import rpc

from services.common.contracts import Report
from services.common.nameko_support import EventSourcedApplication
from services.common.observability import Observability
from services.common.store import store_env
from services.common.wire import json_safe
from services.registry.application import RegistryApplication


def build() -> RegistryApplication:
    return RegistryApplication(store_env("registry"))


class RegistryService:
    name = "registry"

    app: RegistryApplication = EventSourcedApplication(build, relay_as="registry")
    observability = Observability()

    @rpc
    def ingest(self, reports: list[dict]) -> list[dict]:
        return self.app.ingest([Report.from_primitive(r) for r in reports])

    @rpc
    def get_project(self, project_code: str) -> dict | None:
        return json_safe(self.app.get_project(project_code))

    @rpc
    def project_states(self, project_codes: list[str]) -> dict:
        return json_safe(self.app.project_states(project_codes))

    @rpc
    def history(self, project_code: str) -> list[dict]:
        return self.app.history(project_code)

    @rpc
    def read_wire(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        return self.app.read_wire(start, stop, limit)
