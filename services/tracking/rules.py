"""The rules tracking's reports follow, as plain values and functions.

The milestones of (十九) and the statuses a report of one goes through, and the checks a
milestone's check or a leader's trip must pass. Standard library and the contract's errors only:
services/tracking/domain.py applies them to its aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.kernel.contract.errors import RuleBroken

REGISTERED = "registered"
STARTED = "construction_started"
PRODUCING = "production_started"
CAPITAL = "capital_arrived"
MILESTONE_NAMES_ZH = {
    REGISTERED: "注册",
    STARTED: "开工（开业）",
    PRODUCING: "投产",
    CAPITAL: "到资",
}

REPORTED, VERIFIED, REJECTED, RETRACTED = "reported", "verified", "rejected", "retracted"
COUNTING = frozenset({REPORTED, VERIFIED})  # a rejected or retracted report counts for nothing
OFFICE = "office"


def unknown_milestone(event_id: str) -> RuleBroken:
    return RuleBroken(
        "payload.milestone_event_id",
        event_id,
        "unknown_milestone",
        f"找不到里程碑报告 {event_id}",
        f"no milestone report {event_id} is known",
    )


def check_out_of_province(destination: str, hubei_place: str | None) -> None:
    """A government leader's quota counts trips out of Hubei only (赴省外招商引资, (二十一)):
    `hubei_place` is the Hubei place the destination names (reference places.py), if any."""
    if hubei_place is not None:
        raise RuleBroken(
            "payload.destination",
            destination,
            "destination_in_hubei",
            f"payload.destination 的值「{destination}」指向湖北省内的{hubei_place}："
            "市、州、县政府负责人的外出招商任务只计赴省外（二十一）",
            f"payload.destination: {destination!r} names {hubei_place}, inside Hubei; a "
            "government leader's quota counts trips out of the province only ((二十一))",
        )


def check_no_overlap(
    leader_id: str, trips: Iterable[tuple[date, date, str]], departed_on: date, returned_on: date
) -> None:
    """A leader is on one trip at a time: a trip may not share a day with an earlier one."""
    for departed, returned, _ in trips:
        if departed_on <= returned and departed <= returned_on:
            raise RuleBroken(
                "payload.departed_on",
                departed_on,
                "overlapping_trip",
                f"领导 {leader_id} 在 {departed}～{returned} 已有一次外出，日期重叠",
                f"leader {leader_id} already has a trip {departed}..{returned}; the dates overlap",
            )
