"""甄别 (十九): the review queue — the reports that count for points (milestones, leaders' trips,
themed promotion events) that no check has closed yet, oldest first.

Made from tracking's own log (its wire events in notification order): a report enters the queue
when recorded and leaves it when a check names it (verified, rejected, or retracted by its
sender). Each item carries what the reviewer needs: the report, its project's facts, the unit it
is about, and the state of each review level. Pure functions: services/tracking/application.py
feeds the log, the service adds registry's facts and filters by unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.kernel.contract.vocabulary import REVIEWED_TYPES
from services.kernel.reference import Reference
from services.tracking.levels import OFFICE_LEVEL, REJECTED, VERIFIED, decides, level_states

RETRACTED = "retracted"

# A check names the report it closes by one of these payload fields.
CHECKS = {
    "milestone.verified": ("milestone_event_id", VERIFIED),
    "milestone.rejected": ("milestone_event_id", REJECTED),
    "milestone.retracted": ("milestone_event_id", RETRACTED),
    "report.verified": ("report_event_id", VERIFIED),
    "report.rejected": ("report_event_id", REJECTED),
}
DEFAULT_LIMIT = 100  # the gateway bounds what a caller may ask


def open_reports(wire_events: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The reports of `REVIEWED_TYPES` not yet decided, in the order recorded: a 市州's
    verification leaves a report open for the office (services/tracking/levels.py)."""
    waiting: dict[str, dict] = {}
    for event in wire_events:
        kind = event["type"]
        if kind in REVIEWED_TYPES:
            waiting[event["event_id"]] = {
                "event_id": event["event_id"],
                "type": kind,
                "source": event["source"],
                "occurred_on": event["occurred_on"],
                "recorded_at": event["recorded_at"],
                "payload": dict(event["payload"]),
                "checks": [],
            }
        elif kind in CHECKS:
            field, status = CHECKS[kind]
            report = waiting.get(event["payload"].get(field, ""))
            if report is None:
                continue
            level = event["payload"].get("level", OFFICE_LEVEL)
            if status == RETRACTED or decides(status, level):
                del waiting[report["event_id"]]
            else:
                report["checks"].append({"status": status, "level": level})
    return sorted(waiting.values(), key=lambda r: (r["recorded_at"], r["event_id"]))


def subject(report: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What registry must say about a report: (project code, leader id)."""
    payload = report["payload"]
    return payload.get("project_code"), payload.get("leader_id")


def unit_of(
    report: Mapping[str, Any], projects: Mapping[str, Mapping], leaders: Mapping[str, Mapping]
) -> str | None:
    """The unit a report is about: its project's region, its leader's unit, or the themed
    event's unit."""
    code, leader_id = subject(report)
    if code is not None:
        project = projects.get(code)
        return None if project is None else project["region"]
    if leader_id is not None:
        leader = leaders.get(leader_id)
        return None if leader is None else leader["unit"]
    return report["payload"].get("unit")


def within(ref: Reference, unit: str | None, wanted: str) -> bool:
    """A report's unit is the wanted region: that county, or that 市州 or one of its counties."""
    if not wanted:
        return True
    if unit is None or not ref.is_hubei_region(unit):
        return False
    return unit == wanted or ref.prefecture_of(unit).code == wanted


def queue(
    reports: Sequence[Mapping[str, Any]],
    projects: Mapping[str, Mapping],
    leaders: Mapping[str, Mapping],
    ref: Reference,
    *,
    now: datetime,
    unit: str = "",
    report_type: str = "",
    min_age_days: int = 0,
    limit: int = DEFAULT_LIMIT,
    page: int = 0,
) -> dict:
    """One page of the open reports that match: of the type, about the unit, recorded at
    least `min_age_days` before `now`; each with its project's facts and review levels."""
    before = now - timedelta(days=min_age_days)
    matching = []
    for report in reports:
        if report_type and report["type"] != report_type:
            continue
        if datetime.fromisoformat(report["recorded_at"]) > before:
            continue
        about = unit_of(report, projects, leaders)
        if not within(ref, about, unit):
            continue
        matching.append((report, about))
    start = page * limit
    items = [
        _item(report, about, projects, leaders, now)
        for report, about in matching[start : start + limit]
    ]
    return {
        "unit": unit,
        "report_type": report_type,
        "min_age_days": min_age_days,
        "page": page,
        "limit": limit,
        "total": len(matching),
        "items": items,
    }


def _item(
    report: Mapping[str, Any],
    about: str | None,
    projects: Mapping[str, Mapping],
    leaders: Mapping[str, Mapping],
    now: datetime,
) -> dict:
    code, leader_id = subject(report)
    recorded = datetime.fromisoformat(report["recorded_at"])
    shown = {k: v for k, v in report.items() if k != "checks"}
    return {
        **shown,
        "unit": about,
        "project_code": code,
        "project": None if code is None else projects.get(code),
        "leader": None if leader_id is None else leaders.get(leader_id),
        "age_days": (now - recorded).days,
        "review": {"levels": level_states(report["checks"])},
    }
