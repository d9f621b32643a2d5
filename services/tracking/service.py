"""tracking as a nameko service: thin entrypoints over TrackingApplication."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc

from services.kernel.contract.report import Report
from services.kernel.contract.wire import json_safe
from services.kernel.ingest import isolation
from services.kernel.ingest.reports import STORE_DOWN_NAMES, StoreUnavailable
from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import ApplicationProvider
from services.kernel.process.observability import Observability
from services.kernel.store.environment import store_env
from services.tracking import evidence_rpc, review
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


class TrackingService(
    entrypoints.IntakeEntrypoints,
    entrypoints.ReportLogEntrypoints,
    evidence_rpc.EvidenceEntrypoints,  # 佐证材料
):
    name = "tracking"

    app: TrackingApplication = ApplicationProvider(build, relay_as="tracking")
    observability = Observability()
    registry = RpcProxy("registry")

    def judged(self, run: list[Report], judge: entrypoints.Judge) -> list[dict]:
        """Judged with registry's states of the projects and leaders the run names. Should
        registry fail on the run (its store down aside: the sender resends), each report is
        judged with its own look-up, so only the one that causes it is rejected."""
        try:
            states = self._registry_states(run)
        except RemoteError:
            return isolation.one_by_one(run, lambda one: judge(one, self._registry_states(one)))
        return judge(run, states)

    def _registry_states(self, run: list[Report]) -> dict[str, dict]:
        """What registry holds of the projects and leaders the run names."""
        codes, leaders = sorted(project_codes(run)), sorted(leader_keys(run))
        if not (codes or leaders):
            return {"projects": {}, "leaders": {}}
        with registry_store_down_is_unavailable():
            return self.registry.states(codes, leaders)

    @rpc
    def milestones(self, project_code: str) -> dict | None:
        project = self.registry.project_states([project_code]).get(project_code)
        if project is None:
            return None
        total = Decimal(project["total_investment"])
        view = self.app.milestones(project_code, total)
        evidence_rpc.with_evidence(self.app, view["milestones"])
        return json_safe(view)

    @rpc
    def awaiting_review(
        self,
        unit: str = "",
        report_type: str = "",
        min_age_days: int = 0,
        limit: int = review.DEFAULT_LIMIT,
        page: int = 0,
    ) -> dict:
        """甄别 (十九): the open reports, oldest first, with registry's facts of their
        projects and leaders (Query.ListAwaitingReview)."""
        reports = self.app.open_reports()
        subjects = [review.subject(r) for r in reports]
        codes = sorted({code for code, _ in subjects if code})
        leaders = sorted({leader for _, leader in subjects if leader})
        states = self.registry.states(codes, leaders) if codes or leaders else {}
        answer = review.queue(
            reports,
            states.get("projects", {}),
            states.get("leaders", {}),
            self.app.ref,
            now=datetime.now(UTC),
            unit=unit,
            report_type=report_type,
            min_age_days=min_age_days,
            limit=limit,
            page=page,
        )
        return json_safe(answer)

    @rpc
    def leader_progress(self, year: int, unit: str = "") -> dict:
        leaders = self.registry.leaders(unit)
        evidence_rpc.with_evidence(self.app, answer["items"])
        return json_safe(self.app.leader_progress(leaders, year))

    @rpc
    def promotion_events(self, unit: str = "") -> dict:
        return json_safe(self.app.promotion_events(unit))

    @rpc
    def task_status(self, as_of: str, unit: str = "", task_id: str = "") -> dict:
        """附件3 tasks; those the data tells of (leaders' trips and projects, tasks.yaml
        `known_from`) read registry's leaders with their planned projects."""
        known = task_id == "" or self.app.ref.tasks[task_id].known_from is not None
        leaders = self.registry.leaders(unit) if known else []
        day = date.fromisoformat(as_of)
        return json_safe(self.app.task_status(day, unit, task_id, leaders))

    @rpc
    def matter_status(self, as_of: str, unit: str = "", matter_id: str = "") -> dict:
        return json_safe(self.app.matter_status(date.fromisoformat(as_of), unit, matter_id))
