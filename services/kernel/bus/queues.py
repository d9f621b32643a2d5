"""The consumers' queues: quorum queues with one active consumer and a dead-letter queue each.

- `x-single-active-consumer`: scoring and notify apply an upstream's messages in order; with
  several replicas running, RabbitMQ delivers to one and fails over to another when it dies.
- Quorum queues (replicated on a RabbitMQ cluster) count deliveries: a message that keeps
  failing is dead-lettered after `DELIVERY_LIMIT` tries to `<queue>.dead`, with RabbitMQ's
  `x-death` header saying why, instead of blocking the queue for ever (README "Guarantees"). Once
  the cause is fixed, `replay_dead_letters` puts them back (`python -m zhaoshang.deadletters`).
"""

from __future__ import annotations

import os
from typing import Any

from kombu import Connection, Exchange, Queue

from services.kernel.bus import broker
from services.kernel.contract.wire import EVENTS_EXCHANGE

DELIVERY_LIMIT = int(os.environ.get("ZHAOSHANG_DELIVERY_LIMIT", "5"))
DEAD_SUFFIX = ".dead"
# What a dead letter carries about its death (RabbitMQ's, and the consumer's: nameko_support),
# dropped when it is replayed.
DEATH_HEADERS = frozenset({"x-death", "x-error", "x-failed-by", "x-tries"})
events_exchange = Exchange(EVENTS_EXCHANGE, type="topic", durable=True)
dead_letter_exchange = Exchange("zhaoshang.dead", type="direct", durable=True)


def consumer_queue(consumer: str, upstream: str) -> Queue:
    """The durable queue on which `consumer` receives `upstream`'s wire messages."""
    name = f"{consumer}.{upstream}"
    return Queue(
        name,
        exchange=events_exchange,
        routing_key=upstream,
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-single-active-consumer": True,
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_exchange.name,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(queue_name: str) -> Queue:
    return Queue(
        queue_name + DEAD_SUFFIX,
        exchange=dead_letter_exchange,
        routing_key=queue_name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare_dead_letter_queue(connection: Connection, queue_name: str) -> None:
    dead_letter_queue(queue_name)(connection.channel()).declare()


def send_to_queue(producer: Any, message: Any, queue_name: str, headers: dict) -> None:
    """A consumed message's body, as it came, onto one queue (durably), with `headers`."""
    producer.publish(
        message.body,
        exchange="",
        routing_key=queue_name,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=2,
    )


def replay_dead_letters(amqp_uri: str, queue_name: str) -> int:
    """Move every dead letter of `queue_name` (in `<queue>.dead`, however it was declared: the
    gateway's ingest queue has its own) back onto the queue; return how many."""
    moved = 0
    with broker.connection(amqp_uri) as connection:
        channel = connection.channel()
        dead = Queue(queue_name + DEAD_SUFFIX, no_declare=True)(channel)
        producer = connection.Producer(channel)
        while (message := dead.get(no_ack=False)) is not None:
            headers = {k: v for k, v in (message.headers or {}).items() if k not in DEATH_HEADERS}
            send_to_queue(producer, message, queue_name, headers)
            message.ack()
            moved += 1
    return moved
