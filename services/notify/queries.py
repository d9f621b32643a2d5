"""Notify's answers in simple types: one row per notice and address, what was (or is to be)
sent to whom and when, and each attempt that failed (the `deliveries` and `failures` RPCs)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from services.notify.domain import Notice


def deliveries(
    notices: Iterable[Notice],
    unit: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[dict]:
    """The rows of `notices` for `unit`, in `status`, of `kind` (each None: any)."""
    return [
        row
        for row in delivery_rows(notices)
        if (unit is None or row["unit"] == unit)
        and (status is None or row["status"] == status)
        and (kind is None or row["kind"] == kind)
    ]


def failures(notices: Iterable[Notice]) -> list[dict]:
    """The rows with at least one failed attempt."""
    return [row for row in delivery_rows(notices) if row["failures"]]


def delivery_rows(notices: Iterable[Notice]) -> Iterator[dict]:
    for notice in notices:
        for key, d in notice.deliveries.items():
            yield {
                "notice_id": str(notice.id),
                "delivery_id": str(notice.delivery_id(key)),
                "kind": notice.kind,
                "about": notice.about,
                "stage": notice.stage,
                "unit": notice.unit,
                "subject": notice.subject,
                "channel": d.channel,
                "address": d.address,
                "status": d.status,
                "attempts": d.attempts,
                "issued_at": notice.issued_at.isoformat(),
                "sent_at": _iso(d.sent_at),
                "retry_at": _iso(d.retry_at),
                "receipt": d.receipt,
                "failures": [
                    {"attempt": f["attempt"], "at": f["at"].isoformat(), "reason": f["reason"]}
                    for f in d.failures
                ],
            }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
