"""The gateway's one ingest path: validation, runs per owning service, order of outcomes."""

from __future__ import annotations

import uuid

import pytest

from services.gateway.errors import BatchTooLarge, Undecodable
from services.gateway.ingest import Ingestor, field_error


class FakeServices:
    """Stands in for nameko RPC: records each call and accepts every report it is sent."""

    def __init__(self, status: str = "accepted"):
        self.status = status
        self.calls: list[tuple[str, str, list[str]]] = []

    def call(self, service: str, method: str, **kwargs):
        reports = kwargs["reports"]
        self.calls.append((service, method, [r["event_id"] for r in reports]))
        return [{"event_id": r["event_id"], "status": self.status, "errors": []} for r in reports]


OWNED_BY = {
    "registry": ("project.tracking_started", {"project_code": "WH-001"}),
    "tracking": ("project.production_started", {"project_code": "WH-001"}),
}


def make_event(owner: str = "registry", **overrides) -> dict:
    type_, payload = OWNED_BY[owner]
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": "office",
        "occurred_on": "2020-05-20",
        "schema_version": 1,
        "payload": dict(payload),
    }
    return {**event, **overrides}


def make_invalid_event(**overrides) -> dict:
    return make_event(occurred_on="2020-13-45", **overrides)


def test_consecutive_reports_of_one_owner_go_in_one_call_in_order():
    services = FakeServices()
    events = [make_event("registry"), make_event("registry"), make_event("tracking")]
    events += [make_event("tracking"), make_event("registry")]
    ids = [e["event_id"] for e in events]

    Ingestor(services).publish(events)

    assert services.calls == [
        ("registry", "ingest", ids[0:2]),
        ("tracking", "ingest", ids[2:4]),
        ("registry", "ingest", ids[4:5]),
    ]


def test_an_invalid_report_is_rejected_with_its_errors_and_never_forwarded():
    services = FakeServices()
    invalid = make_invalid_event()

    [outcome] = Ingestor(services).publish([invalid])

    assert services.calls == []
    assert outcome["event_id"] == invalid["event_id"]
    assert outcome["status"] == "rejected"
    assert any(error["field"].endswith("occurred_on") for error in outcome["errors"])
    assert all(error["message_zh"] and error["message_en"] for error in outcome["errors"])


def test_a_rejected_report_does_not_split_a_run():
    services = FakeServices()
    first, invalid, last = make_event("registry"), make_invalid_event(), make_event("registry")

    Ingestor(services).publish([first, invalid, last])

    assert services.calls == [("registry", "ingest", [first["event_id"], last["event_id"]])]


def test_outcomes_come_back_in_the_order_of_the_request():
    events = [make_event("tracking"), make_invalid_event(), make_event("registry")]
    events += [make_event("tracking"), {"not": "an envelope"}, "not even an object"]

    outcomes = Ingestor(FakeServices()).publish(events)

    assert [o["event_id"] for o in outcomes[:4]] == [e["event_id"] for e in events[:4]]
    assert [o["status"] for o in outcomes] == [
        "accepted",
        "rejected",
        "accepted",
        "accepted",
        "rejected",
        "rejected",
    ]


def test_the_services_answers_are_passed_on():
    outcomes = Ingestor(FakeServices(status="duplicate")).publish([make_event()])

    assert outcomes[0]["status"] == "duplicate"


def test_an_event_its_transport_could_not_decode_keeps_its_place():
    error = field_error("payload_json", "{", "json", "不是 JSON", "not JSON")
    undecodable = Undecodable("e-2", "payload_json", "{", "json", "不是 JSON", "not JSON")
    events = [make_event(), undecodable, make_event()]

    outcomes = Ingestor(FakeServices()).publish(events)

    assert outcomes[1] == {"event_id": "e-2", "status": "rejected", "errors": [error]}
    assert [o["status"] for o in outcomes] == ["accepted", "rejected", "accepted"]


def test_an_oversized_batch_is_refused_whole_in_both_languages():
    services = FakeServices()

    with pytest.raises(BatchTooLarge) as refused:
        Ingestor(services, max_batch=2).publish([make_event() for _ in range(3)])

    assert services.calls == []
    assert "3" in refused.value.message_zh
    assert "at most 2" in refused.value.message_en


def test_a_batch_at_the_limit_is_taken():
    outcomes = Ingestor(FakeServices(), max_batch=2).publish([make_event(), make_event()])

    assert len(outcomes) == 2
