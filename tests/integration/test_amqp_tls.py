"""AMQP over TLS for real: the machine's RabbitMQ (plain 5672, never reconfigured) reached
through a TLS-terminating proxy on loopback that shows a certificate of the development CA.
Every connection the code opens goes through services/kernel/bus/broker.py: with the right CA
messages flow (kombu, a nameko service and its RPC callers, the gateway's AMQP ingest); with
another CA, with none, or with a certificate for another host, nothing reaches the broker."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from kombu import Exchange, Producer, Queue
from kombu.exceptions import OperationalError

from services.gateway.amqp_ingest import INGEST_EXCHANGE, AmqpIngest
from services.gateway.rpc import NamekoRpc
from services.kernel.bus import broker
from tests.integration.test_observability import (
    PROPOSED,
    eventually,
    free_port,
    get,
    metric,
    report,
)
from tests.tls_proxy import TlsProxy
from tools.devca import Issued, ensure_ca, ensure_dev_tls, issue

pytestmark = pytest.mark.rabbit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev_tls(tmp_path_factory) -> tuple[Issued, Issued]:
    return ensure_dev_tls(tmp_path_factory.mktemp("dev-tls"))


@pytest.fixture
def tls_broker(amqp_uri, dev_tls, monkeypatch) -> Iterator[tuple[TlsProxy, str]]:
    """The test's vhost behind the TLS proxy: (proxy, amqps URI through it); clients trust
    the development CA (AMQP_SSL_CA)."""
    ca, server = dev_tls
    monkeypatch.setenv("AMQP_SSL_CA", str(ca.cert))
    with proxied(amqp_uri, server) as (proxy, uri):
        yield proxy, uri


@contextmanager
def proxied(amqp_uri: str, cert: Issued) -> Iterator[tuple[TlsProxy, str]]:
    """A TLS proxy showing `cert` in front of `amqp_uri`'s broker: (proxy, amqps URI)."""
    parts = urlsplit(amqp_uri)
    with TlsProxy((parts.hostname or "localhost", parts.port or 5672), cert).running() as proxy:
        netloc = f"{parts.username}:{parts.password}@localhost:{proxy.port}"
        yield proxy, urlunsplit(parts._replace(scheme="amqps", netloc=netloc))


def round_trip(amqp_uri: str, body: dict) -> dict:
    """Publish `body` on a queue of its own and read it back, over one connection."""
    with (
        broker.connection(amqp_uri, connect_timeout=5) as connection,
        connection.SimpleQueue(f"tls-{uuid.uuid4().hex[:8]}") as queue,
    ):
        queue.put(body)
        message = queue.get(timeout=5)
        message.ack()
        return message.payload


def test_a_message_goes_both_ways_over_amqps_when_the_broker_chains_to_the_ca(tls_broker):
    proxy, uri = tls_broker

    assert round_trip(uri, {"通报": "2020Q3"}) == {"通报": "2020Q3"}
    assert proxy.forwarded == 1


@pytest.mark.parametrize("trusted", ["another CA", "the system's CAs"])
def test_a_client_not_trusting_the_brokers_ca_sends_nothing(
    tls_broker, tmp_path, monkeypatch, trusted
):
    proxy, uri = tls_broker
    if trusted == "another CA":
        monkeypatch.setenv("AMQP_SSL_CA", str(ensure_ca(tmp_path, "other-ca").cert))
    else:
        monkeypatch.delenv("AMQP_SSL_CA")

    with pytest.raises(OperationalError, match="CERTIFICATE_VERIFY_FAILED") as refused:
        round_trip(uri, {"x": 1})
    assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError)
    assert proxy.forwarded == 0


def test_a_certificate_for_another_host_is_refused(amqp_uri, dev_tls, tmp_path, monkeypatch):
    ca, _ = dev_tls
    elsewhere = issue(ca, tmp_path, "rabbit", server_names=("rabbit.example.org",))
    monkeypatch.setenv("AMQP_SSL_CA", str(ca.cert))
    with proxied(amqp_uri, elsewhere) as (proxy, uri):
        with pytest.raises(OperationalError, match=r"Hostname mismatch|IP address mismatch"):
            round_trip(uri, {"x": 1})
        assert proxy.forwarded == 0


def test_a_nameko_service_relays_answers_rpc_and_is_ready_over_amqps(tls_broker, tmp_path):
    """registry under `nameko run` (nameko.yaml): its RPC consumer, its outbox relay and its
    readiness check all connect through the proxy, and so does the gateway's RPC client."""
    proxy, uri = tls_broker
    port = free_port()
    env = {
        **os.environ,
        "AMQP_URI": uri,
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "ZHAOSHANG_VAR": str(tmp_path / "var"),
        "METRICS_PORT": str(port),
    }
    command = [sys.executable, "-m", "nameko", "run", "--config", "nameko.yaml"]
    with (tmp_path / "registry.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "services.registry.service"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    rpc = NamekoRpc(uri, timeout=20)
    try:

        def ready() -> bool:
            """registry answers /readyz with 200 (its broker check passed over TLS)"""
            try:
                return get(port, "/readyz")[0] == 200
            except OSError:
                return False

        eventually(ready)
        (outcome,) = rpc.call("registry", "ingest", reports=[report("project.proposed", PROPOSED)])
        assert outcome["status"] == "accepted"

        def relayed() -> bool:
            """the relay has published what registry stored"""
            text = get(port, "/metrics")[1]
            return metric(text, "zhaoshang_relay_backlog", service="registry") == 0

        eventually(relayed)
    finally:
        rpc.close()
        process.terminate()
        process.wait(15)
    assert proxy.forwarded >= 3  # the service's consumer, its relay, the RPC client


class AcceptingIngestor:
    max_batch = 100

    def publish(self, raw_events: Any) -> list[dict]:
        return [{"event_id": e["event_id"], "status": "accepted", "errors": []} for e in raw_events]


def test_a_source_publishes_to_the_gateways_amqp_ingest_over_amqps(tls_broker):
    _, uri = tls_broker
    ingest = AmqpIngest(uri, AcceptingIngestor())
    assert ingest.start(wait=15), "the gateway's ingest consumer did not bind over TLS"
    try:
        with broker.connection(uri, connect_timeout=5) as connection:
            replies = Queue("", exclusive=True)(connection)  # server-named: amq.gen-…
            replies.declare()
            Producer(connection).publish(
                {"events": [{"event_id": "e-1"}]},
                exchange=Exchange(INGEST_EXCHANGE, type="topic", durable=True),
                routing_key="pref.420100",
                reply_to=replies.name,
                correlation_id="c-1",
                serializer="json",
            )
            answer = eventually_get(replies)
    finally:
        ingest.stop()
    assert json.loads(answer.body) == {
        "outcomes": [{"event_id": "e-1", "status": "accepted", "errors": []}]
    }
    assert answer.properties["correlation_id"] == "c-1"


def eventually_get(queue: Queue) -> Any:
    found: list[Any] = []

    def arrived() -> bool:
        """the gateway's answer arrived"""
        message = queue.get(no_ack=True)
        if message is not None:
            found.append(message)
        return bool(found)

    eventually(arrived, timeout=15)
    return found[0]
