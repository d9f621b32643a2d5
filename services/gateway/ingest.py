"""The one way reports enter the system, for gRPC and AMQP alike (ARCHITECTURE "The report path").

Each raw event is validated against the public contract; an invalid one is answered "rejected"
and goes nowhere. A batch from an authenticated sender (`SentBatch`) may only speak as that
sender: a report stating another `source` is rejected, and recorded as a refusal by registry.
Valid reports are forwarded to their owning services in as few calls as their order allows
(services/gateway/planning.py): a report may depend on an earlier one about the same subject
(a milestone of a project proposed just before), so that order is never changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.gateway.errors import BatchTooLarge, ServiceFailed, Undecodable
from services.gateway.grouping import GroupCommit
from services.gateway.planning import Run, plan
from services.gateway.rpc import Rpc
from services.kernel.contract.errors import ReportInvalid, error
from services.kernel.contract.report import Report, validate_report

REJECTED = "rejected"


class SentBatch(list):
    """The raw events of one call, with the source its credentials authenticated."""

    def __init__(self, events: Sequence[Any], sender: str):
        super().__init__(events)
        self.sender = sender


def field_error(field: str, value: Any, rule: str, message_zh: str, message_en: str) -> dict:
    """A FieldError as a dict, for what the transports refuse before the contract sees it."""
    return error(field, value, rule, message_zh, message_en).to_dict()


def rejection(event_id: Any, errors: Sequence[dict]) -> dict:
    return {"event_id": event_id, "status": REJECTED, "errors": list(errors)}


def not_the_sender(report: Report, sender: str) -> dict:
    return field_error(
        "source",
        report.source,
        "source_not_sender",
        f"source 的值 {report.source} 与调用方凭据所属的报送系统 {sender} 不符："
        "每个系统只能以自己的名义报送",
        f"source: {report.source} is not {sender}, the system the caller's credentials "
        "belong to; a system reports in its own name only",
    )


class Ingestor:
    def __init__(self, rpc: Rpc, max_batch: int = 1000):
        self.rpc = rpc
        self.max_batch = max_batch
        # Concurrent callers' runs for one service travel together (grouping.py).
        self.grouped = GroupCommit(self._ingest, max_reports=max_batch)

    def publish(self, raw_events: Sequence[Any]) -> list[dict]:
        """Validate and forward a batch; one outcome per event, in the order given.

        A `SentBatch` is held to its sender; any other sequence is taken as its reports state
        their sources (in-process use and tests of the gateway alone). Raises BatchTooLarge
        before looking at any event, and BackendError (errors.py) when a service cannot
        answer (calls made before it stay applied: a resend of the batch gets "duplicate" for
        them).
        """
        if len(raw_events) > self.max_batch:
            raise BatchTooLarge(len(raw_events), self.max_batch)
        sender = getattr(raw_events, "sender", None)
        outcomes: dict[int, dict] = {}
        valid: list[tuple[int, Report]] = []
        refused: list[dict] = []
        for position, raw in enumerate(raw_events):
            if isinstance(raw, Undecodable):
                outcomes[position] = rejection(raw.event_id, [raw.to_dict()])
                continue
            try:
                report = validate_report(raw)
            except ReportInvalid as invalid:
                errors = [error.to_dict() for error in invalid.errors]
                outcomes[position] = rejection(invalid.event_id, errors)
                continue
            if sender is not None and report.source != sender:
                error = not_the_sender(report, sender)
                outcomes[position] = rejection(str(report.event_id), [error])
                refused.append({"report": report.to_primitive(), "error": error, "sender": sender})
                continue
            valid.append((position, report))
        if refused:  # before anything is applied: a failure here leaves the batch to resend
            self.rpc.call("registry", "record_refusals", refused=refused)
        for run in plan(valid):
            for position, outcome in zip(run.positions, self._forward(run), strict=True):
                outcomes[position] = outcome
        return [outcomes[position] for position in range(len(raw_events))]

    def _forward(self, run: Run) -> list[dict]:
        return self.grouped.forward(run.owner, run.reports)

    def _ingest(self, owner: str, reports: list[dict]) -> list[dict]:
        answers = self.rpc.call(owner, "ingest", reports=reports)
        if len(answers) != len(reports):
            raise ServiceFailed(
                f"服务 {owner} 对 {len(reports)} 条报告给出了 {len(answers)} 个结果",
                f"service {owner} answered {len(answers)} outcomes for {len(reports)} reports",
                f"{owner}.ingest",
            )
        return answers
