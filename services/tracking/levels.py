"""Review levels of 甄别 (十九), as practised: 县填报 → 市审核 → 省复核. A county's report may be
checked first by its 市州 (the `prefecture` level), and by the office (the `office` level) —
the office may check any report at any time; a 市州 only its own counties' reports, and only
while the office has not decided. A rejection at either level rejects the report (the county
reports again); a 市州's verification leaves the report awaiting the office. Which levels an
indicator's official count needs is the scoring policy's word (`levels`, default the office).

Plain functions over the report's recorded checks; standard library and the contract's errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.jurisdiction import Jurisdiction, NotPermitted

OFFICE_LEVEL, PREFECTURE_LEVEL = "office", "prefecture"
LEVELS = (PREFECTURE_LEVEL, OFFICE_LEVEL)
VERIFIED, REJECTED = "verified", "rejected"


def office_level(state: dict) -> None:
    """Upcast: a check recorded before review levels was the office's."""
    state["level"] = OFFICE_LEVEL


def decides(status: str, level: str | None) -> bool:
    """Whether a check sets the report's status: the office's, or any rejection."""
    return level in (None, OFFICE_LEVEL) or status == REJECTED


def review_level(allowed: Jurisdiction, report_source: str, field: str) -> str:
    """The level a check is made at: the office's, or a 市州's over its own counties' reports."""
    if allowed.is_office:
        return OFFICE_LEVEL
    kind, _, county = report_source.partition(":")
    if allowed.source.startswith("pref:") and kind == "county" and allowed.covers_unit(county):
        return PREFECTURE_LEVEL
    raise NotPermitted(
        field,
        allowed.source,
        "review_own_counties_only",
        f"{allowed.source} 无权甄别此报告（报送方 {report_source}）：甄别由领导小组办公室进行，"
        "市州可先审核所辖县市区报送的报告（县填报 → 市审核 → 省复核，（十九））",
        f"{allowed.source} may not check this report (sent by {report_source}): the office "
        "checks reports; a prefecture may first review its own counties' reports ((十九))",
    )


def check_level(
    report_event_id: str,
    report: Mapping[str, Any],
    level: str,
    source: str,
    field: str = "payload.milestone_event_id",
) -> None:
    """A 市州 reviews only before the office decided."""
    if level != PREFECTURE_LEVEL:
        return
    decided = [c for c in report.get("checks", []) if c.get("level", OFFICE_LEVEL) == OFFICE_LEVEL]
    if decided:
        raise RuleBroken(
            field,
            report_event_id,
            "reviewed_by_office",
            f"报告 {report_event_id} 已由领导小组办公室甄别（{decided[-1]['status']}），"
            f"{source} 不能再审核",
            f"report {report_event_id} was checked by the office ({decided[-1]['status']}); "
            f"{source} may no longer review it",
        )


def check_record(event: Any, status: str, level: str | None) -> dict:
    """How a report's checks list one (a milestone's, a trip's or a themed event's)."""
    return {
        "status": status,
        "event_id": event.event_id,
        "source": event.source,
        "occurred_on": event.occurred_on,
        "reason": getattr(event, "reason", None),
        **({} if level is None else {"level": level}),
    }


def level_states(checks: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Each level's latest word on a report: verified, rejected or pending."""
    latest: dict[str, str] = {}
    for check in checks:
        if check["status"] in (VERIFIED, REJECTED):
            latest[check.get("level", OFFICE_LEVEL)] = check["status"]
    return [{"level": level, "status": latest.get(level, "pending")} for level in LEVELS]
