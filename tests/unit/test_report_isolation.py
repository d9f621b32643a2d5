"""What one report causes stays with that report (services/kernel/ingest/isolation.py): one the
service cannot read, or one its view of another service fails on, is answered `internal_error`
at its place while the others of the call are judged; a store that is down is no report's
doing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import pytest
from nameko.testing.services import worker_factory

from services.kernel.contract.report import Report, validate_report
from services.kernel.ingest.isolation import each_typed, one_by_one
from services.kernel.ingest.reports import StoreUnavailable
from services.tracking.application import TrackingApplication
from services.tracking.registry_view import RegistryCopy
from services.tracking.service import TrackingService
from tests.contract_examples import TODAY, raw_report
from tests.unit.test_tracking_application import HUAWEI_CREDIT_CODE, RegistryStates


def reports(count: int) -> list[Report]:
    return [validate_report(raw_report("project.proposed"), today=TODAY) for _ in range(count)]


def accept_all(run: Sequence[Report]) -> list[dict]:
    return [{"event_id": str(r.event_id), "status": "accepted", "errors": []} for r in run]


def rule_of(answer: dict) -> str:
    (error,) = answer["errors"]
    return error["rule"]


def test_a_report_the_service_cannot_read_is_rejected_at_its_place_and_the_others_applied():
    first, last = reports(2)
    unreadable = {**first.to_primitive(), "event_id": "not-a-uuid"}
    applied: list[list[Report]] = []

    def apply(run: list[Report]) -> list[dict]:
        applied.append(run)
        return accept_all(run)

    answers = each_typed([first.to_primitive(), unreadable, last.to_primitive()], apply)

    assert [a["status"] for a in answers] == ["accepted", "rejected", "accepted"]
    assert answers[1]["event_id"] == "not-a-uuid" and rule_of(answers[1]) == "internal_error"
    assert applied == [[first, last]]


def test_a_call_of_reports_none_of_which_can_be_read_applies_nothing():
    answers = each_typed([{"event_id": "x" * 500}], lambda run: pytest.fail("applied"))
    assert len(answers[0]["event_id"]) == 64  # bounded, as every echo of a sender's value
    assert rule_of(answers[0]) == "internal_error"


def test_the_report_a_look_up_fails_on_is_rejected_and_the_others_judged_alone():
    good, poison, other = reports(3)

    def judge(run: list[Report]) -> list[dict]:
        if poison in run:
            raise KeyError("the look-up failed on this report")
        return accept_all(run)

    answers = one_by_one([good, poison, other], judge)

    assert [a["event_id"] for a in answers] == [str(r.event_id) for r in (good, poison, other)]
    assert [a["status"] for a in answers] == ["accepted", "rejected", "accepted"]
    assert rule_of(answers[1]) == "internal_error"


def test_a_store_that_is_down_is_not_turned_into_a_rejection():
    def judge(run: list[Report]) -> list[dict]:
        raise StoreUnavailable("registry cannot read its store")

    with pytest.raises(StoreUnavailable):
        one_by_one(reports(2), judge)


def test_tracking_rejects_only_the_report_its_view_of_registry_fails_on_and_stores_the_others():
    """The view holds a state it cannot judge by (a copy without `withdrawn`, as a bug in
    following registry would leave it): only the report about that project is rejected."""
    states = RegistryStates()
    for code in ("GOOD-1", "POISON", "GOOD-2"):
        states.project(code)
    states.projects["POISON"].pop("withdrawn")
    app = TrackingApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(*(RegistryCopy(kind="project", key=c, state=s) for c, s in states.projects.items()))
    service = worker_factory(TrackingService, app=app)  # registry is not asked anything
    sent = [
        validate_report(
            {
                "event_id": str(uuid.uuid4()),
                "type": "project.company_registered",
                "source": "pref:420100",
                "occurred_on": "2020-09-10",
                "schema_version": 1,
                "payload": {
                    "project_code": code,
                    "company_name": f"{code} 有限公司",
                    "credit_code": HUAWEI_CREDIT_CODE,
                },
            },
            today=date(2020, 12, 31),
        ).to_primitive()
        for code in ("GOOD-1", "POISON", "GOOD-2")
    ]

    answers = service.ingest(sent)

    assert [a["status"] for a in answers] == ["accepted", "rejected", "accepted"]
    assert rule_of(answers[1]) == "internal_error"
    assert service.ingest(sent[:1])[0]["status"] == "duplicate"  # the others were stored
