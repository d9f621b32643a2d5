"""tracking as a nameko service: thin entrypoints over TrackingApplication."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from eventsourcing.persistence import IntegrityError
from nameko.timer import timer

from services.kernel.contract.report import Report
from services.kernel.contract.wire import json_safe
from services.kernel.ingest.reports import StoreUnavailable
from services.kernel.process import entrypoints
from services.kernel.process.nameko_support import (
    CATCH_UP_SECONDS,
    ApplicationProvider,
    pull_from,
)
from services.kernel.process.observability import Observability
from services.kernel.process.prompt import RpcProxy, rpc
from services.kernel.store.environment import store_env
from services.tracking import evidence_rpc, registry_view, review
from services.tracking.application import TrackingApplication


def build() -> TrackingApplication:
    return TrackingApplication(store_env("tracking"))


class TrackingService(
    entrypoints.IntakeEntrypoints,
    entrypoints.ReportLogEntrypoints,
    evidence_rpc.EvidenceEntrypoints,  # 佐证材料
):
    name = "tracking"

    app: TrackingApplication = ApplicationProvider(build, relay_as="tracking", follows=["registry"])
    observability = Observability()
    registry = RpcProxy("registry")

    # registry's events keep tracking's view of it (services/tracking/registry_view.py)
    on_registry = entrypoints.follow("tracking", "registry")

    @timer(interval=CATCH_UP_SECONDS)
    def catch_up(self) -> None:
        entrypoints.catch_up_with(self, "registry")

    def caught_up(self, after: Mapping[str, int]) -> None:
        """Read-your-writes: the gateway names registry's position after the part of a batch
        registry applied; the view is brought at least that far (a gap pull) before judging."""
        if after.get("registry", 0) > self.app.follower.at_least("registry"):
            self._heard()

    def judged(self, run: list[Report], judge: entrypoints.Judge) -> list[dict]:
        """Judged against the view of registry, without asking registry; a report naming a
        project or leader the view has not heard of yet is judged again once it caught up."""
        return registry_view.judged_again(run, lambda reports: judge(reports, None), self._heard)

    def _heard(self) -> bool:
        """Catch up with registry now; whether that brought anything new. Should registry not
        answer, the call is answered unavailable (the sender resends; what was stored answers
        "duplicate"), never a report refused for what registry may well hold."""
        before = self.app.follower.position("registry")
        try:
            self.app.follower.catch_up("registry", pull_from(self.registry))
        except IntegrityError:
            pass  # another replica stored the same range first: the view is in the store
        except Exception as error:
            raise StoreUnavailable(f"tracking cannot catch up with registry: {error!r}") from error
        return self.app.follower.position("registry") > before

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
        evidence_rpc.with_evidence(self.app, answer["items"])
        return json_safe(answer)

    @rpc
    def leader_progress(self, year: int, unit: str = "") -> dict:
        leaders = self.registry.leaders(unit)
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
