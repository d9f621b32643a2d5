"""The one way reports enter the system, for gRPC and AMQP alike (ARCHITECTURE "The report path").

Each raw event is validated against the public contract; an invalid one is answered "rejected"
and goes nowhere. Valid reports are forwarded to their owning services in as few RPCs as their
order allows (planning.py): a report may depend on an earlier one about the same subject (a
milestone of a project signed just before), and those never change order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.common import contracts
from services.gateway.planning import Run, plan
from services.gateway.rpc import Rpc, ServiceFailed

REJECTED = "rejected"


class BatchTooLarge(ValueError):
    def __init__(self, size: int, limit: int):
        self.size = size
        self.message_zh = f"一批最多 {limit} 条报告，本批 {size} 条；请拆分后重新发送"
        self.message_en = f"a batch holds at most {limit} reports, this one has {size}; split it"
        super().__init__(f"{self.message_zh} / {self.message_en}")


def field_error(field: str, value: Any, rule: str, message_zh: str, message_en: str) -> dict:
    """A FieldError as a dict, for what the transports refuse before the contract sees it."""
    return contracts.error(field, value, rule, message_zh, message_en).to_dict()


def rejection(event_id: Any, errors: Sequence[dict]) -> dict:
    return {"event_id": event_id, "status": REJECTED, "errors": list(errors)}


@dataclass(frozen=True)
class Undecodable:
    """An event its transport could not decode (bad payload JSON): it keeps its place and is
    answered with these errors."""

    event_id: Any
    errors: tuple[dict, ...]


class Ingestor:
    def __init__(self, rpc: Rpc, max_batch: int = 1000):
        self.rpc = rpc
        self.max_batch = max_batch

    def publish(self, raw_events: Sequence[Any]) -> list[dict]:
        """Validate and forward a batch; one outcome per event, in the order given.

        Raises BatchTooLarge before looking at any event, and the rpc module's BackendError
        when a service cannot answer (runs forwarded before it stay applied: a resend of the
        batch gets "duplicate" for them).
        """
        if len(raw_events) > self.max_batch:
            raise BatchTooLarge(len(raw_events), self.max_batch)
        outcomes: dict[int, dict] = {}
        valid: list[tuple[int, contracts.Report]] = []
        for position, raw in enumerate(raw_events):
            if isinstance(raw, Undecodable):
                outcomes[position] = rejection(raw.event_id, raw.errors)
                continue
            try:
                report = contracts.validate_report(raw)
            except contracts.ReportInvalid as invalid:
                errors = [error.to_dict() for error in invalid.errors]
                outcomes[position] = rejection(invalid.event_id, errors)
                continue
            valid.append((position, report))
        for run in plan(valid):
            for position, outcome in zip(run.positions, self._forward(run), strict=True):
                outcomes[position] = outcome
        return [outcomes[position] for position in range(len(raw_events))]

    def _forward(self, run: Run) -> list[dict]:
        answers = self.rpc.call(run.owner, "ingest", reports=run.reports)
        if len(answers) != len(run.reports):
            raise ServiceFailed(
                f"服务 {run.owner} 对 {len(run.reports)} 条报告给出了 {len(answers)} 个结果",
                f"service {run.owner} answered {len(answers)} outcomes "
                f"for {len(run.reports)} reports",
            )
        return answers
