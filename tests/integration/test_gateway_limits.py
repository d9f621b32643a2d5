"""The gateway's limits over a real gRPC channel, with keys and hand-written services behind it
(as in test_gateway_grpc.py): a message too large is refused before its key is looked at, a
credential flooding the gateway is throttled while another is served at the same time, a
caller's Audit calls run one at a time, and unknown methods share one metrics label."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest

from services.gateway.config import MAX_REQUEST_BYTES, Config
from services.gateway.fairshare import Limits
from services.gateway.server import serve
from services.kernel.process.metrics import Metrics
from tests.e2e.conftest import free_port
from tests.e2e.lifecycle import proposal, unique
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import GatewayClient, event_to_proto
from zhaoshang.keys import Wanted, issue_keys

WUHAN, YICHANG, AUDITOR = "pref:420100", "pref:420500", "auditor:dev"
HONGSHAN, XILING = "420111", "420502"  # a district of each
FLOOD_CALLS = 20_000  # the flooder's bound, should it never be told to stop
STORE = {"ok": True, "events": 3, "aggregates": 1, "checkpoints": 0, "covered_to": 3}


class Services:
    """Every forwarded report accepted; `verify` waits until the test lets it answer."""

    def __init__(self) -> None:
        self.ingested: list[dict] = []
        self.verifying = threading.Event()
        self.may_answer = threading.Event()
        self._lock = threading.Lock()

    def call(self, service: str, method: str, **kwargs):
        if method == "verify":
            self.verifying.set()
            assert self.may_answer.wait(30)
            return {**STORE, "service": service, "last": 3, "findings": []}
        with self._lock:
            self.ingested += kwargs["reports"]
        return [
            {"event_id": r["event_id"], "status": "accepted", "errors": []}
            for r in kwargs["reports"]
        ]


@dataclass
class Gateway:
    target: str
    keys: dict[str, str]
    services: Services
    metrics: Metrics
    servers: list[grpc.Server] = field(default_factory=list)

    def client(self, holder: str) -> GatewayClient:
        return GatewayClient(self.target, api_key=self.keys[holder], plaintext=True, timeout=30)


@pytest.fixture
def gateway(tmp_path) -> Iterator[Gateway]:
    keys_file = tmp_path / "keys.yaml"
    issued = issue_keys(keys_file, [Wanted(WUHAN), Wanted(YICHANG), Wanted(AUDITOR)])
    limits = Limits(calls_per_s=1, calls_burst=5, reports_burst=1000)  # a flood is soon seen
    config = Config(
        address=f"127.0.0.1:{free_port()}",
        plaintext=True,  # on loopback; TLS is test_gateway_tls.py's
        keys_file=str(keys_file),
        limits=limits,
    )
    services, metrics = Services(), Metrics("gateway")
    server = serve(config, rpc=services, metrics=metrics)
    yield Gateway(config.address, {i.credential.holder: i.key for i in issued}, services, metrics)
    services.may_answer.set()
    server.stop(grace=None)


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value


def test_a_message_over_4_mib_is_refused_before_its_key_is_looked_at(gateway):
    padding = "x" * (5 * 1024 * 1024)
    big = pb.PublishRequest(events=[pb.Event(event_id=str(uuid.uuid4()), payload_json=padding)])
    assert big.ByteSize() > MAX_REQUEST_BYTES
    with grpc.insecure_channel(gateway.target) as channel:  # a client without a send limit
        refused = refusal(lambda: pb_grpc.IngestStub(channel).Publish(big, timeout=30))

    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # not UNAUTHENTICATED: no key
    assert str(MAX_REQUEST_BYTES) in refused.details()
    assert gateway.services.ingested == []
    with gateway.client(WUHAN) as wuhan:  # the client library does not even send it
        too_big = proposal(unique("BIG"), WUHAN, HONGSHAN, name="x" * (5 * 1024 * 1024))
        assert refusal(lambda: wuhan.publish([too_big])).code() == (
            grpc.StatusCode.RESOURCE_EXHAUSTED
        )


class Flood(threading.Thread):
    """Wuhan publishing one report a call as fast as it can, retry-after or not, until told to
    stop (or FLOOD_CALLS calls); each refusal noted with whether Yichang had been served."""

    def __init__(self, gateway: Gateway, served: threading.Event) -> None:
        super().__init__()
        self.gateway, self.served = gateway, served
        self.refusals: list[tuple[grpc.RpcError, bool]] = []
        self.throttled, self.stop = threading.Event(), threading.Event()

    def run(self) -> None:
        key = [("x-api-key", self.gateway.keys[WUHAN])]
        with grpc.insecure_channel(self.gateway.target) as channel:
            stub = pb_grpc.IngestStub(channel)
            for _ in range(FLOOD_CALLS):
                if self.stop.is_set():
                    return
                report = event_to_proto(proposal(unique("FL"), WUHAN, HONGSHAN))
                try:
                    stub.Publish(pb.PublishRequest(events=[report]), timeout=30, metadata=key)
                except grpc.RpcError as refused:
                    self.refusals.append((refused, self.served.is_set()))
                    self.throttled.set()


def test_a_flooding_credential_is_throttled_while_another_is_served(gateway):
    served = threading.Event()
    flood = Flood(gateway, served)
    flood.start()
    try:
        assert flood.throttled.wait(30)
        with gateway.client(YICHANG) as yichang:
            reports = [proposal(unique("YC"), YICHANG, XILING) for _ in range(3)]
            answers = [yichang.publish([report]) for report in reports]
        served.set()
        while not any(after for _, after in flood.refusals) and flood.is_alive():
            flood.throttled.clear()
            flood.throttled.wait(1)
    finally:
        flood.stop.set()
        flood.join(30)

    assert [answer["status"] for [answer] in answers] == ["accepted"] * 3
    assert any(after for _, after in flood.refusals)  # Wuhan was refused before and after
    for refused, _ in flood.refusals:
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "calls_per_second" in refused.details()
        retry_after = dict(refused.trailing_metadata())["retry-after"]
        assert float(retry_after) > 0
        assert f"请 {retry_after} 秒后重试" in refused.details()
        assert f"retry after {retry_after} s" in refused.details()
    sources = {r["source"] for r in gateway.services.ingested}
    assert sources == {WUHAN, YICHANG}  # Wuhan's share was served, only its excess refused


def test_a_callers_second_verify_is_refused_while_its_first_runs(gateway):
    answers: list[dict] = []
    with gateway.client(AUDITOR) as auditor:
        first = threading.Thread(target=lambda: answers.append(auditor.verify()))
        first.start()
        try:
            assert gateway.services.verifying.wait(30)
            second = refusal(auditor.verify)
            other = refusal(lambda: auditor.read_log("registry", 1))
        finally:
            gateway.services.may_answer.set()
            first.join(30)

    assert answers and answers[0]["ok"]
    for refused in (second, other):
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "audit_one_at_a_time" in refused.details()
        assert dict(refused.trailing_metadata())["retry-after"] == "1"


def test_every_unknown_method_is_counted_under_one_label(gateway):
    invented = ["/zhaoshang.v1.Query/Nope", "/x.Y/" + "z" * 300, "/zhaoshang.v1.Audit/Wipe"]
    with grpc.insecure_channel(gateway.target) as channel:
        refusals = [refusal(lambda m=m: channel.unary_unary(m)(b"", timeout=10)) for m in invented]

    assert {r.code() for r in refusals} == {grpc.StatusCode.UNIMPLEMENTED}
    assert "unknown_method" in refusals[0].details() and "Nope" in refusals[0].details()
    labels = {"service": "gateway", "entrypoint": "unknown", "outcome": "UNIMPLEMENTED"}
    counted = gateway.metrics.registry.get_sample_value(
        "zhaoshang_request_duration_seconds_count", labels
    )
    assert counted == 3
    exposed = gateway.metrics.exposition().decode()
    assert not any(name in exposed for name in ("Nope", "x.Y", "Wipe"))
