"""Scoring's domain: what it stores (the upstream ledgers, the policy book, the published
rankings) and the errors of its rules.

The rest of the domain is split by concern, each module standard library and eventsourcing.domain
only: the scoring policy (policy.py), the wire events scoring reads (upstream.py), the facts
projection (facts.py), quarters' cut-offs and 附件3 deadlines (deadlines.py) and the quarterly
ranking (ranking.py). The aggregates stay here: their stored topics name this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import Problem
from services.kernel.contract.ranking import HashedContent, Positions


class ScoringError(Problem, ValueError):
    """A broken rule, naming the field, the value and the rule; in English (and `str()`) as
    "field = value: rule (explanation)", in Chinese as "field = value：zh"."""

    def __init__(self, field: str, value: Any, rule: str, explanation: str, *, zh: str = ""):
        super().__init__(
            field,
            value,
            rule,
            f"{field} = {value!r}：{zh or explanation}",
            f"{field} = {value!r}: {rule} ({explanation})",
        )


class PolicyError(ScoringError):
    """The policy data breaks a rule of its own shape."""


class FactsError(ScoringError):
    """A wire event scoring needs lacks a field it needs, or has it in the wrong form."""


class Ledger(Aggregate):
    """What scoring consumed from one upstream service, message by message."""

    class Opened(Aggregate.Created):
        upstream: str

    class Received(Aggregate.Event):
        last: int
        events: list

    @staticmethod
    def create_id(upstream: str) -> UUID:
        return ids.named_id("ledger", upstream)

    @event(Opened)
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.last = 0

    @event(Received)
    def receive(self, last: int, events: list) -> None:
        self.last = last


@dataclass(frozen=True)
class Adoption:
    """One policy.adopted: a policy version in force from a quarter on, recorded at a moment."""

    effective_from: str
    version: str
    policy: Mapping[str, Any]
    recorded_at: datetime


class PolicyBook(Aggregate):
    """Every scoring policy the office adopted, each in force from its quarter on."""

    class Opened(Aggregate.Created):
        pass

    class Adopted(Aggregate.Event):
        wire_type = "policy.adopted"
        event_id: str
        source: str
        occurred_on: date
        version: str
        effective_from: str
        policy: dict

        def apply(self, aggregate: PolicyBook) -> None:
            aggregate.adopted.append(
                Adoption(self.effective_from, self.version, self.policy, self.timestamp)
            )

    @staticmethod
    def create_id() -> UUID:
        return ids.named_id("policies", "book")

    @event(Opened)
    def __init__(self) -> None:
        self.adopted: list[Adoption] = []

    def adopt(self, **fields: Any) -> None:
        self.trigger_event(self.Adopted, **fields)

    def in_force(self, quarter: str, recorded_by: datetime | None = None) -> Adoption | None:
        """The latest-starting adoption at or before `quarter` (the later adoption wins between
        two starting in the same quarter); with `recorded_by`, among those recorded by then."""
        candidates = [
            (adoption.effective_from, i)
            for i, adoption in enumerate(self.adopted)
            if adoption.effective_from <= quarter
            and (recorded_by is None or adoption.recorded_at <= recorded_by)
        ]
        return self.adopted[max(candidates)[1]] if candidates else None

    def adopted_as(self, version: str) -> Adoption | None:
        return next((a for a in self.adopted if a.version == version), None)


class PublishedRanking(Aggregate):
    """A quarter's official ranking as the office published it, with its content hash."""

    class Published(Aggregate.Created):
        wire_type = "ranking.published"
        event_id: str
        source: str
        occurred_on: date
        quarter: str
        ranking: HashedContent
        hash: str
        policy_version: str
        as_of: Positions
        # 约谈 commitments open at publication (十九): the circular shows them; not hashed.
        open_commitments: list
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            """Published before the 约谈 follow-up: no commitments were recorded."""
            state["open_commitments"] = []

    @staticmethod
    def create_id(quarter: str, **_: Any) -> UUID:
        return ids.named_id("ranking", quarter)

    @event(Published)
    def __init__(
        self,
        event_id: str,
        source: str,
        occurred_on: date,
        quarter: str,
        ranking: HashedContent,
        hash: str,
        policy_version: str,
        as_of: Positions,
        open_commitments: list,
    ) -> None:
        self.quarter = quarter
        self.ranking = ranking
        self.hash = hash
        self.policy_version = policy_version
        self.as_of = as_of
        self.open_commitments = open_commitments
