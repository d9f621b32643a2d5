"""The two views of (十九) over one project's milestone reports.

The official view counts what the office verified (甄别); the provisional view also what is
reported and not yet checked. Both sum the capital that arrived (到资) and flag a cumulative above
the project's total investment for the office's review.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from services.tracking.rules import (
    CAPITAL,
    COUNTING,
    MILESTONE_NAMES_ZH,
    PRODUCING,
    REGISTERED,
    STARTED,
    VERIFIED,
)

PROVISIONAL, OFFICIAL = "provisional", "official"
VIEWS = {PROVISIONAL: COUNTING, OFFICIAL: frozenset({VERIFIED})}


def milestones_view(
    code: str, milestones: Mapping[str, dict], total_investment: Decimal | None
) -> dict:
    """Every report (in the order reported) with its status and, for 到资, the cumulative capital
    in each view; what each view counts; the reports flagged for review."""
    running = dict.fromkeys(VIEWS, Decimal(0))
    reports = []
    for event_id, milestone in milestones.items():
        row = {
            "event_id": event_id,
            **milestone,
            "kind_zh": MILESTONE_NAMES_ZH[milestone["kind"]],
        }
        if milestone["kind"] == CAPITAL:
            for view, statuses in VIEWS.items():
                if milestone["status"] in statuses:
                    running[view] += milestone["amount"]
            row["cumulative"] = dict(running)
        reports.append(row)
    views = {}
    for view, statuses in VIEWS.items():
        counted = [m for m in milestones.values() if m["status"] in statuses]
        views[view] = {
            **{
                kind: any(m["kind"] == kind for m in counted)
                for kind in (REGISTERED, STARTED, PRODUCING)
            },
            "capital_arrived": running[view],
            "over_total_investment": total_investment is not None
            and running[view] > total_investment,
        }
    return {
        "project_code": code,
        "total_investment": total_investment,
        "milestones": reports,
        "views": views,
        "flagged_for_review": [
            r["event_id"] for r in reports if r["over_total_investment"] and r["status"] in COUNTING
        ],
    }
