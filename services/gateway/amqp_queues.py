"""The AMQP ingest's queues: where the sources' messages wait, where those given up on go, and
the move from the classic queue of earlier releases.

Each source has a lane of its own: exchange `zhaoshang.sources` (topic) routes a message by its
routing key, which must be the sender's RabbitMQ user name (the broker's topic permissions hold
each user to its own, README "Credentials and access"), to queue `gateway.lane.<user>`. A lane
holds at most LANE_WAITING messages (LANE_WAITING_BYTES of bodies); a source that fills its own
lane is refused (`reject-publish`: a publisher with confirms gets a nack) while every other
lane goes on taking messages. The gateway consumes every lane with a prefetch of one message
each, so the lanes are served in turn: a source with ten thousand messages waiting gets one
turn in each round, like a source with one. `gateway.sources`, on exchange `zhaoshang.ingest`,
is the lane every sender shared before lanes: it still takes messages under any routing key,
and is served in turn beside the lanes, but whoever fills it fills it for everyone using it.

Every queue here is a quorum queue, since RabbitMQ counts deliveries on quorum queues only:
- `x-delivery-limit`: a message returned that often (a gateway that died holding it, or failed
  on it with an error) is dead-lettered, so a poison message never crash-loops every replica.
  Its dead letters go to `gateway.sources.dead` over `zhaoshang.dead`, as the services' do
  (services/kernel/bus/queues.py);
- `x-max-length` and `x-max-length-bytes` with `reject-publish`: a full queue refuses what comes
  next (a publisher with confirms gets a nack) rather than grow until the broker runs out of
  memory. A policy may set lower limits; the lower one applies.

Earlier releases consumed the classic `gateway.ingest`, which cannot count deliveries. On a
broker that ran one, `ClassicDrain` unbinds it (nothing new arrives there) and the gateway
takes its messages beside the new queue's; `retire_legacy` deletes it once it is empty and
nobody else consumes it (a gateway of the earlier release finishes first), then moves its dead
letters to `gateway.sources.dead` and deletes its dead-letter exchange. Its messages are never
republished: RabbitMQ would not let the gateway keep their `user_id`, which names the sender.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Exchange, Queue
from kombu.message import Message

from services.kernel.bus.queues import (
    DEAD_SUFFIX,
    DELIVERY_LIMIT,
    dead_letter_exchange,
    dead_letter_queue,
    send_to_queue,
)

INGEST_EXCHANGE = "zhaoshang.ingest"
INGEST_QUEUE = "gateway.sources"
MAX_WAITING = 10_000  # messages waiting in the queue, all sources together
MAX_WAITING_BYTES = 256 * 1024 * 1024  # their bodies together
LANES_EXCHANGE = "zhaoshang.sources"
LANE_PREFIX = "gateway.lane."
LANE_WAITING = 1_000  # messages waiting in one source's lane
LANE_WAITING_BYTES = 64 * 1024 * 1024  # their bodies together
LEGACY_QUEUE = "gateway.ingest"  # classic, up to the release before delivery limits
LEGACY_DEAD_EXCHANGE = "zhaoshang.ingest.dead"  # its dead-letter exchange (fanout)
RETIRE_EVERY = 30.0  # seconds between tries to delete it, once drained

log = logging.getLogger(__name__)


def ingest_queue(
    exchange: Exchange,
    name: str = INGEST_QUEUE,
    max_waiting: int = MAX_WAITING,
    max_waiting_bytes: int = MAX_WAITING_BYTES,
) -> Queue:
    """The shared quorum queue, bound to every routing key of `exchange`."""
    return _bounded(name, exchange, "#", max_waiting, max_waiting_bytes)


# A message on the lanes' exchange that no lane takes (its sender has none: GATEWAY_AMQP_LANES)
# goes on to the shared exchange, and so to the shared queue.
LANES = Exchange(
    LANES_EXCHANGE, type="topic", durable=True, arguments={"alternate-exchange": INGEST_EXCHANGE}
)


def lane_queue(
    user: str,
    max_waiting: int = LANE_WAITING,
    max_waiting_bytes: int = LANE_WAITING_BYTES,
) -> Queue:
    """The lane of the RabbitMQ user `user`: its messages on LANES, under its own name. Its
    dead letters join the shared queue's, in one place for the operator."""
    return _bounded(LANE_PREFIX + user, LANES, user, max_waiting, max_waiting_bytes)


def _bounded(
    name: str, exchange: Exchange, routing_key: str, max_waiting: int, max_waiting_bytes: int
) -> Queue:
    return Queue(
        name,
        exchange,
        routing_key=routing_key,
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_exchange.name,
            "x-dead-letter-routing-key": INGEST_QUEUE,
            "x-max-length": max_waiting,
            "x-max-length-bytes": max_waiting_bytes,
            "x-overflow": "reject-publish",
        },
    )


def declare(connection: Connection, queues: Sequence[Queue]) -> None:
    """The queues, bound, and the dead-letter queue they share (there before the first
    letter is)."""
    channel = connection.channel()
    dead_letter_queue(INGEST_QUEUE)(channel).declare()
    LANES(channel).declare()  # the lanes' exchange is there even where no source has a lane
    for queue in queues:
        queue(channel).declare()
    channel.close()


class ClassicDrain:
    """The classic queue of an earlier release, unbound from the exchange, taken a message at a
    time (basic.get: RabbitMQ shares no prefetch between a quorum and a classic queue) and
    deleted once drained; tries again every RETIRE_EVERY seconds while it cannot be."""

    def __init__(self, connection: Connection, into: str):
        self.connection = connection
        self.into = into
        self.queue = Queue(LEGACY_QUEUE, no_declare=True)(connection.channel())
        self.look_at = 0.0  # monotonic time of the next look
        self.retired = False

    @classmethod
    def found(cls, connection: Connection, exchange: Exchange, into: str) -> ClassicDrain | None:
        """The classic queue, if it is still there, with nothing new routed to it; else None,
        its dead letters (if any were left) handed to `into`'s."""
        if not _exists(connection, LEGACY_QUEUE):
            retire_legacy(connection, into)
            return None
        channel = connection.channel()
        channel.queue_unbind(LEGACY_QUEUE, exchange.name, routing_key="#")
        channel.close()
        log.info("AMQP ingest: draining the classic queue %s", LEGACY_QUEUE)
        return cls(connection, into)

    def take(self) -> Message | None:
        """Its next message (unacknowledged), or None: empty, retired, or not time to look."""
        if self.retired or time.monotonic() < self.look_at:
            return None
        message = self.queue.get(no_ack=False)
        if message is not None:
            return message
        self.retired = retire_legacy(self.connection, self.into)
        if self.retired:
            log.info("AMQP ingest: the classic queue %s is drained and deleted", LEGACY_QUEUE)
        self.look_at = time.monotonic() + RETIRE_EVERY
        return None


def retire_legacy(connection: Connection, into: str) -> bool:
    """Delete the classic queue once drained, then hand its dead letters to `into`'s
    dead-letter queue and delete its dead-letter exchange; False (nothing done) while the
    queue holds messages or is consumed elsewhere. Where none of them is left, nothing
    happens."""
    channel = connection.channel()
    try:
        channel.queue_delete(LEGACY_QUEUE, if_unused=True, if_empty=True)
    except PreconditionFailed:  # the broker closed the channel: nothing to close
        return False
    legacy_dead = LEGACY_QUEUE + DEAD_SUFFIX
    if _exists(connection, legacy_dead):
        _move(connection, legacy_dead, into + DEAD_SUFFIX)
        channel.queue_delete(legacy_dead, if_empty=True)
    channel.exchange_delete(LEGACY_DEAD_EXCHANGE, if_unused=True)
    channel.close()
    return True


def _exists(connection: Connection, queue_name: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(queue_name, passive=True)
    except NotFound:  # the broker closed the channel
        return False
    channel.close()
    return True


def _move(connection: Connection, source: str, target: str) -> None:
    """Every message of queue `source` onto queue `target`, each acknowledged once the broker
    has confirmed its copy (the connection publishes with confirms)."""
    channel = connection.channel()
    producer = connection.Producer(channel)
    from_queue = Queue(source, no_declare=True)(channel)
    while (message := from_queue.get(no_ack=False)) is not None:
        send_to_queue(producer, message, target, dict(message.headers or {}))
        message.ack()
    channel.close()
