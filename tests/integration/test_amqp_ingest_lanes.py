"""Each source's lane (services/gateway/amqp_queues.py), against the broker with the AMQP
ingest running in this process: a full lane refuses its own sender only, the lanes are served
in turn, and what the gateway gives up on from a lane joins the one dead-letter queue."""

from __future__ import annotations

import threading
from typing import Any

from amqp.exceptions import MessageNacked
from kombu import Connection, Producer

from services.gateway.amqp_queues import INGEST_QUEUE, LANE_PREFIX, LANES
from services.kernel.bus.queues import DELIVERY_LIMIT
from tests.integration.test_amqp_ingest_bounds import (
    CONFIRMED,
    POISON,
    Recording,
    batch,
    message_count,
)
from tests.integration.test_observability import eventually
from zhaoshang.deadletters import show


class Held(Recording):
    """Recording, but the first batch is held in hand until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.in_hand = threading.Event()
        self.release = threading.Event()

    def publish(self, raw_events: Any) -> list[dict]:
        if not self.published:
            self.in_hand.set()
            assert self.release.wait(60)
        return super().publish(raw_events)


def send(amqp_uri: str, user: str, bodies: list[bytes]) -> int:
    """Publish on `user`'s lane with confirms; how many the broker refused."""
    refused = 0
    with Connection(amqp_uri, transport_options=CONFIRMED) as connection:
        producer = Producer(connection.channel())
        for body in bodies:
            try:
                producer.publish(body, exchange=LANES, routing_key=user)
            except MessageNacked:
                refused += 1
    return refused


def test_a_full_lane_refuses_its_sender_and_the_other_lane_is_served_next(amqp_uri, gateway):
    ingestor = Held()
    gateway(ingestor, lanes=["flood", "calm"], lane_waiting=10)
    refused = send(amqp_uri, "flood", [batch(f"flood-{n}") for n in range(20)])
    assert refused >= 8  # a quorum queue admits one past its limit before it refuses

    assert ingestor.in_hand.wait(30)  # the first flood message is in hand, the rest wait
    assert send(amqp_uri, "calm", [batch("calm-1")]) == 0
    eventually(lambda: message_count(amqp_uri, LANE_PREFIX + "calm") == 0, timeout=30)
    ingestor.release.set()
    admitted = 20 - refused
    eventually(lambda: len(ingestor.published) == admitted + 1, timeout=60)

    order = [sent[0]["event_id"] for sent in ingestor.published]
    assert order[:2] == ["flood-0", "calm-1"]  # served in its turn, not behind the flood
    assert sorted(order[2:]) == sorted(f"flood-{n}" for n in range(1, admitted))


def test_a_message_given_up_on_in_a_lane_is_dead_lettered_with_the_others(amqp_uri, gateway):
    ingestor = Recording()
    gateway(ingestor, lanes=["pref:420100"])
    assert send(amqp_uri, "pref:420100", [batch(POISON)]) == 0
    eventually(lambda: ingestor.tries(POISON) == DELIVERY_LIMIT + 1, timeout=60)
    eventually(lambda: len(show(amqp_uri, INGEST_QUEUE)) == 1, timeout=30)
    (line,) = show(amqp_uri, INGEST_QUEUE)
    assert "gateway.amqp_ingest" in line


def test_a_message_from_a_source_without_a_lane_is_served_from_the_shared_queue(amqp_uri, gateway):
    ingestor = Recording()
    gateway(ingestor, lanes=["pref:420100"])
    assert send(amqp_uri, "pref:420500", [batch("no-lane-1")]) == 0
    eventually(lambda: ingestor.tries("no-lane-1") == 1, timeout=30)
