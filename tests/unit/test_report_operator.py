"""The operator, in memory: a report sent for a person records that person with its receipt,
a project's history names them beside each event, and receipts stored before there were
operators read back as sent by nobody in particular."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from services.kernel.contract import ids
from services.kernel.contract.report import Report, validate_report
from services.kernel.ingest.reports import Receipt
from services.kernel.store.chain import inner_state
from services.registry.application import RegistryApplication

TODAY = date(2020, 9, 15)
CODE = "WH-2020-001"


def report(type_: str, payload: dict, operator: str | None = None) -> Report:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": "pref:420100",
        "occurred_on": "2020-09-10",
        "schema_version": 1,
        "payload": payload,
    }
    return dataclasses.replace(validate_report(raw, today=TODAY), operator=operator)


def proposed(operator: str | None = None) -> Report:
    payload = {
        "project_code": CODE,
        "name": "长江存储二期",
        "investor": {"name": "紫光集团", "origin": "CN-11"},
        "industry": "integrated_circuit",
        "region": "420102",
        "total_investment": "25.5",
        "categories": [],
        "channel": "platform_event",
    }
    return report("project.proposed", payload, operator)


def test_the_operator_travels_beside_the_content_and_is_no_part_of_it():
    sent = proposed("zhang.san")
    primitive = sent.to_primitive()

    assert primitive["operator"] == "zhang.san"
    assert Report.from_primitive(primitive) == sent
    assert sent.digest() == dataclasses.replace(sent, operator=None).digest()
    assert "operator" not in dataclasses.replace(sent, operator=None).to_primitive()


def test_a_projects_history_names_who_sent_each_report_through_the_console():
    registry = RegistryApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    first = proposed("zhang.san")
    signed = report("project.signed", {"project_code": CODE, "contract_investment": "24"})
    assert [o["status"] for o in registry.ingest([first, signed])] == ["accepted"] * 2

    history = registry.history(CODE)

    operators = {e["event_id"]: e["operator"] for e in history}
    assert operators == {str(first.event_id): "zhang.san", str(signed.event_id): None}
    resent = dataclasses.replace(first, operator="li.si")  # a resend, by someone else
    assert registry.ingest([resent])[0]["status"] == "duplicate"


def test_a_receipt_stored_before_operators_reads_as_sent_by_no_person():
    app = RegistryApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    event_id = str(uuid.uuid4())
    receipt = Receipt(
        event_id=event_id, type="project.signed", digest="d" * 64, project_code=CODE, operator="x"
    )
    (recorded,) = receipt.collect_events()
    transcoder = app.mapper.transcoder
    state = transcoder.decode(inner_state(app.mapper.to_stored_event(recorded).state))
    assert state.pop("class_version") == 2
    del state["operator"]  # as version 1 wrote it
    old = StoredEvent(
        originator_id=ids.receipt_id(event_id),
        originator_version=1,
        topic=get_topic(Receipt.Recorded),
        state=transcoder.encode(state),
    )

    read = app.mapper.to_domain_event(old).mutate(None)

    assert isinstance(read, Receipt)
    assert (read.event_id, read.project_code, read.operator) == (event_id, CODE, None)
