"""Delegation as the console will use it: a delegate credential names the person, their unit
and their roles in the call's metadata; nobody else may, and the delegate alone may do nothing.
Publishing needs the report role, and a delegated report carries its person to the service."""

from __future__ import annotations

import uuid

import pytest

from services.gateway.caller import DELEGATE, READ, REPORT, REVIEW, Caller
from services.gateway.delegation import (
    ON_BEHALF_OF_ROLES,
    ON_BEHALF_OF_UNIT,
    ON_BEHALF_OF_USER,
    acting_for,
)
from services.gateway.errors import InvalidRequest, PermissionDenied
from services.gateway.ingest import Ingestor, SentBatch
from services.kernel.contract.errors import Problem

CONSOLE = Caller("key-0123456789ab", "office", frozenset({DELEGATE}))
WUHAN = Caller("key-ba9876543210", "pref:420100", frozenset({REPORT, READ}))


def person(user: str = "zhang.san", unit: str = "pref:420100", roles: str = "report,read"):
    return {ON_BEHALF_OF_USER: user, ON_BEHALF_OF_UNIT: unit, ON_BEHALF_OF_ROLES: roles}


def refused(kind: type[Problem], credential: Caller, metadata: dict) -> str:
    with pytest.raises(kind) as raised:
        acting_for(credential, metadata)
    assert raised.value.rule in str(raised.value)  # the rule is named to the caller
    return raised.value.rule


def test_a_delegate_acts_as_the_person_of_their_unit_with_only_the_roles_named():
    caller = acting_for(CONSOLE, {**person(roles=" read "), "x-api-key": "…"})

    assert caller == Caller("key-0123456789ab", "pref:420100", frozenset({READ}), "zhang.san")
    assert not caller.has(REPORT) and not caller.has(DELEGATE)


def test_a_credential_without_delegate_is_itself_and_may_not_name_a_person():
    assert acting_for(WUHAN, {"x-api-key": "…"}) is WUHAN
    for header, value in person().items():
        assert refused(PermissionDenied, WUHAN, {header: value}) == "delegation_needs_delegate"


def test_a_delegate_credential_alone_may_do_nothing():
    assert refused(PermissionDenied, CONSOLE, {}) == "delegate_needs_person"
    partial = {ON_BEHALF_OF_USER: "zhang.san", ON_BEHALF_OF_UNIT: "pref:420100"}
    assert refused(PermissionDenied, CONSOLE, partial) == "delegate_needs_person"
    assert refused(PermissionDenied, CONSOLE, person(user=" ")) == "delegate_needs_person"


def test_delegation_is_never_passed_on_nor_beyond_what_the_unit_may_hold():
    passed_on = person(roles="read,delegate")
    assert refused(PermissionDenied, CONSOLE, passed_on) == "delegate_not_passed_on"
    review = person(roles="report,review")
    assert refused(PermissionDenied, CONSOLE, review) == "role_not_for_unit"
    auditor = person(unit="auditor:shenjiting", roles="report")
    assert refused(PermissionDenied, CONSOLE, auditor) == "role_not_for_unit"
    office = acting_for(CONSOLE, person(unit="office", roles="review,read"))
    assert office.roles == {REVIEW, READ}


def test_a_malformed_person_is_refused_naming_the_header_and_rule():
    assert refused(InvalidRequest, CONSOLE, person(roles="admin")) == "delegation_roles"
    assert refused(InvalidRequest, CONSOLE, person(roles=",")) == "delegation_roles"
    assert refused(InvalidRequest, CONSOLE, person(unit="pref:110000")) == "delegation_unit"
    assert refused(InvalidRequest, CONSOLE, person(user="张 三")) == "delegation_user"
    with pytest.raises(InvalidRequest) as raised:
        acting_for(CONSOLE, person(unit="city:wuhan"))
    assert (raised.value.field, raised.value.value) == (ON_BEHALF_OF_UNIT, "city:wuhan")


class RecordingServices:
    """Stands in for nameko RPC: keeps the reports each service is sent and accepts them."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def call(self, service: str, method: str, **kwargs):
        self.sent += kwargs.get("reports", [])
        return [
            {"event_id": r["event_id"], "status": "accepted", "errors": []}
            for r in kwargs.get("reports", [])
        ]


def signed(source: str = "pref:420100") -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "project.signed",
        "source": source,
        "occurred_on": "2020-05-20",
        "schema_version": 1,
        "payload": {"project_code": "WH-2020-001", "contract_investment": "25"},
    }


def test_a_delegated_report_carries_its_person_to_the_owning_service():
    services = RecordingServices()
    clerk = acting_for(CONSOLE, person(user="zhang.san"))

    (outcome,) = Ingestor(services).publish(SentBatch([signed()], clerk))

    assert outcome["status"] == "accepted"
    assert [r["operator"] for r in services.sent] == ["zhang.san"]


def test_a_system_reporting_itself_sends_no_operator_and_cannot_claim_one():
    services = RecordingServices()
    claimed = {**signed(), "operator": "li.si"}

    outcomes = Ingestor(services).publish(SentBatch([signed(), claimed], WUHAN))

    assert [o["status"] for o in outcomes] == ["accepted", "rejected"]
    assert outcomes[1]["errors"][0]["field"] == "operator"
    assert ["operator" in r for r in services.sent] == [False]


def test_publishing_needs_the_report_role_and_the_callers_own_unit():
    services = RecordingServices()
    reader = acting_for(CONSOLE, person(roles="read"))
    with pytest.raises(PermissionDenied) as denied:
        Ingestor(services).publish(SentBatch([signed()], reader))
    assert denied.value.rule == "report_role_required" and services.sent == []

    clerk = acting_for(CONSOLE, person(unit="pref:420200"))
    (outcome,) = Ingestor(services).publish(SentBatch([signed("pref:420100")], clerk))
    assert outcome["errors"][0]["rule"] == "source_not_sender"
