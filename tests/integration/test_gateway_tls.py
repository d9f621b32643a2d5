"""TLS on the gateway's gRPC port: the gateway's own server, real TLS with the development CA
(tools/devca.py), real gRPC channels, hand-written services behind it (as in
test_gateway_grpc.py: what is tested here is the gateway's transport and who it lets in)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from services.gateway.config import Config
from services.gateway.server import SERVICES, serve
from services.gateway.tls import TlsSettingsError, binds_loopback
from tests.e2e.conftest import free_port
from tests.e2e.lifecycle import proposal, unique
from tools.devca import LOCAL_NAMES, SERVER_NAME, Issued, ensure_dev_tls, issue
from zhaoshang.api import zhaoshang_pb2 as pb
from zhaoshang.api import zhaoshang_pb2_grpc as pb_grpc
from zhaoshang.client import GatewayClient, open_channel

ROOT = Path(__file__).resolve().parents[2]
WUHAN, XIANGYANG = "pref:420100", "pref:420600"
HONGSHAN, XIANGCHENG = "420111", "420602"  # a district of each
REFUSED = grpc.StatusCode.UNAVAILABLE  # a failed handshake: the call never reaches the gateway


class AcceptingServices:
    """What the services answer: every forwarded report accepted, refusals noted."""

    def __init__(self) -> None:
        self.ingested: list[dict] = []
        self.refused: list[dict] = []

    def call(self, service: str, method: str, **kwargs):
        if method == "record_refusals":
            self.refused += kwargs["refused"]
            return None
        self.ingested += kwargs["reports"]
        return [
            {"event_id": r["event_id"], "status": "accepted", "errors": []}
            for r in kwargs["reports"]
        ]


class Gateway:
    """Gateways built in-process around the fake services, serving the dev CA's certificate
    unless told otherwise (`start(**settings)`: Config fields)."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.ca, self.server_cert = ensure_dev_tls(tmp_path / "tls")
        self.services = AcceptingServices()
        self.servers: list[grpc.Server] = []

    def config(self, **settings) -> Config:
        defaults = {
            "address": f"127.0.0.1:{free_port()}",
            "tls_cert": str(self.server_cert.cert),
            "tls_key": str(self.server_cert.key),
            "keys_file": str(self.dir / "no-keys.yaml"),  # authentication on, no key issued
        }
        return Config(**{**defaults, **settings})

    def start(self, **settings) -> str:
        config = self.config(**settings)
        self.servers.append(serve(config, rpc=self.services))
        return config.address

    def client_certificate(self, source: str, ca: Issued | None = None) -> Issued:
        return issue(
            ca or self.ca, self.dir / "tls", f"client-{uuid.uuid4().hex[:6]}", client_source=source
        )

    def stop(self) -> None:
        for server in self.servers:
            server.stop(grace=None)


@pytest.fixture
def gateway(tmp_path) -> Iterator[Gateway]:
    running = Gateway(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def other_ca(tmp_path_factory) -> Issued:
    return ensure_dev_tls(tmp_path_factory.mktemp("other-ca"))[0]


def health(channel: grpc.Channel, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value


def report(source: str, region: str) -> dict:
    return proposal(unique("TLS"), source, region)


def test_health_and_reflection_answer_without_a_key_over_tls_and_the_api_wants_one(gateway):
    target = gateway.start()
    with open_channel(target, gateway.ca.cert) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
        assert health(channel, "zhaoshang.v1.Ingest") == health_pb2.HealthCheckResponse.SERVING
        assert set(SERVICES) <= set(ProtoReflectionDescriptorDatabase(channel).get_services())
        stub = pb_grpc.QueryStub(channel)
        no_key = refusal(lambda: stub.ListProjects(pb.ListProjectsRequest(), timeout=5))
    assert no_key.code() == grpc.StatusCode.UNAUTHENTICATED  # over TLS, refused by the gateway


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_client_trusting_the_ca_reaches_the_gateway_by_each_local_name(gateway, host):
    port = gateway.start(address=f"{host}:{free_port()}").rpartition(":")[2]
    with open_channel(f"{host}:{port}", gateway.ca.cert) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


def test_a_plaintext_client_is_refused_by_a_tls_gateway(gateway):
    target = gateway.start()
    with open_channel(target, plaintext=True) as channel:
        assert refusal(lambda: health(channel)).code() == REFUSED
    key = "zsk_" + uuid.uuid4().hex
    with GatewayClient(target, api_key=key, plaintext=True, timeout=5) as cleartext:
        assert refusal(lambda: cleartext.publish([report(WUHAN, HONGSHAN)])).code() == REFUSED
    assert gateway.services.ingested == []


def test_a_client_trusting_another_ca_is_refused(gateway, other_ca):
    target = gateway.start()
    with open_channel(target, other_ca.cert) as channel:
        assert refusal(lambda: health(channel)).code() == REFUSED
    with open_channel(target) as channel:  # the system's roots do not know the dev CA either
        assert refusal(lambda: health(channel)).code() == REFUSED


def test_with_mtls_a_client_without_a_certificate_the_ca_signed_is_refused(gateway, other_ca):
    target = gateway.start(tls_client_ca=str(gateway.ca.cert))
    with open_channel(target, gateway.ca.cert) as channel:
        assert refusal(lambda: health(channel)).code() == REFUSED
    stranger = gateway.client_certificate(WUHAN, ca=other_ca)
    with open_channel(target, gateway.ca.cert, stranger.cert, stranger.key) as channel:
        assert refusal(lambda: health(channel)).code() == REFUSED
    wuhan = gateway.client_certificate(WUHAN)
    with open_channel(target, gateway.ca.cert, wuhan.cert, wuhan.key) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


def test_with_mtls_a_certificate_for_one_prefecture_cannot_publish_for_another(gateway):
    target = gateway.start(tls_client_ca=str(gateway.ca.cert))
    wuhan = gateway.client_certificate(WUHAN)
    own, forged = report(WUHAN, HONGSHAN), report(XIANGYANG, XIANGCHENG)
    with GatewayClient(
        target, ca_file=gateway.ca.cert, cert_file=wuhan.cert, key_file=wuhan.key
    ) as client:
        outcomes = client.publish([own, forged])
    assert [o["status"] for o in outcomes] == ["accepted", "rejected"]
    [error] = outcomes[1]["errors"]
    assert (error["field"], error["value"], error["rule"]) == (
        "source",
        XIANGYANG,
        "source_not_sender",
    )
    assert [r["event_id"] for r in gateway.services.ingested] == [own["event_id"]]
    assert [r["sender"] for r in gateway.services.refused] == [WUHAN]


def test_a_renewed_certificate_is_served_to_the_next_connection_without_a_restart(
    gateway, tmp_path
):
    target = gateway.start()
    new_ca, _ = ensure_dev_tls(tmp_path / "renewed")
    renewed = issue(new_ca, tmp_path / "renewed", SERVER_NAME, server_names=LOCAL_NAMES)
    gateway.server_cert.key.write_bytes(renewed.key.read_bytes())
    gateway.server_cert.cert.write_bytes(renewed.cert.read_bytes())
    with open_channel(target, new_ca.cert) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
    with open_channel(target, gateway.ca.cert) as channel:
        assert refusal(lambda: health(channel)).code() == REFUSED


def test_a_half_renewed_pair_keeps_the_certificate_that_works_until_the_key_follows(
    gateway, tmp_path
):
    target = gateway.start()
    new_ca, _ = ensure_dev_tls(tmp_path / "renewed")
    renewed = issue(new_ca, tmp_path / "renewed", SERVER_NAME, server_names=LOCAL_NAMES)
    gateway.server_cert.cert.write_bytes(renewed.cert.read_bytes())  # the key not yet
    with open_channel(target, gateway.ca.cert) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
    gateway.server_cert.key.write_bytes(renewed.key.read_bytes())
    with open_channel(target, new_ca.cert) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    "address", ["0.0.0.0:50051", "[::]:50051", "10.1.2.3:50051", "gateway:50051"]
)
def test_plaintext_is_refused_on_an_address_that_is_not_loopback(gateway, address):
    with pytest.raises(TlsSettingsError) as refused:
        gateway.start(address=address, plaintext=True)
    assert (refused.value.field, refused.value.value) == ("GATEWAY_PLAINTEXT", address)
    assert refused.value.rule == "plaintext_loopback_only"
    assert not binds_loopback(address)


def test_plaintext_asked_for_on_loopback_is_served(gateway):
    target = gateway.start(plaintext=True)
    with open_channel(target, plaintext=True) as channel:
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    ("settings", "field", "rule"),
    [
        ({"tls_cert": None, "tls_key": None}, "GATEWAY_TLS_CERT", "tls_files_required"),
        ({"tls_key": None}, "GATEWAY_TLS_KEY", "tls_files_required"),
        ({"tls_cert": "/nonexistent/server.pem"}, "GATEWAY_TLS_CERT", "tls_file_unreadable"),
        ({"tls_client_ca": "/nonexistent/ca.pem"}, "GATEWAY_TLS_CLIENT_CA", "tls_file_unreadable"),
    ],
)
def test_without_usable_certificate_files_the_gateway_does_not_start(
    gateway, settings, field, rule
):
    with pytest.raises(TlsSettingsError) as refused:
        gateway.start(**settings)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_a_key_that_is_not_the_certificates_is_refused(gateway, other_ca):
    other = issue(other_ca, gateway.dir / "tls", "other-server", server_names=LOCAL_NAMES)
    with pytest.raises(TlsSettingsError) as refused:
        gateway.start(tls_key=str(other.key))
    assert (refused.value.field, refused.value.rule) == ("GATEWAY_TLS_KEY", "tls_key_mismatch")


def test_the_gateway_process_asked_for_plaintext_on_every_address_refuses_to_start(tmp_path):
    env = {
        **os.environ,
        "GATEWAY_ADDRESS": f"0.0.0.0:{free_port()}",
        "GATEWAY_PLAINTEXT": "1",
        "ZHAOSHANG_VAR": str(tmp_path),
        "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/",  # never reached
        "METRICS_PORT": "0",
    }
    gateway = subprocess.run(
        [sys.executable, "-m", "services.gateway.server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gateway.returncode != 0
    last = gateway.stderr.strip().splitlines()[-1]
    assert "GATEWAY_PLAINTEXT=1" in last and env["GATEWAY_ADDRESS"] in last, gateway.stderr
    assert "回环地址" in last and "loopback" in last
    assert "Traceback" not in gateway.stderr
