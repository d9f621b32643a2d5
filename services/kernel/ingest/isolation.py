"""Keeping what one report causes to that report: the reports a service is sent, typed again
one by one, and a look-up that fails for the run tried again report by report.

The gateway validated each report before it sent it (`Report.to_primitive`), so rebuilding one
(`Report.from_primitive`) fails only when something is wrong that nobody foresaw: a gateway of
another release, a bug. Such a report is answered `rejected` with rule `internal_error` at its
place (its traceback logged under its event id), and the others of the call go on. A store
that is down is no report's doing: `StoreUnavailable` passes, so the sender resends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.kernel.contract.report import Report
from services.kernel.ingest.answers import REJECTED, internal_error
from services.kernel.ingest.reports import StoreUnavailable

log = logging.getLogger(__name__)

Apply = Callable[[list[Report]], list[dict]]


def each_typed(primitives: Sequence[Mapping[str, Any]], apply: Apply) -> list[dict]:
    """`apply` to the reports that could be typed again, the others answered at their place."""
    answers: list[dict | None] = []
    run: list[Report] = []
    for primitive in primitives:
        try:
            run.append(Report.from_primitive(primitive))
            answers.append(None)
        except Exception:
            answers.append(_failed(_event_id(primitive), "could not be read"))
    applied = iter(apply(run) if run else [])
    return [answer if answer is not None else next(applied) for answer in answers]


def one_by_one(run: Sequence[Report], apply: Apply) -> list[dict]:
    """`apply` to each report alone: for a run something of which failed, so the report that
    causes it is answered `internal_error` and the others as they would have been."""
    answers: list[dict] = []
    for report in run:
        try:
            answers.extend(apply([report]))
        except StoreUnavailable:
            raise
        except Exception:
            answers.append(_failed(str(report.event_id), "failed on its own"))
    return answers


def _failed(event_id: str, how: str) -> dict:
    log.exception("report %s %s; rejected as internal_error", event_id, how)
    error = internal_error(event_id).to_dict()
    return {"event_id": event_id, "status": REJECTED, "errors": [error]}


def _event_id(primitive: object) -> str:
    event_id = primitive.get("event_id") if isinstance(primitive, Mapping) else None
    return str(event_id)[:64] if event_id is not None else ""
