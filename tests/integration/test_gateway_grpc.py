"""The gateway's gRPC server over a real channel, with hand-written services behind it."""

from __future__ import annotations

import json
import socket
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from services.gateway.config import Config
from services.gateway.errors import ServiceUnavailable
from services.gateway.server import SERVICES, serve
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import GatewayClient

RANKING = {
    "quarter": "2020Q2",
    "policy_version": "2020.1",
    "published": True,
    "hash": "sha256:abc",
    "rows": [
        {"rank": 1, "region": "420100", "name": "武汉市", "total": "87.50", "capital": "12.3"},
        {"rank": 2, "region": "420500", "name": "宜昌市", "total": "80.25", "capital": "9.1"},
    ],
    "summons": ["421300"],
}


def wire_event(service: str, notification_id: int, recorded_at: str, type_: str) -> dict:
    return {
        "service": service,
        "notification_id": notification_id,
        "type": type_,
        "event_id": str(uuid.uuid4()),
        "source": "pref:420100",
        "occurred_on": "2020-05-20",
        "recorded_at": recorded_at,
        "payload": {"project_code": "WH-001", "amount": "3.5"},
    }


class FakeServices:
    """What registry, tracking and scoring answer over RPC, kept in memory."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.down: set[str] = set()
        self.projects = {"WH-001": {"project_code": "WH-001", "name": "光谷芯片产业园"}}
        self.histories = {
            "registry": [
                wire_event("registry", 7, "2020-05-20T02:00:00+00:00", "project.proposed"),
                wire_event("registry", 9, "2020-05-22T02:00:00+00:00", "project.signed"),
            ],
            "tracking": [
                wire_event("tracking", 3, "2020-05-21T02:00:00.5+00:00", "project.capital_arrived"),
            ],
        }

    def call(self, service: str, method: str, **kwargs):
        self.calls.append((service, method, kwargs))
        if service in self.down:
            raise ServiceUnavailable(f"服务 {service} 未运行", f"service {service} is not running")
        if method == "ingest":
            return [
                {"event_id": r["event_id"], "status": "accepted", "errors": []}
                for r in kwargs["reports"]
            ]
        if method in ("get_ranking", "publish_ranking"):
            return {**RANKING, "quarter": kwargs["quarter"]}
        if method == "get_project":
            return self.projects.get(kwargs["project_code"])
        if method == "history":
            return self.histories[service]
        raise AssertionError(f"unexpected call {service}.{method}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def target(services):
    address = f"127.0.0.1:{free_port()}"
    # Plaintext, asked for on loopback: TLS itself is test_gateway_tls.py's.
    server = serve(Config(address=address, max_batch=5, plaintext=True), rpc=services)
    yield address
    server.stop(grace=None)


@pytest.fixture
def gateway(target):
    with GatewayClient(target, timeout=10, plaintext=True) as client:
        yield client


def make_event(**overrides) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "project.tracking_started",
        "source": "office",
        "occurred_on": "2020-05-20",
        "schema_version": 1,
        "payload": {"project_code": "WH-001"},
    }
    return {**event, **overrides}


def test_publish_answers_each_event_in_order(gateway, services):
    good = make_event()
    bad_date = make_event(occurred_on="2020-13-45")
    milestone = make_event(type="project.production_started")

    outcomes = gateway.publish([good, bad_date, milestone])

    assert [(o["event_id"], o["status"]) for o in outcomes] == [
        (good["event_id"], "accepted"),
        (bad_date["event_id"], "rejected"),
        (milestone["event_id"], "accepted"),
    ]
    [error, *_] = outcomes[1]["errors"]
    assert error["field"] and error["rule"] and error["message_zh"] and error["message_en"]
    assert [(s, m) for s, m, _ in services.calls] == [
        ("registry", "ingest"),
        ("tracking", "ingest"),
    ]


def test_a_payload_that_is_not_json_is_rejected_alone(target):
    with grpc.insecure_channel(target) as channel:
        event = pb.Event(event_id=str(uuid.uuid4()), type="project.signed", payload_json="{oops")
        response = pb_grpc.IngestStub(channel).Publish(pb.PublishRequest(events=[event]))

    [outcome] = response.outcomes
    assert outcome.status == pb.Outcome.REJECTED
    assert outcome.errors[0].field == "payload_json"


def test_an_oversized_batch_is_refused_in_both_languages(gateway, services):
    with pytest.raises(grpc.RpcError) as refused:
        gateway.publish([make_event() for _ in range(6)])

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "最多 5 条" in refused.value.details()
    assert "at most 5 reports" in refused.value.details()
    assert services.calls == []


def test_a_service_that_is_down_makes_publish_unavailable(gateway, services):
    services.down.add("registry")

    with pytest.raises(grpc.RpcError) as failed:
        gateway.publish([make_event()])

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "registry is not running" in failed.value.details()


def test_get_ranking_gives_rows_and_the_whole_content(gateway, services, target):
    ranking = gateway.get_ranking("2020Q3", view="provisional")

    assert services.calls == [
        ("scoring", "get_ranking", {"quarter": "2020Q3", "view": "provisional"})
    ]
    assert ranking["hash"] == "sha256:abc"
    assert ranking["published"] is True
    assert ranking["summons"] == ["421300"]
    with grpc.insecure_channel(target) as channel:
        reply = pb_grpc.QueryStub(channel).GetRanking(pb.GetRankingRequest(quarter="2020Q3"))
    assert [(r.rank, r.region, r.name, r.total) for r in reply.rows] == [
        (1, "420100", "武汉市", "87.50"),
        (2, "420500", "宜昌市", "80.25"),
    ]
    assert json.loads(reply.content_json)["rows"][0]["capital"] == "12.3"
    assert "武汉市" in reply.content_json  # readable, not \\u-escaped


def test_a_malformed_quarter_is_refused(gateway, services):
    with pytest.raises(grpc.RpcError) as refused:
        gateway.get_ranking("2020-Q3")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert services.calls == []


def test_the_office_publishes_a_ranking(gateway, services):
    ranking = gateway.publish_ranking("2020Q2")

    assert services.calls == [("scoring", "publish_ranking", {"quarter": "2020Q2"})]
    assert ranking["quarter"] == "2020Q2"
    assert ranking["rows"][0]["region"] == "420100"


def test_get_project_gives_its_state_or_none(gateway):
    assert gateway.get_project("WH-001") == {"project_code": "WH-001", "name": "光谷芯片产业园"}
    assert gateway.get_project("NOPE-404") is None


def test_history_merges_both_services_by_time(gateway, services):
    history = gateway.history("WH-001")

    assert [(e["service"], e["notification_id"], e["type"]) for e in history] == [
        ("registry", 7, "project.proposed"),
        ("tracking", 3, "project.capital_arrived"),
        ("registry", 9, "project.signed"),
    ]
    assert history[1]["payload"] == {"project_code": "WH-001", "amount": "3.5"}
    assert {(s, m) for s, m, _ in services.calls} == {
        ("registry", "history"),
        ("tracking", "history"),
    }


def test_health_says_serving_for_the_server_and_each_service(target):
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *SERVICES):
            reply = health.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


def test_reflection_lists_the_services(target):
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        described = database.FindFileContainingSymbol("zhaoshang.v1.Ingest")

    assert {
        "zhaoshang.v1.Ingest",
        "zhaoshang.v1.Query",
        "zhaoshang.v1.Audit",
        "zhaoshang.v1.Office",
        "grpc.health.v1.Health",
    } <= services
    assert described.name == "zhaoshang/v1/zhaoshang.proto"
