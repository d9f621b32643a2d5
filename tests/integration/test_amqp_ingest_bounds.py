"""The gateway's AMQP ingest on the real RabbitMQ, each test in a vhost of its own: it answers
only the sender's own reply queue; a message a service fails on every time, or one the gateway
dies on, is dead-lettered with its reason after the delivery limit and the next one is
answered; a body over the size limit is refused unread; a full queue refuses more; and a broker
that ran an earlier release (the classic `gateway.ingest`) keeps its messages, then loses the
classic queue."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from amqp.exceptions import MessageNacked, NotFound
from kombu import Connection, Exchange, Producer, Queue

from services.gateway import amqp_queues
from services.gateway.amqp_queues import (
    INGEST_EXCHANGE,
    INGEST_QUEUE,
    LEGACY_DEAD_EXCHANGE,
    LEGACY_QUEUE,
    declare,
    ingest_queue,
)
from services.gateway.caller import READ, REPORT, Caller
from services.gateway.config import MAX_REQUEST_BYTES
from services.gateway.errors import ServiceFailed
from services.kernel.bus.queues import DELIVERY_LIMIT, consumer_queue, declare_dead_letter_queue
from tests.integration.crashing_ingest import CRASH, DIED
from tests.integration.test_observability import eventually
from zhaoshang.deadletters import dead_count, show

pytestmark = pytest.mark.rabbit

POISON = "poison"  # the event_id the owning service fails on, every time
CONFIRMED = {"confirm_publish": True}
EXCHANGE = Exchange(INGEST_EXCHANGE, type="topic", durable=True)


def batch(*event_ids: str) -> bytes:
    return json.dumps({"events": [{"event_id": event_id} for event_id in event_ids]}).encode()


class Recording:
    """An ingestor that accepts every event, except that the owning service fails on POISON
    (as `NamekoRpc` reports a service raising on it); it keeps each batch it was handed."""

    max_batch = 100

    def __init__(self) -> None:
        self.published: list[list[Any]] = []

    def publish(self, raw_events: Any) -> list[dict]:
        self.published.append(list(raw_events))
        if any(event.get("event_id") == POISON for event in raw_events):
            raise ServiceFailed(
                "服务 registry.ingest 处理出错：KeyError 'milestone'",
                "service registry.ingest failed: KeyError 'milestone'",
                "registry.ingest",
            )
        return [{"event_id": e["event_id"], "status": "accepted", "errors": []} for e in raw_events]

    def tries(self, event_id: str) -> int:
        return sum(1 for sent in self.published for event in sent if event["event_id"] == event_id)


class Users:
    """Every `user_id` a source; each one asked about kept, in order."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def caller_of(self, user_id: str | None) -> Caller:
        self.asked.append(user_id)
        return Caller(f"amqp:{user_id}", "pref:420100", frozenset({REPORT, READ}))


class Sender:
    """A source's connection with its own server-named reply queue."""

    def __init__(self, connection: Connection) -> None:
        self.channel = connection.channel()
        self.replies = Queue("", exclusive=True)(self.channel)
        self.replies.declare()

    def publish(self, body: bytes, correlation_id: str = "c-1", **properties: Any) -> None:
        properties.setdefault("reply_to", self.replies.name)
        Producer(self.channel).publish(
            body,
            exchange=EXCHANGE,
            routing_key="pref.420100",
            correlation_id=correlation_id,
            content_type="application/json",
            content_encoding="utf-8",
            **properties,
        )

    def waiting(self) -> int:
        """How many answers wait in the reply queue (only its own connection may look)."""
        return self.replies.queue_declare(passive=True).message_count

    def answers(self, count: int = 1) -> dict[str, dict]:
        """The next `count` answers, by correlation id."""
        found: dict[str, dict] = {}

        def arrived() -> bool:
            """the gateway's answers arrived"""
            while (message := self.replies.get(no_ack=True)) is not None:
                found[message.properties["correlation_id"]] = json.loads(message.body)
            return len(found) >= count

        eventually(arrived, timeout=60)
        return found


@contextmanager
def sending(amqp_uri: str) -> Iterator[Sender]:
    with Connection(amqp_uri, transport_options=CONFIRMED) as connection:
        yield Sender(connection)


def message_count(amqp_uri: str, queue_name: str) -> int | None:
    with Connection(amqp_uri) as connection:
        try:
            return connection.channel().queue_declare(queue_name, passive=True).message_count
        except NotFound:
            return None


def the_error(outcome: dict) -> dict:
    (error,) = outcome["errors"]
    return error


def test_a_reply_to_naming_another_queue_is_not_processed_and_nothing_is_sent_there(
    amqp_uri, gateway
):
    victim = consumer_queue("scoring", "registry")
    with Connection(amqp_uri) as connection:
        declare_dead_letter_queue(connection, victim.name)
        victim(connection.channel()).declare()
    ingestor = Recording()
    gateway(ingestor)
    with sending(amqp_uri) as sender:
        sender.publish(batch("e-1"), reply_to=victim.name)
        sender.publish(batch("e-2"), correlation_id="own")
        assert sender.answers()["own"]["outcomes"][0]["status"] == "accepted"

    assert message_count(amqp_uri, victim.name) == 0
    assert ingestor.tries("e-1") == 0  # not processed
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "reply_to_own_queue" in line and "scoring.registry" in line


def test_a_message_a_service_fails_on_every_time_is_dead_lettered_with_its_error(amqp_uri, gateway):
    ingestor = Recording()
    gateway(ingestor)
    with sending(amqp_uri) as sender:
        sender.publish(batch(POISON), correlation_id="poison")
        sender.publish(batch("e-good"), correlation_id="good")
        answers = sender.answers(2)

    assert answers["good"]["outcomes"] == [
        {"event_id": "e-good", "status": "accepted", "errors": []}
    ]
    assert "registry.ingest failed" in answers["poison"]["error"]["message_en"]
    assert ingestor.tries(POISON) == DELIVERY_LIMIT + 1  # counted by the queue, then no more
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "gateway.amqp_ingest" in line and f"{DELIVERY_LIMIT + 1} 次" in line
    assert "ServiceFailed" in line and "KeyError 'milestone'" in line


def test_a_message_the_gateway_dies_on_is_dead_lettered_by_the_delivery_limit(amqp_uri):
    """No process lives to count: the quorum queue does, and past the limit dead-letters the
    message with the reason `delivery_limit`; a gateway started after that answers the next."""
    with Connection(amqp_uri) as connection:
        declare(connection, [ingest_queue(EXCHANGE)])
    deaths = 0
    with sending(amqp_uri) as sender:
        sender.publish(batch(CRASH), correlation_id="crash")
        sender.publish(batch("e-after"), correlation_id="after")
        for _ in range(DELIVERY_LIMIT + 3):  # bounded: a crash loop would fail the test
            if run_until_it_dies_or_answers(amqp_uri, sender) != DIED:
                break
            deaths += 1
        answers = sender.answers()

    assert deaths == DELIVERY_LIMIT + 1
    assert answers["after"]["outcomes"][0]["status"] == "accepted"
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "delivery_limit" in line


def run_until_it_dies_or_answers(amqp_uri: str, sender: Sender) -> int | None:
    """Start a crashing gateway; its exit status if it dies, None once the crashing message
    is dead-lettered and the other one answered (left in the reply queue)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.crashing_ingest", amqp_uri],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def settled() -> bool:
            """the gateway died, or dead-lettered nothing yet answered the other message"""
            answered = sender.waiting() == 1
            return process.poll() is not None or (
                answered and dead_count(amqp_uri, INGEST_QUEUE) == 1
            )

        eventually(settled, timeout=60)
        return process.poll()
    finally:
        process.terminate()
        process.wait(30)


def test_a_body_over_the_size_limit_is_refused_without_being_parsed(amqp_uri, gateway):
    ingestor = Recording()
    gateway(ingestor)
    body = b"{" + b" " * MAX_REQUEST_BYTES  # not JSON: parsed, it would be refused as not_json
    with sending(amqp_uri) as sender:
        sender.publish(body)
        (outcome,) = sender.answers()["c-1"]["outcomes"]

    error = the_error(outcome)
    assert error["rule"] == "too_large" and str(MAX_REQUEST_BYTES) in error["message_en"]
    assert ingestor.published == []


def test_a_full_queue_refuses_what_comes_next(amqp_uri):
    with Connection(amqp_uri, transport_options=CONFIRMED) as connection:
        full = ingest_queue(EXCHANGE, "test.full", max_waiting=2)
        declare(connection, [full])
        producer, refused = Producer(connection.channel()), 0
        for n in range(5):
            try:
                producer.publish(batch(f"e-{n}"), exchange=EXCHANGE)
            except MessageNacked:
                refused += 1
    assert refused >= 2  # a quorum queue admits one past its limit before it refuses
    assert message_count(amqp_uri, "test.full") == 5 - refused


def test_a_broker_that_ran_an_earlier_release_has_its_classic_queue_drained_then_deleted(
    amqp_uri, gateway, monkeypatch
):
    monkeypatch.setattr(amqp_queues, "RETIRE_EVERY", 0.2)
    declare_as_the_earlier_release_did(amqp_uri)
    with Connection(amqp_uri, transport_options=CONFIRMED) as connection:
        Producer(connection.channel()).publish(
            b"an old dead letter", exchange=LEGACY_DEAD_EXCHANGE, routing_key=LEGACY_QUEUE
        )
    ingestor, users = Recording(), Users()
    with sending(amqp_uri) as sender:
        sender.publish(batch("e-before"), correlation_id="before", user_id="guest")
        assert message_count(amqp_uri, LEGACY_QUEUE) == 1
        gateway(ingestor, users=users)
        assert sender.answers()["before"]["outcomes"][0]["status"] == "accepted"
        eventually(lambda: message_count(amqp_uri, LEGACY_QUEUE) is None)
        sender.publish(batch("e-after"), correlation_id="after")
        assert sender.answers()["after"]["outcomes"][0]["status"] == "accepted"

    assert users.asked[0] == "guest"  # its sender, as RabbitMQ checked it, kept
    assert (ingestor.tries("e-before"), ingestor.tries("e-after")) == (1, 1)
    assert message_count(amqp_uri, LEGACY_QUEUE + ".dead") is None
    assert dead_count(amqp_uri, INGEST_QUEUE) == 1  # the old dead letter, moved over
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "18 bytes" in line


def test_a_message_the_classic_queue_hands_out_again_is_dead_lettered_not_tried(amqp_uri, gateway):
    """The classic queue cannot count: a gateway may have died on it, so it gets no more
    tries, and the sender is told to send it again."""
    declare_as_the_earlier_release_did(amqp_uri)
    with sending(amqp_uri) as sender:
        sender.publish(batch("e-held"), correlation_id="held")
        with Connection(amqp_uri) as earlier_gateway:  # takes it and dies without settling
            held = Queue(LEGACY_QUEUE, no_declare=True)(earlier_gateway.channel())
            assert held.get(no_ack=False) is not None
        ingestor = Recording()
        gateway(ingestor)
        told = sender.answers()["held"]

    assert ingestor.published == []
    assert told["outcomes"] == [] and "send it again" in told["error"]["message_en"]
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "cannot count deliveries" in line


def declare_as_the_earlier_release_did(amqp_uri: str) -> None:
    """The classic `gateway.ingest` bound to every key of zhaoshang.ingest, its dead letters to
    `gateway.ingest.dead` over the fanout zhaoshang.ingest.dead."""
    dead = Exchange(LEGACY_DEAD_EXCHANGE, type="fanout", durable=True)
    classic = Queue(
        LEGACY_QUEUE,
        EXCHANGE,
        routing_key="#",
        durable=True,
        queue_arguments={"x-dead-letter-exchange": dead.name},
    )
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        Queue(LEGACY_QUEUE + ".dead", dead, durable=True)(channel).declare()
        classic(channel).declare()
