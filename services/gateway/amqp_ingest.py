"""AMQP ingest: reports published to exchange `zhaoshang.ingest` by any AMQP client.

A message body (JSON) is one envelope or `{"events": [...]}`. It takes the same path as a gRPC
batch (`Ingestor.publish`); when the message names `reply_to`, the outcomes are published there
as `{"outcomes": [...]}` under the message's `correlation_id`. A message is acknowledged only
once its outcomes are known, so a gateway that dies mid-way leaves it to be redelivered (a
redelivery is answered "duplicate" for what was already stored).

What cannot be ingested is sorted by the gRPC status services/gateway/errors.py gives it:
- the sender's mistake (a body that is not JSON or no batch, too many events, a sender that is
  no source) is answered with a rejection and acknowledged: sending it again cannot help;
- a service that cannot be reached: the message is put back after a pause, however long the
  outage lasts, since nothing is wrong with the message;
- a service that fails on it: retried a few times, then dead-lettered to `gateway.ingest.dead`
  so one poison message never blocks the queue (README "Guarantees").

With `users` (always, as the gateway runs), the message's `user_id` names its sender
(services/gateway/auth.py), a caller with the roles report and read: a message without one, or
from a user that is no source, has every event rejected; the events of one that is must state
that source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

import grpc
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import OperationalError
from kombu.message import Message

from services.gateway.auth import AmqpUsers
from services.gateway.errors import (
    BackendError,
    NotABatch,
    PermissionDenied,
    Unauthenticated,
    status_of,
)
from services.gateway.ingest import SentBatch, rejection
from services.kernel.bus import broker
from services.kernel.contract.errors import Problem
from services.kernel.process.metrics import Ingestor

log = logging.getLogger(__name__)

INGEST_EXCHANGE = "zhaoshang.ingest"
INGEST_QUEUE = "gateway.ingest"
DEAD_SUFFIX = ".dead"
FAILED_TRIES = 3  # a service failing this often on one message makes it a poison message
RETRY_PAUSE = 2.0  # seconds before a message is put back for a service that did not answer
RECONNECT_PAUSE = 2.0
POLL = 1.0  # seconds between checks for stop() while the queue is idle
# What errors.py's table answers as the sender's mistake: a rejection, acknowledged.
THE_SENDERS_TO_FIX = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
)


def events_in(body: bytes) -> list[Any]:
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotABatch(
            "body",
            body[:200].decode("utf-8", "replace"),
            "json",
            f"消息体不是合法的 JSON：{error}",
            f"the message body is not valid JSON: {error}",
        ) from error
    if isinstance(decoded, dict) and "events" in decoded:
        events = decoded["events"]
        if not isinstance(events, list):
            raise NotABatch("events", events, "list", "events 必须是列表", "events must be a list")
        return events
    return [decoded]


class AmqpIngest:
    """A consumer thread on `gateway.ingest`: start(), then stop() to finish the message in hand
    and close."""

    def __init__(
        self,
        amqp_uri: str,
        ingestor: Ingestor,
        exchange: str = INGEST_EXCHANGE,
        queue: str = INGEST_QUEUE,
        users: AmqpUsers | None = None,
    ):
        self.amqp_uri = amqp_uri
        self.ingestor = ingestor
        self.users = users
        self.exchange = Exchange(exchange, type="topic", durable=True)
        dead = Exchange(exchange + DEAD_SUFFIX, type="fanout", durable=True)
        self.queue = Queue(
            queue,
            self.exchange,
            routing_key="#",
            durable=True,
            queue_arguments={"x-dead-letter-exchange": dead.name},
        )
        self.dead_queue = Queue(queue + DEAD_SUFFIX, dead, durable=True)
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._failures: dict[str, int] = {}  # body digest -> failed tries, until it is settled
        self._thread = threading.Thread(target=self._run, name="amqp-ingest", daemon=True)

    def start(self, wait: float | None = None) -> bool:
        """Start consuming; with `wait`, block until the queue is bound (True) or time is up."""
        self._thread.start()
        return self._ready.wait(wait) if wait is not None else False

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with broker.connection(self.amqp_uri, heartbeat=30) as connection:
                    self._consume(connection)
            except (OSError, AmqpConnectionError, OperationalError) as error:
                log.warning("AMQP ingest: broker connection lost (%s); reconnecting", error)
            except Exception:  # e.g. the queue declared elsewhere with other arguments
                log.exception("AMQP ingest: consumer failed; starting again")
            self._ready.clear()
            self._stopping.wait(RECONNECT_PAUSE)

    def _consume(self, connection: Connection) -> None:
        channel = connection.channel()
        channel.basic_qos(prefetch_size=0, prefetch_count=1, a_global=False)
        self.dead_queue.bind(channel).declare()
        replies = Producer(connection.channel())
        with Consumer(
            channel,
            queues=[self.queue],
            on_message=lambda message: self._handle(message, replies),
        ):
            self._ready.set()
            log.info("AMQP ingest: consuming %s", self.queue.name)
            while not self._stopping.is_set():
                try:
                    connection.drain_events(timeout=POLL)
                except TimeoutError:  # nothing arrived: check heartbeats and stop()
                    connection.heartbeat_check()

    def _handle(self, message: Message, replies: Producer) -> None:
        body = message.body if isinstance(message.body, bytes) else message.body.encode()
        digest = hashlib.sha256(body).hexdigest()
        events: list[Any] = []
        try:
            events = events_in(body)
            answer: dict = {"outcomes": self.ingestor.publish(self._sent(events, message))}
        except Exception as error:
            status = status_of(error)
            if status == grpc.StatusCode.UNAVAILABLE:
                log.warning("AMQP ingest: %s; the message goes back to the queue", error)
                self._stopping.wait(RETRY_PAUSE)
                message.requeue()
                return
            if status not in THE_SENDERS_TO_FIX or not isinstance(error, Problem):
                self._failed(message, replies, digest, error)
                return
            answer = {"outcomes": refused(error, events)}
        self._failures.pop(digest, None)
        self._reply(message, replies, answer)
        message.ack()

    def _sent(self, events: list[Any], message: Message) -> list[Any]:
        if self.users is None:
            return events
        return SentBatch(events, self.users.caller_of(message.properties.get("user_id")))

    def _failed(self, message: Message, replies: Producer, digest: str, error: Exception) -> None:
        tries = self._failures.get(digest, 0) + 1
        log.error(
            "AMQP ingest: try %d of %d failed: %s",
            tries,
            FAILED_TRIES,
            error,
            exc_info=not isinstance(error, BackendError),
        )
        if tries < FAILED_TRIES:
            self._failures[digest] = tries
            self._stopping.wait(RETRY_PAUSE)
            message.requeue()
            return
        self._failures.pop(digest, None)
        zh, en = (
            (error.message_zh, error.message_en)
            if isinstance(error, BackendError)
            else ("网关内部错误", f"gateway error: {error}")
        )
        self._reply(
            message, replies, {"outcomes": [], "error": {"message_zh": zh, "message_en": en}}
        )
        message.reject()  # to the dead-letter queue, for an operator to look at

    def _reply(self, message: Message, replies: Producer, answer: dict) -> None:
        reply_to = message.properties.get("reply_to")
        if not reply_to:
            return
        replies.publish(
            json.dumps(answer, ensure_ascii=False).encode(),
            exchange="",
            routing_key=reply_to,
            correlation_id=message.properties.get("correlation_id"),
            content_type="application/json",
            content_encoding="utf-8",
        )


def refused(error: Problem, events: list[Any]) -> list[dict]:
    """The outcomes of a message refused whole: each of its events when its sender is no
    source or may not report, else the one error."""
    if isinstance(error, Unauthenticated | PermissionDenied):
        return [rejection(_event_id(e), [error.to_dict()]) for e in events]
    return [rejection(None, [error.to_dict()])]


def _event_id(event: Any) -> Any:
    return event.get("event_id") if isinstance(event, dict) else None
