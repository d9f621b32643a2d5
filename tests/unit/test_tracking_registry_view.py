"""Tracking's own view of registry (services/tracking/registry_view.py), in memory: registry's
real application stores projects and leaders, its log is read as the wire carries it, and
tracking follows it; reports are then judged with no registry state handed in (no `context`),
as the service judges them now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.kernel.contract.report import validate_report
from services.kernel.ingest.reports import Batch
from services.registry.application import RegistryApplication
from services.tracking import registry_view
from services.tracking.application import TrackingApplication
from tests.contract_examples import TODAY, raw_report

WUHAN, JIANG_AN, YICHANG = "420100", "420102", "420500"
CODE = "WH-2020-001"
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def report(type_: str, source: str = f"pref:{WUHAN}", **payload: Any):
    raw = raw_report(type_, **payload)
    return validate_report({**raw, "source": source}, today=TODAY)


def send(app: Any, type_: str, source: str = f"pref:{WUHAN}", **payload: Any) -> dict:
    """One report's outcome, with the broken rule (if any) as `rule`."""
    (outcome,) = app.ingest([report(type_, source, **payload)])
    return {**outcome, "rule": outcome["errors"][0]["rule"] if outcome["errors"] else None}


def view(tracking: TrackingApplication) -> dict:
    """registry's state as tracking's handlers read it, from what tracking stored."""
    return registry_view.context_of(Batch(tracking))


def follow(tracking: TrackingApplication, registry: RegistryApplication) -> None:
    """Deliver registry's log beyond tracking's position, as the relay and a gap pull do."""
    tracking.follower.catch_up("registry", registry.read_wire)


@pytest.fixture
def registry() -> RegistryApplication:
    app = RegistryApplication(POPO)
    assert send(app, "project.proposed")["status"] == "accepted"
    assert send(app, "leader.appointed")["status"] == "accepted"
    return app


def test_reports_are_judged_by_what_registry_published_without_asking_it(registry):
    tracking = TrackingApplication(POPO)
    assert send(tracking, "project.company_registered")["rule"] == "unknown_project"

    follow(tracking, registry)
    assert send(tracking, "project.company_registered")["status"] == "accepted"
    assert send(tracking, "leader.trip_completed")["status"] == "accepted"
    # (二)/(十九): no construction start before signing; after registry's signing, accepted
    assert send(tracking, "project.construction_started")["rule"] == "before_signing"
    send(registry, "project.signed")
    follow(tracking, registry)
    assert send(tracking, "project.construction_started")["status"] == "accepted"


def test_the_view_follows_corrections_withdrawals_and_lists(registry):
    tracking = TrackingApplication(POPO)
    send(registry, "project.signed")
    send(registry, "project.designated")
    follow(tracking, registry)
    copies = view(tracking)
    assert copies["projects"].get(CODE) == {
        "project_code": CODE,
        "region": JIANG_AN,
        "industry": "integrated_circuit",
        "prefecture": WUHAN,
        "total_investment": "25.5",
        "key_project": True,
        "stage": "signed",
        "withdrawn": False,
        "designated_by": [WUHAN],
    }
    # the office moves the project to 宜昌: 武汉's system may no longer report on it
    send(registry, "project.corrected", "office", changes={"region": YICHANG}, reason="核实")
    follow(tracking, registry)
    moved = view(tracking)["projects"].get(CODE)
    assert (moved["region"], moved["prefecture"]) == (YICHANG, YICHANG)
    assert send(tracking, "project.production_started")["rule"] == "outside_jurisdiction"
    send(registry, "project.withdrawn", "office")
    follow(tracking, registry)
    assert send(tracking, "project.production_started", "office")["rule"] == "project_withdrawn"


def test_the_view_is_stored_with_registry_position_and_redelivery_changes_nothing(
    registry, tmp_path
):
    store = sqlite(tmp_path / "tracking.sqlite")
    first = TrackingApplication(store)
    message = registry.read_wire(1)
    first.follower.receive(message, registry.read_wire)
    head = first.recorder.max_notification_id()
    first.follower.receive(message, registry.read_wire)  # a redelivery
    assert first.recorder.max_notification_id() == head
    first.close()

    again = TrackingApplication(store)  # a restart: no message received since
    assert again.follower.position("registry") == message["last"]
    assert send(again, "project.company_registered")["status"] == "accepted"
    again.close()


def test_a_report_the_view_has_not_heard_of_is_judged_again_once_caught_up(registry):
    tracking = TrackingApplication(POPO)
    reports = [report("project.company_registered"), report("leader.trip_completed")]
    heard: list[bool] = []

    def catch_up() -> bool:
        follow(tracking, registry)
        heard.append(True)
        return True

    answers = registry_view.judged_again(reports, tracking.ingest, catch_up)
    assert [a["status"] for a in answers] == ["accepted", "accepted"] and heard == [True]
    # nothing more to hear of: refused as before, once, for the rule its sender must fix
    stranger = [report("project.company_registered", project_code="XX-404")]
    answers = registry_view.judged_again(stranger, tracking.ingest, lambda: False)
    assert answers[0]["errors"][0]["rule"] == "unknown_project"


def test_a_start_on_a_project_signed_in_an_earlier_call_is_not_refused_for_a_late_view(registry):
    """project.signed went to registry in one call; 开工 comes in the next, before tracking's
    queue delivered the signing: judged again once caught up, never refused before_signing."""
    tracking = TrackingApplication(POPO)
    follow(tracking, registry)  # tracking knows the project, proposed and not signed
    assert send(registry, "project.tracking_started")["status"] == "accepted"
    assert send(registry, "project.signed")["status"] == "accepted"
    started = [report("project.construction_started")]

    answers = registry_view.judged_again(
        started, tracking.ingest, lambda: (follow(tracking, registry), True)[1]
    )

    assert answers[0]["status"] == "accepted", answers
