"""A report that breaks something unexpected is answered `internal_error`, alone: the other reports
of its ingest call are applied and stored, nothing of it is, and its traceback is logged under its
event id. A store that fails is still the store's trouble: the call is retried or fails, and no
report is rejected for it.

The bug is a test subclass of a service's real report handlers that raises for one event id after
the real handler changed its aggregates (the worst moment to fail).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError, ProgrammingError

from services.kernel.contract.report import Report, validate_report
from services.kernel.ingest.reports import Batch, ReportIntake
from services.registry.application import RegistryApplication
from services.registry.handlers import ReportHandlers as RegistryHandlers
from services.tracking.application import TrackingApplication
from services.tracking.handlers import ReportHandlers as TrackingHandlers

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
TODAY = date(2020, 12, 31)
WUHAN, JIANG_AN = "420100", "420102"
CHIP_PLANT, DISPLAY_PLANT = "WH-2020-001", "WH-2020-002"


def report(type_: str, source: str = f"pref:{WUHAN}", **payload: Any) -> Report:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": source,
        "occurred_on": "2020-09-10",
        "schema_version": 1,
        "payload": payload,
    }
    return validate_report(raw, today=TODAY)


def proposal(code: str = CHIP_PLANT) -> Report:
    return report(
        "project.proposed",
        project_code=code,
        name="长江存储二期",
        investor={"name": "紫光集团", "origin": "CN-11"},
        industry="integrated_circuit",
        region=JIANG_AN,
        total_investment="25.5",
        categories=["new_infrastructure"],
        channel="platform_event",
    )


def signing(code: str = CHIP_PLANT) -> Report:
    return report("project.signed", project_code=code, contract_investment="24")


def tracking_start(code: str = CHIP_PLANT) -> Report:
    return report("project.tracking_started", project_code=code)


class Bug:
    """Raises `error` after the real handler applied the report with `event_id`, `times` times."""

    def __init__(self, event_id: uuid.UUID, error: Exception, times: float = float("inf")):
        self.event_id, self.error, self.times = event_id, error, times

    def strike(self, report: Report) -> None:
        if report.event_id == self.event_id and self.times > 0:
            self.times -= 1
            raise self.error


class BuggyRegistryHandlers(RegistryHandlers):
    def __init__(self, app: RegistryApplication, bug: Bug) -> None:
        super().__init__(app.ref)
        self.bug = bug

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        super().apply(report, batch, context)
        self.bug.strike(report)


class BuggyTrackingHandlers(TrackingHandlers):
    def __init__(self, app: TrackingApplication, bug: Bug) -> None:
        super().__init__(app.ref)
        self.bug = bug

    def apply(self, report: Report, batch: Batch, context: Mapping[str, Any]) -> None:
        super().apply(report, batch, context)
        self.bug.strike(report)


def registry_with(bug: Bug, app: RegistryApplication | None = None) -> RegistryApplication:
    app = app or RegistryApplication(IN_MEMORY)
    app.reports = ReportIntake(app, BuggyRegistryHandlers(app, bug).apply)
    return app


def statuses(outcomes: list[dict]) -> list[tuple[str, str | None]]:
    return [(o["status"], o["errors"][0]["rule"] if o["errors"] else None) for o in outcomes]


def test_an_unexpected_failure_rejects_only_its_report_and_none_of_its_changes_are_saved(caplog):
    propose, sign, start, other = proposal(), signing(), tracking_start(), proposal(DISPLAY_PLANT)
    registry = registry_with(Bug(sign.event_id, RuntimeError("boom at 0x7f3a")))

    with caplog.at_level(logging.ERROR):
        outcomes = registry.ingest([propose, sign, start, other])

    assert statuses(outcomes) == [
        ("accepted", None),
        ("rejected", "internal_error"),
        ("accepted", None),  # on the project the failed report had signed before it raised
        ("accepted", None),
    ]
    project = registry.get_project(CHIP_PLANT)
    assert project is not None
    assert (project["lists"], project["contract_investment"]) == (["tracking"], None)
    history = [e["type"] for e in registry.history(CHIP_PLANT)]
    assert history == ["project.proposed", "project.tracking_started"]
    assert registry.get_project(DISPLAY_PLANT) is not None
    assert Batch(registry).receipt(sign.event_id) is None


def test_the_sender_hears_no_internal_detail_and_the_log_has_the_traceback_and_event_id(caplog):
    propose = proposal()
    registry = registry_with(Bug(propose.event_id, RuntimeError("boom at 0x7f3a")))

    with caplog.at_level(logging.ERROR):
        (outcome,) = registry.ingest([propose])

    (error,) = outcome["errors"]
    assert (error["field"], error["value"]) == ("event_id", str(propose.event_id))
    assert "boom" not in error["message_zh"] + error["message_en"]
    assert "内部错误" in error["message_zh"] and "internal error" in error["message_en"]
    (logged,) = [r for r in caplog.records if getattr(r, "event_id", None) == str(propose.event_id)]
    assert logged.exc_info is not None and "boom at 0x7f3a" in str(logged.exc_info[1])


def test_a_failure_on_an_aggregate_saved_earlier_leaves_it_as_stored(caplog):
    propose, sign, start = proposal(), signing(), tracking_start()
    registry = registry_with(Bug(sign.event_id, KeyError("plan"), times=1))
    registry.ingest([propose])  # saved, and kept in the intake's cache

    with caplog.at_level(logging.ERROR):
        outcomes = registry.ingest([sign, start])
    resent = registry.ingest([sign])  # the bug struck once: the resend is applied anew

    assert statuses(outcomes) == [("rejected", "internal_error"), ("accepted", None)]
    assert statuses(resent) == [("accepted", None)]
    project = registry.get_project(CHIP_PLANT)
    assert project is not None and project["lists"] == ["signed"]


def test_tracking_counts_the_capital_of_the_reports_around_a_failed_one(caplog):
    app = TrackingApplication(IN_MEMORY)
    arrivals = [
        report("project.capital_arrived", project_code=CHIP_PLANT, amount=amount)
        for amount in ("10", "2", "3", "5")
    ]
    bug = Bug(arrivals[2].event_id, ValueError("no such milestone"))
    app.reports = ReportIntake(app, BuggyTrackingHandlers(app, bug).apply)
    context = {"projects": {CHIP_PLANT: signed_project()}, "leaders": {}}

    with caplog.at_level(logging.ERROR):
        outcomes = app.ingest(arrivals, context)

    assert [o["status"] for o in outcomes] == ["accepted", "accepted", "rejected", "accepted"]
    record = app.milestones(CHIP_PLANT, Decimal("25.5"))
    assert [m["cumulative"]["provisional"] for m in record["milestones"]] == [10, 12, 17]


def signed_project(code: str = CHIP_PLANT) -> dict:
    return {
        "project_code": code,
        "region": JIANG_AN,
        "industry": "integrated_circuit",
        "stage": "signed",
        "withdrawn": False,
        "total_investment": "25.5",
    }


@pytest.mark.parametrize("field", ["name", "project_code"])
def test_a_lone_surrogate_that_reached_a_service_fails_its_report_alone(field, caplog):
    """The services trust what the gateway validated (Report.from_primitive): a lone surrogate
    that got through makes the report's digest or its aggregate's id raise, for it alone."""
    primitive = proposal().to_primitive()
    primitive["payload"][field] = "长\ud800"
    hostile = Report.from_primitive(primitive)
    before, after = proposal(), proposal(DISPLAY_PLANT)
    registry = RegistryApplication(IN_MEMORY)

    with caplog.at_level(logging.ERROR):
        outcomes = registry.ingest([before, hostile, after])

    assert statuses(outcomes) == [
        ("accepted", None),
        ("rejected", "internal_error"),
        ("accepted", None),
    ]
    assert Batch(registry).receipt(hostile.event_id) is None


@pytest.mark.parametrize(
    "lost", [OperationalError("connection lost"), psycopg.OperationalError("server closed")]
)
def test_a_store_lost_while_applying_is_retried_and_no_report_is_rejected_for_it(lost):
    propose, other = proposal(), proposal(DISPLAY_PLANT)
    registry = registry_with(Bug(propose.event_id, lost, times=1))

    outcomes = registry.ingest([propose, other])

    assert statuses(outcomes) == [("accepted", None), ("accepted", None)]


def test_any_other_store_error_fails_the_call_instead_of_rejecting_a_report():
    propose, other = proposal(), proposal(DISPLAY_PLANT)
    registry = registry_with(Bug(propose.event_id, ProgrammingError("relation does not exist")))

    with pytest.raises(ProgrammingError):
        registry.ingest([propose, other])

    assert registry.get_project(DISPLAY_PLANT) is None
