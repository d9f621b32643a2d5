"""AMQP ingest: reports published to exchange `zhaoshang.ingest` by any AMQP client.

A message body (JSON) is one envelope or `{"events": [...]}`. It takes the same path as a gRPC
batch (`Ingestor.publish`); when the message names its own reply queue in `reply_to`, the
outcomes are published there as `{"outcomes": [...]}` under the message's `correlation_id`.
What each message comes to is decided in amqp_message.py, where the queue holds it in
amqp_queues.py.

One thread owns the broker connection and settles each message as decided; a worker thread
decides, so however long that takes (a service slow to answer, an outage held through), the
connection keeps its heartbeats. One message is in hand at a time; the sources' lanes are
served in turn (amqp_queues.py), each delivering its next message once its last is settled.
A message is acknowledged only once its outcomes are known, so a gateway that dies mid-way
leaves it to be redelivered (a redelivery is answered "duplicate" for what was already
stored); the queue counts those deliveries, not the gateway's memory, and dead-letters a
message past its delivery limit.

With `users` (always, as the gateway runs), the message's `user_id` names its sender
(services/gateway/auth.py), a caller with the roles report and read: a message without one, or
from a user that is no source, has every event rejected; the events of one that is must state
that source.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Connection, Consumer, Exchange, Producer
from kombu.exceptions import OperationalError
from kombu.message import Message

from services.gateway.amqp_message import (
    DeadLetter,
    Judge,
    PutBack,
    Verdict,
    encoded,
    reply_address,
)
from services.gateway.amqp_queues import (
    INGEST_EXCHANGE,
    INGEST_QUEUE,
    LANE_WAITING,
    ClassicDrain,
    declare,
    ingest_queue,
    lane_queue,
)
from services.gateway.auth import AmqpUsers
from services.kernel.bus import broker
from services.kernel.bus.queues import DEAD_SUFFIX, DELIVERY_LIMIT, send_to_queue
from services.kernel.process.metrics import Ingestor

log = logging.getLogger(__name__)

RETRY_PAUSE = 2.0  # seconds before a message is tried again
RECONNECT_PAUSE = 2.0
POLL = 1.0  # seconds between checks for stop() and heartbeats, idle or deciding
FAILED_BY = "gateway.amqp_ingest"
# The classic queue cannot count: a message it hands out again was in the hands of a gateway
# that stopped or died, maybe on it. Not tried again, so it cannot crash-loop; the sender is
# told to send it again.
CLASSIC_REDELIVERED = {
    "message_zh": "旧版经典队列 gateway.ingest 再次投递了此消息（处理它的网关曾停止或崩溃），"
    "该队列无法计数，故不再重试；请重新发送",
    "message_en": "redelivered by the earlier release's classic queue gateway.ingest (a gateway "
    "stopped or died handling it), which cannot count deliveries: not tried again; send it again",
}


class AmqpIngest:
    """A consumer thread on `gateway.sources`, on the lane of each of `lanes` (RabbitMQ user
    names), and on the classic `gateway.ingest` while an earlier release left one: start(),
    then stop() to finish the message in hand and close."""

    def __init__(
        self,
        amqp_uri: str,
        ingestor: Ingestor,
        exchange: str = INGEST_EXCHANGE,
        queue: str = INGEST_QUEUE,
        users: AmqpUsers | None = None,
        retry_pause: float = RETRY_PAUSE,
        lanes: Sequence[str] = (),
        lane_waiting: int = LANE_WAITING,
    ):
        self.amqp_uri = amqp_uri
        self.exchange = Exchange(exchange, type="topic", durable=True)
        self.queue = ingest_queue(self.exchange, queue)
        self.lanes = [lane_queue(user, lane_waiting) for user in lanes]
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self.judge = Judge(ingestor, users, self._stopping, retry_pause)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="amqp-ingest-judge")
        self._arrived: deque[Message] = deque()  # delivered, not yet in hand (prefetch 1)
        self._in_hand: tuple[Message, Future[Verdict]] | None = None
        self._thread = threading.Thread(target=self._run, name="amqp-ingest", daemon=True)

    def start(self, wait: float | None = None) -> bool:
        """Start consuming; with `wait`, block until the queue is bound (True) or time is up."""
        self._thread.start()
        return self._ready.wait(wait) if wait is not None else False

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)
        self._worker.shutdown(wait=False)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                confirmed = {"confirm_publish": True}  # dead letters and replies, known sent
                with broker.connection(
                    self.amqp_uri, heartbeat=30, transport_options=confirmed
                ) as connection:
                    self._consume(connection)
            except (OSError, AmqpConnectionError, OperationalError) as error:
                log.warning("AMQP ingest: broker connection lost (%s); reconnecting", error)
            except Exception:  # e.g. the queue declared elsewhere with other arguments
                log.exception("AMQP ingest: consumer failed; starting again")
            self._in_hand = None  # unacknowledged: the broker hands them out again
            self._arrived.clear()
            self._ready.clear()
            self._stopping.wait(RECONNECT_PAUSE)

    def _consume(self, connection: Connection) -> None:
        queues = [self.queue, *self.lanes]
        declare(connection, queues)
        classic = ClassicDrain.found(connection, self.exchange, self.queue.name)
        channel = connection.channel()
        # One unsettled message per queue (per consumer, not per channel): each lane's next
        # message joins `_arrived` behind the other lanes' once its last is settled.
        channel.basic_qos(prefetch_size=0, prefetch_count=1, a_global=False)
        replies = Producer(connection.channel())
        with Consumer(channel, queues, on_message=self._arrived.append):
            self._ready.set()
            log.info("AMQP ingest: consuming %s and %d lanes", self.queue.name, len(self.lanes))
            while not self._stopping.is_set() or self._in_hand is not None:
                if self._in_hand is not None:
                    self._settle_when_decided(connection, replies)
                elif self._arrived:
                    self._decide(self._arrived.popleft(), classic=False)
                elif classic is not None and (message := classic.take()) is not None:
                    self._decide(message, classic=True)
                else:
                    self._drain(connection)

    def _drain(self, connection: Connection, timeout: float = POLL) -> None:
        """Handle what the broker sent (a delivery joins `_arrived`), within `timeout`."""
        try:
            connection.drain_events(timeout=timeout)
        except TimeoutError:
            connection.heartbeat_check()

    def _decide(self, message: Message, classic: bool) -> None:
        if classic and message.delivery_info.get("redelivered"):
            decided: Future[Verdict] = Future()
            told = {"outcomes": [], "error": CLASSIC_REDELIVERED}
            reason = " / ".join(CLASSIC_REDELIVERED.values())
            decided.set_result(DeadLetter(f"Redelivered: {reason}", told))
        else:  # the classic queue's messages get one try: it cannot count more
            last_try = classic or tries_of(message) > DELIVERY_LIMIT
            decided = self._worker.submit(self.judge.verdict, message, last_try)
        self._in_hand = (message, decided)

    def _settle_when_decided(self, connection: Connection, replies: Producer) -> None:
        assert self._in_hand is not None
        message, decided = self._in_hand
        while not wait([decided], timeout=POLL).done:
            self._drain(connection, timeout=0.01)  # heartbeats, and a delivery waits
        self._settle(message, decided.result(), replies)
        self._in_hand = None

    def _settle(self, message: Message, verdict: Verdict, replies: Producer) -> None:
        if isinstance(verdict, PutBack):
            message.requeue()
            return
        if isinstance(verdict, DeadLetter):
            self._dead_letter(message, verdict.error, replies)
        if verdict.answer is not None:
            self._reply(message, verdict.answer, replies)
        message.ack()

    def _dead_letter(self, message: Message, error: str, producer: Producer) -> None:
        headers = {
            **{k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"},
            "x-error": error,
            "x-failed-by": FAILED_BY,
            "x-tries": tries_of(message),
            "x-sender": message.properties.get("user_id") or "",
        }
        send_to_queue(producer, message, INGEST_QUEUE + DEAD_SUFFIX, headers)
        log.error(
            "AMQP ingest: dead-lettered a message from %r after %d tries: %s",
            headers["x-sender"],
            headers["x-tries"],
            error,
        )

    def _reply(self, message: Message, answer: dict, producer: Producer) -> None:
        address = reply_address(message)
        if address is None:
            return
        producer.publish(
            encoded(answer),
            exchange="",
            routing_key=address,
            correlation_id=message.properties.get("correlation_id"),
            content_type="application/json",
            content_encoding="utf-8",
        )


def tries_of(message: Message) -> int:
    """Which delivery of the message this is, as the quorum queue counts."""
    return (message.headers or {}).get("x-delivery-count", 0) + 1
