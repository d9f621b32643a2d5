"""A batch is forwarded in as few calls as its order allows, never reordering one subject."""

from __future__ import annotations

import uuid

from services.gateway.planning import plan
from services.kernel.contract.report import validate_report
from tools.demo import generate_demo


def report(type_: str, **payload) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": "office",
        "occurred_on": "2020-07-01",
        "schema_version": 1,
        "payload": payload,
    }


def planned(raws: list[dict]) -> list[tuple[str, list[int]]]:
    runs = plan([(i, validate_report(r)) for i, r in enumerate(raws)])
    return [(run.owner, run.positions) for run in runs]


def signed(code: str) -> dict:
    return report("project.signed", project_code=code, contract_investment="10")


def started(code: str) -> dict:
    return report("project.construction_started", project_code=code, kind="construction")


def test_interleaved_projects_cost_one_call_per_service():
    raws = [signed("A"), started("A"), signed("B"), started("B")]
    assert planned(raws) == [("registry", [0, 2]), ("tracking", [1, 3])]


def test_a_later_report_on_the_same_project_waits_for_what_came_before():
    withdrawn = report("project.withdrawn", project_code="A", reason="投资方撤回")
    raws = [signed("A"), started("A"), withdrawn, signed("B")]
    assert planned(raws) == [("registry", [0, 3]), ("tracking", [1]), ("registry", [2])]


def test_a_verification_follows_the_milestone_it_checks_in_the_same_batch():
    milestone = started("A")
    verified = report("milestone.verified", milestone_event_id=milestone["event_id"])
    raws = [signed("A"), milestone, signed("B"), verified]
    assert planned(raws) == [("registry", [0, 2]), ("tracking", [1, 3])]


def test_every_report_of_a_subject_keeps_its_order_in_the_demo_quarter():
    raws = generate_demo("2020Q3")
    reports = [(i, validate_report(r)) for i, r in enumerate(raws)]
    runs = plan(reports)
    order = [position for run in runs for position in run.positions]
    assert sorted(order) == list(range(len(raws)))
    place = {position: n for n, position in enumerate(order)}
    by_project: dict[str, list[int]] = {}
    for i, r in reports:
        if code := r.payload.get("project_code"):
            by_project.setdefault(code, []).append(place[i])
    assert all(places == sorted(places) for places in by_project.values())
    assert len(runs) < 10 < len({r.payload.get("project_code") for _, r in reports})
