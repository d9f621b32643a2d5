"""registry as a nameko service: thin entrypoints over RegistryApplication.

It consumes tracking's events (the 开工 list, (二)); queries that show lists first catch up with
tracking, so they include every start accepted before them.
"""

from __future__ import annotations

from nameko.timer import timer

from services.kernel.contract.wire import json_safe
from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    ApplicationProvider,
)
from services.kernel.process.observability import Observability
from services.kernel.process.prompt import RpcProxy, rpc
from services.kernel.store.environment import store_env
from services.registry.application import RegistryApplication


def build() -> RegistryApplication:
    return RegistryApplication(store_env("registry"))


class RegistryService(entrypoints.IntakeEntrypoints, entrypoints.ReportLogEntrypoints):
    name = "registry"

    app: RegistryApplication = ApplicationProvider(build, relay_as="registry", follows=["tracking"])
    observability = Observability()
    tracking = RpcProxy("tracking")

    on_tracking = entrypoints.follow("registry", "tracking")

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        entrypoints.catch_up_with(self, "tracking")

    @rpc
    def get_project(self, project_code: str) -> dict | None:
        self.catch_up()
        return json_safe(self.app.get_project(project_code))

    @rpc
    def list_projects(
        self, list_name: str = "", region: str = "", department: str = "", register: bool = False
    ) -> dict:
        self.catch_up()
        return json_safe(self.app.list_projects(list_name, region, department, register))

    @rpc
    def five_ones_gaps(self, unit: str = "") -> dict:
        return json_safe(self.app.five_ones_gaps(unit))

    @rpc
    def leaders(self, unit: str = "") -> list[dict]:
        return json_safe(self.app.leaders_of(unit))

    @rpc
    def leader_states(self, leader_ids: list[str]) -> dict:
        # tracking now asks `states`; this stays for a tracking of the previous release while
        # a rolling update replaces the services one by one.
        return json_safe(self.app.leader_states(leader_ids))

    @rpc
    def states(self, project_codes: list[str], leader_ids: list[str]) -> dict:
        """What tracking checks a run of reports against, in one round trip: the projects'
        and the leaders' states ({"projects": ..., "leaders": ...})."""
        return json_safe(
            {
                "projects": self.app.project_states(project_codes),
                "leaders": self.app.leader_states(leader_ids),
            }
        )

    @rpc
    def record_refusals(self, refused: list[dict]) -> int:
        return self.app.record_refusals(refused)

    @rpc
    def project_states(self, project_codes: list[str]) -> dict:
        return json_safe(self.app.project_states(project_codes))
