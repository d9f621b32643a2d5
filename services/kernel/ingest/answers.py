"""What each report of a batch is answered (services/kernel/ingest/reports.py): its status, and
the errors of a report not accepted, each naming field, value and rule in both languages."""

from __future__ import annotations

from collections.abc import Iterable

from services.kernel.contract.errors import FieldError, RuleBroken
from services.kernel.contract.errors import error as field_error
from services.kernel.contract.report import Report

ACCEPTED, DUPLICATE, REJECTED, CONFLICT = "accepted", "duplicate", "rejected", "conflict"


def outcome(report: Report, status: str, errors: Iterable[FieldError] = ()) -> dict:
    return {
        "event_id": str(report.event_id),
        "status": status,
        "errors": [e.to_dict() for e in errors],
    }


def broken(error: RuleBroken) -> FieldError:
    return field_error(error.field, error.value, error.rule, error.message_zh, error.message_en)


def reused(report: Report) -> FieldError:
    return field_error(
        "event_id",
        str(report.event_id),
        "event_id_reused",
        f"event_id {report.event_id} 已用于内容不同的另一份报告；更正请发送新的 event_id",
        f"event_id {report.event_id} was already used for a report with different content; "
        "send a correction under a new event_id",
    )


def internal_error(report_id: object) -> FieldError:
    """The error of a report that raised unexpectedly, by its event id."""
    event_id = str(report_id)[:64]
    return field_error(
        "event_id",
        event_id,
        "internal_error",
        f"处理报告 {event_id} 时发生意外的内部错误：报告未被接受，没有保存任何内容；"
        "错误已按该 event_id 记入日志，请联系运维人员",
        f"an unexpected internal error occurred while applying report {event_id}: it was not "
        "accepted and nothing of it was stored; the error is logged under this event_id, "
        "contact the operators",
    )
