"""The one way reports enter the system, for gRPC and AMQP alike (ARCHITECTURE "The report path").

Each raw event is validated against the public contract; an invalid one is answered "rejected"
and goes nowhere. A batch from an authenticated caller (`SentBatch`) needs the `report` role
and may only speak as the caller's unit: a report stating another `source` is rejected, and
recorded as a refusal by registry. A delegated caller's person travels with each report to its
owning service, which records them as the report's operator (services/kernel/ingest/reports.py).
Valid reports are forwarded to their owning services in as few calls as their order allows
(services/gateway/planning.py): a report may depend on an earlier one about the same subject
(a milestone of a project proposed just before), so that order is never changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from services.gateway.caller import REPORT, Caller
from services.gateway.errors import BatchTooLarge, PermissionDenied, ServiceFailed, Undecodable
from services.gateway.fairshare import share_key
from services.gateway.grouping import SHARE, GroupCommit
from services.gateway.planning import plan
from services.gateway.rpc import Rpc
from services.kernel.contract.errors import ReportInvalid, error
from services.kernel.contract.report import Report, validate_report

REJECTED = "rejected"
# The upstreams whose events a service judges reports against (tracking keeps a view of
# registry, services/tracking/registry_view.py): a run of a batch to it names the positions an
# earlier run of the same batch was answered, so it is judged after what that run stored.
FOLLOWS = {"tracking": ("registry",)}


class SentBatch(list):
    """The raw events of one call, with the caller its credentials authenticated."""

    def __init__(self, events: Sequence[Any], caller: Caller):
        super().__init__(events)
        self.caller = caller


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


def may_not_report(caller: Caller) -> PermissionDenied:
    return PermissionDenied(
        "caller",
        caller.unit,
        "report_role_required",
        f"凭据 {caller.credential_id}（{caller.unit}）没有 report 角色，不能报送（规则 "
        "report_role_required）",
        f"credential {caller.credential_id} ({caller.unit}) has no report role and may not "
        "publish (rule report_role_required)",
    )


class Ingestor:
    def __init__(self, rpc: Rpc, max_batch: int = 1000, group_share: int = SHARE):
        self.rpc = rpc
        self.max_batch = max_batch
        # Concurrent callers' runs for one service travel together (grouping.py).
        self.grouped = GroupCommit(self._ingest, max_reports=max_batch, share=group_share)

    def publish(self, raw_events: Sequence[Any]) -> list[dict]:
        """Validate and forward a batch; one outcome per event, in the order given.

        A `SentBatch` is held to its caller; any other sequence is taken as its reports state
        their sources (in-process use and tests of the gateway alone). Raises BatchTooLarge
        or PermissionDenied (a caller without the report role) before looking at any event,
        and BackendError (errors.py) when a service cannot answer (calls made before it stay
        applied: a resend of the batch gets "duplicate" for them).
        """
        outcomes, valid, refused = self._contract(raw_events)
        if refused:  # before anything is applied: a failure here leaves the batch to resend
            self.rpc.call("registry", "record_refusals", refused=refused)
        caller: Caller | None = getattr(raw_events, "caller", None)
        sender = None if caller is None else share_key(caller)
        stored: dict[str, int] = {}  # per service, the log position its runs were answered
        for run in plan(valid):
            after = {u: stored[u] for u in FOLLOWS.get(run.owner, ()) if u in stored}
            forwarded = self.grouped.forward(run.owner, run.reports, sender, after)
            for position, outcome in zip(run.positions, forwarded, strict=True):
                at = outcome.pop("position", 0)
                stored[run.owner] = max(stored.get(run.owner, 0), at)
                outcomes[position] = outcome
        return [outcomes[position] for position in range(len(raw_events))]

    def validate(self, raw_events: Sequence[Any]) -> list[dict]:
        """What `publish` would answer for the batch now, storing nothing (Ingest.Validate):
        the same checks here, then each run judged by its owning service's `validate`, which
        applies it to what is stored and drops the changes; a refusal is not recorded."""
        outcomes, valid, _ = self._contract(raw_events)
        for run in plan(valid):
            judged = self._answers(run.owner, "validate", run.reports)
            for position, outcome in zip(run.positions, judged, strict=True):
                outcomes[position] = outcome
        return [outcomes[position] for position in range(len(raw_events))]

    def _contract(
        self, raw_events: Sequence[Any]
    ) -> tuple[dict[int, dict], list[tuple[int, Report]], list[dict]]:
        """The gateway's own checks of a batch: the outcomes of the events it rejects (by
        position), the valid reports (with their positions), and the refusals to record."""
        if len(raw_events) > self.max_batch:
            raise BatchTooLarge(len(raw_events), self.max_batch)
        caller: Caller | None = getattr(raw_events, "caller", None)
        if caller is not None and not caller.has(REPORT):
            raise may_not_report(caller)
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
            if caller is not None:
                if caller.operator is not None:
                    report = dataclasses.replace(report, operator=caller.operator)
                if report.source != caller.unit:
                    error = not_the_sender(report, caller.unit)
                    outcomes[position] = rejection(str(report.event_id), [error])
                    refused.append(
                        {"report": report.to_primitive(), "error": error, "sender": caller.unit}
                    )
                    continue
            valid.append((position, report))
        return outcomes, valid, refused

    def _ingest(self, owner: str, reports: list[dict], **after: Any) -> list[dict]:
        """A run (a group of runs) to its owner; `after`: the upstream positions it is judged
        after (a project proposed earlier in the same batch is known to tracking)."""
        return self._answers(owner, "ingest", reports, **after)

    def _answers(self, owner: str, method: str, reports: list[dict], **more: Any) -> list[dict]:
        answers = self.rpc.call(owner, method, reports=reports, **more)
        if len(answers) != len(reports):
            raise ServiceFailed(
                f"服务 {owner} 对 {len(reports)} 条报告给出了 {len(answers)} 个结果",
                f"service {owner} answered {len(answers)} outcomes for {len(reports)} reports",
                f"{owner}.{method}",
            )
        return answers
