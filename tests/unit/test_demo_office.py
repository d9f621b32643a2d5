"""The demo's office work (tools/demo/office.py) writes valid contract reports, the same ones
each run: targets, the checks that work a review queue, a summons, its rectification, rewards."""

from __future__ import annotations

from datetime import date

from services.kernel.contract.report import validate_report
from tools.demo import office

DAY = date(2020, 10, 3)


def queue_item(type_: str, payload: dict) -> dict:
    return {
        "event_id": f"00000000-0000-4000-8000-{len(payload):012d}",
        "type": type_,
        "payload": payload,
    }


def test_every_report_of_the_offices_work_is_valid_and_deterministic():
    checks = office.checks(
        [
            queue_item("project.capital_arrived", {"over_total_investment": True}),
            queue_item("project.company_registered", {"project_code": "P", "x": 1}),
            queue_item("leader.trip_completed", {"leader_id": "wh", "a": 1, "b": 2}),
            queue_item("promotion.event_held", {"unit": "420100", "a": 1, "b": 2, "c": 3}),
        ],
        DAY,
    )
    summons = office.summons("420500", "2020Q3", DAY)
    reports = [
        *office.targets(2020),
        *checks,
        summons,
        office.rectification("420500", summons["event_id"], DAY),
        office.rewards("2020", ["420100", "420600"], date(2021, 1, 20)),
    ]

    for raw in reports:
        validate_report(raw, today=date(2021, 1, 31))
    assert [c["type"] for c in checks] == [
        "milestone.rejected",
        "milestone.verified",
        "report.verified",
        "report.verified",
    ]
    assert office.targets(2020) == office.targets(2020)
    assert len({r["event_id"] for r in reports}) == len(reports)
