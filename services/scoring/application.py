"""Scoring: consumes registry's and tracking's events, ranks the 17 市州 each quarter (十九),
publishes rankings, and owns the scoring policy (policy.adopted).

What it consumed is kept in its own store as ledgers (one per upstream, each entry the batch of
wire events a message carried), with the upstream positions in the same transactions. The facts
projection is rebuilt from the ledgers at start; rankings are pure functions of facts and policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Tracking

from services.common import ids
from services.common.consumer import ConsumerApplication
from services.common.contracts import Report
from services.common.reference import DATA_DIR, Reference, reference
from services.common.reports import Batch, ReportApplication
from services.common.rules import RuleBroken
from services.scoring.domain import (
    DueTask,
    Facts,
    Ledger,
    Policy,
    PolicyBook,
    PolicyError,
    PublishedRanking,
    overdue_tasks,
    rank_quarter,
    ranking_hash,
    record_task_completion,
)

UPSTREAMS = ("registry", "tracking")
DEFAULT_POLICY_FILE = DATA_DIR / "policy-2020.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICIAL, PROVISIONAL = "official", "provisional"


def load_policy_file(path: Path = DEFAULT_POLICY_FILE) -> Policy:
    with path.open(encoding="utf-8") as f:
        return Policy.from_mapping(yaml.safe_load(f))


class ScoringApplication(ReportApplication, ConsumerApplication):
    name = "scoring"
    service = "scoring"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        ref: Reference | None = None,
        default_policy: Policy | None = None,
    ) -> None:
        self.ref = ref or reference()
        self.default_policy = default_policy or load_policy_file()
        super().__init__(env)
        self.facts = Facts()
        self.tasks_done: dict[tuple[str, str], date] = {}
        self.ledgers = {upstream: self._replay_ledger(upstream) for upstream in UPSTREAMS}

    # Consuming upstream events ----------------------------------------------------------

    def _replay_ledger(self, upstream: str) -> Ledger:
        """Rebuild the facts from what was consumed, in one pass over the ledger."""
        ledger = None
        for entry in self.events.get(ids.named_id("ledger", upstream)):
            ledger = entry.mutate(ledger)
            for wire in getattr(entry, "events", ()):
                self._apply_fact(upstream, wire)
        return ledger or Ledger(upstream=upstream)

    def process(self, upstream: str, events: list[dict], tracking: Tracking) -> None:
        ledger = self.ledgers[upstream]
        if events:
            ledger.receive(last=tracking.notification_id, events=events)
        try:
            self.record_tracked(tracking, ledger)
        except Exception:
            self.ledgers[upstream] = self.repository.get(ledger.id)  # drop what was not stored
            raise
        for wire in events:
            self._apply_fact(upstream, wire)

    def _apply_fact(self, upstream: str, wire: dict) -> None:
        self.facts.apply(upstream, wire)
        record_task_completion(self.tasks_done, wire)

    # Policy (policy.adopted, from the office only) --------------------------------------

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        if report.source != "office":
            raise RuleBroken(
                "source",
                report.source,
                "office_only",
                "只有省招商引资工作领导小组办公室可以发布评分政策",
                "only the office (领导小组办公室) adopts a scoring policy",
            )
        payload = report.payload
        try:
            Policy.from_mapping(payload["policy"])
        except PolicyError as error:
            raise RuleBroken(
                f"payload.policy.{error.field}",
                error.value,
                error.rule,
                f"评分政策无效：{error}",
                f"the policy is invalid: {error}",
            ) from None
        book = batch.get(ids.named_id("policies", "book")) or PolicyBook()
        book.adopt(
            event_id=str(report.event_id),
            source=report.source,
            occurred_on=report.occurred_on,
            version=payload["version"],
            effective_from=payload["effective_from"],
            policy=dict(payload["policy"]),
        )
        batch.add(book)

    def policy_for(self, quarter: str) -> Policy:
        """The latest policy adopted for this quarter or an earlier one; else the default."""
        try:
            book = self.repository.get(ids.named_id("policies", "book"))
        except AggregateNotFoundError:
            return self.default_policy
        adopted = book.in_force(quarter)
        return self.default_policy if adopted is None else Policy.from_mapping(adopted)

    # Rankings ---------------------------------------------------------------------------

    @cached_property
    def _units(self) -> dict[str, Any]:
        return {
            "prefectures": [(r.code, r.name) for r in self.ref.prefectures],
            "trip_quotas": {k: r.yearly_trips for k, r in self.ref.leader_roles.items()},
            "trip_quota_exempt": self.ref.trip_quota_exempt,
        }

    @cached_property
    def _due_tasks(self) -> list[DueTask]:
        """附件3 tasks every 市州 government owes (the ones a ranking can deduct for)."""
        return [
            DueTask(task.id, task.deadline_date, frozenset(task.exempt))
            for task in self.ref.tasks.values()
            if task.responsible == "prefectures_and_counties"
        ]

    def _overdue(self, quarter: str) -> dict[str, dict[str, int]]:
        year = quarter[:4]
        quarters = [q for q in (f"{year}Q{n}" for n in range(1, 5)) if q <= quarter]
        units = [code for code, _ in self._units["prefectures"]]
        return overdue_tasks(self.tasks_done, self._due_tasks, units, quarters)

    def ranking(self, quarter: str, view: str = OFFICIAL) -> dict:
        """The ranking from everything consumed so far (not published)."""
        with self._receiving:
            ranking = rank_quarter(
                self.facts,
                self.policy_for(quarter),
                quarter,
                **self._units,
                official=view == OFFICIAL,
                overdue_tasks=self._overdue(quarter),
            )
            ranking["as_of"] = {upstream: self.position(upstream) for upstream in UPSTREAMS}
        return {**ranking, "hash": ranking_hash(ranking), "published": False}

    def published(self, quarter: str) -> dict | None:
        try:
            publication = self.repository.get(ids.named_id("ranking", quarter))
        except AggregateNotFoundError:
            return None
        return {**publication.ranking, "hash": publication.hash, "published": True}

    def get_ranking(self, quarter: str, view: str = OFFICIAL) -> dict:
        return (view == OFFICIAL and self.published(quarter)) or self.ranking(quarter, view)

    def publish_ranking(self, quarter: str) -> dict:
        """The office publishes the quarter's official ranking (十九); once per quarter."""
        if (existing := self.published(quarter)) is not None:
            return existing
        ranking = self.ranking(quarter, OFFICIAL)
        content = {k: v for k, v in ranking.items() if k not in ("hash", "published")}
        self.save(
            PublishedRanking(
                event_id=str(ids.named_id("published", ranking["hash"])),
                source="office",
                quarter=quarter,
                ranking=content,
                hash=ranking["hash"],
                policy_version=content["policy_version"],
                as_of=content["as_of"],
                occurred_on=datetime.now(SHANGHAI).date(),
            )
        )
        return {**content, "hash": ranking["hash"], "published": True}
