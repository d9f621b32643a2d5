"""What one message of the AMQP ingest comes to, decided away from the broker connection (the
consumer, services/gateway/amqp_ingest.py, settles it as decided).

A message is read in this order, each step bounded:
1. `reply_to`, if set, must be the sender's own: a server-named queue (`amq.gen-…`, which only
   the broker can name) or direct reply-to (`amq.rabbitmq.reply-to…`). Replies go out as the
   gateway's broker user, so any other name could drop messages into `scoring.registry`,
   `notify.*` or `rpc-*`. Such a message is not processed: there is nowhere the sender could
   read a refusal, so it is dead-lettered with the reason and logged (README "Publishing
   reports").
2. The body: at most MAX_REQUEST_BYTES, counted before it is decoded, then read by the
   contract's parser (services/kernel/contract/jsontext.py); what it refuses (not UTF-8 JSON, a
   number too long, a key twice, nesting past the parser) is answered as the sender's mistake,
   with the contract's rule. The contract then bounds each event (bounds.py beside it).
3. The sender (`user_id`, services/gateway/auth.py) and the batch, through `Ingestor.publish`,
   sorted by the gRPC status services/gateway/errors.py gives what it raises:
   - the sender's mistake: answered with a rejection; sending it again cannot help;
   - not now (UNAVAILABLE: a service down; RESOURCE_EXHAUSTED: over a fair share): held and
     tried again after a pause, for as long as that lasts, since nothing is wrong with it;
   - anything else (a service failing on it, a fault of the gateway's own): put back for
     another try, and on the last try the queue's delivery limit allows, dead-lettered with
     the error, the sender told.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from services.gateway.auth import AmqpUsers
from services.gateway.config import MAX_REQUEST_BYTES
from services.gateway.errors import (
    BackendError,
    InvalidRequest,
    NotABatch,
    PermissionDenied,
    Unauthenticated,
    status_of,
)
from services.gateway.ingest import SentBatch, rejection
from services.kernel.contract.errors import Problem, clip
from services.kernel.contract.jsontext import JsonRefused, parse_json
from services.kernel.process.metrics import Ingestor

log = logging.getLogger(__name__)

# What errors.py's table answers as the sender's mistake: a rejection, acknowledged.
THE_SENDERS_TO_FIX = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
)
# Nothing wrong with the message, only not now: held and tried again.
NOT_NOW = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
ERROR_WIDTH = 1000  # characters of an error in a dead letter's x-error and in a reply
# The broker names `amq.gen-` + 22 characters; direct reply-to adds the channel's encoded name.
_OWN_REPLY_QUEUE = re.compile(
    r"amq\.gen-[A-Za-z0-9_-]{1,64}|amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=._-]{1,232}"
)


class Received(Protocol):
    """What the judge reads of a kombu Message."""

    body: Any
    properties: dict


@dataclass(frozen=True)
class Answer:
    """Handled: acknowledged, and `answer` sent to the sender's reply queue if it named one."""

    answer: dict


@dataclass(frozen=True)
class DeadLetter:
    """Given up on: to the dead-letter queue with `error` (its `x-error`), acknowledged, and
    `answer`, if any, sent to the sender's reply queue."""

    error: str
    answer: dict | None = None


@dataclass(frozen=True)
class PutBack:
    """Back onto the queue for another try; the broker counts it against the delivery limit."""

    reason: str


Verdict = Answer | DeadLetter | PutBack


def reply_address(message: Received) -> str | None:
    """Where the answer may go: the sender's own reply queue, or nowhere."""
    reply_to = message.properties.get("reply_to")
    return reply_to if reply_to and _OWN_REPLY_QUEUE.fullmatch(reply_to) else None


def not_own_reply_queue(reply_to: str) -> InvalidRequest:
    named = clip(reply_to)
    return InvalidRequest(
        "reply_to",
        reply_to,
        "reply_to_own_queue",
        f"reply_to 的值 {named} 不是发送方自己的回复队列：只能是服务器命名的队列（amq.gen-…）"
        "或直接回复（amq.rabbitmq.reply-to）；消息未处理，已转入死信队列"
        "（规则 reply_to_own_queue）",
        f"reply_to: {named} is not the sender's own reply queue: only a server-named queue "
        "(amq.gen-…) or direct reply-to (amq.rabbitmq.reply-to); the message was not processed "
        "and is dead-lettered (rule reply_to_own_queue)",
    )


def events_in(body: bytes) -> list[Any]:
    """The events of a message body: one envelope, or `{"events": [...]}`. Raises NotABatch
    for a body the contract will not read (too large, checked before it is decoded; not JSON;
    a number too long, a key twice, nesting past the parser), with the contract's rule."""
    try:
        decoded = parse_json(body, field="body", max_bytes=MAX_REQUEST_BYTES)
    except JsonRefused as refusal:
        raise NotABatch(
            refusal.field, refusal.value, refusal.rule, refusal.message_zh, refusal.message_en
        ) from None
    if isinstance(decoded, dict) and "events" in decoded:
        events = decoded["events"]
        if not isinstance(events, list):
            raise NotABatch("events", events, "list", "events 必须是列表", "events must be a list")
        return events
    return [decoded]


def refused(error: Problem, events: list[Any]) -> list[dict]:
    """The outcomes of a message refused whole: each of its events when its sender is no
    source or may not report, else the one error."""
    if isinstance(error, Unauthenticated | PermissionDenied):
        return [rejection(_event_id(e), [error.to_dict()]) for e in events]
    return [rejection(None, [error.to_dict()])]


def _event_id(event: Any) -> Any:
    return event.get("event_id") if isinstance(event, dict) else None


def encoded(answer: dict) -> bytes:
    """An answer as UTF-8 JSON; text that cannot be UTF-8 (a lone surrogate a sender sent)
    goes as a JSON escape instead of failing the reply."""
    try:
        return json.dumps(answer, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(answer).encode()


class Judge:
    """Decides each message's Verdict; meant for a worker thread, never touching the broker.

    `stopping` ends a hold through an outage (the message is put back); `retry_pause` is the
    pause before each try again."""

    def __init__(
        self,
        ingestor: Ingestor,
        users: AmqpUsers | None,
        stopping: threading.Event,
        retry_pause: float,
    ):
        self.ingestor = ingestor
        self.users = users
        self.stopping = stopping
        self.retry_pause = retry_pause

    def verdict(self, message: Received, last_try: bool) -> Verdict:
        """Never raises: what goes wrong is a try that failed."""
        try:
            reply_to = message.properties.get("reply_to")
            if reply_to and reply_address(message) is None:
                refusal = not_own_reply_queue(reply_to)
                log.warning("AMQP ingest: from %s: %s", _sender(message), refusal.message_en)
                return DeadLetter(_x_error(refusal))
            return self._ingested(message, last_try)
        except Exception as error:
            return self._failed(error, last_try)

    def _ingested(self, message: Received, last_try: bool) -> Verdict:
        events: list[Any] = []
        try:
            body = message.body if isinstance(message.body, bytes) else message.body.encode()
            events = events_in(body)
            outcomes = self._published(self._sent(events, message))
        except Exception as error:
            status = status_of(error)
            if isinstance(error, Problem) and status in THE_SENDERS_TO_FIX:
                return Answer({"outcomes": refused(error, events)})
            if status in NOT_NOW:  # still, and the gateway is stopping
                return PutBack(str(error))
            return self._failed(error, last_try)
        return Answer({"outcomes": outcomes})

    def _sent(self, events: list[Any], message: Received) -> list[Any]:
        if self.users is None:
            return events
        return SentBatch(events, self.users.caller_of(message.properties.get("user_id")))

    def _published(self, sent: list[Any]) -> list[dict]:
        """The batch's outcomes, tried again for as long as the services cannot take it now."""
        while True:
            try:
                return self.ingestor.publish(sent)
            except Exception as error:
                if status_of(error) not in NOT_NOW or self.stopping.wait(self.retry_pause):
                    raise
                log.warning("AMQP ingest: %s; trying again", error)

    def _failed(self, error: Exception, last_try: bool) -> Verdict:
        log.error(
            "AMQP ingest: a message failed (%s): %s",
            "dead-lettered" if last_try else "put back",
            error,
            exc_info=not isinstance(error, BackendError),
        )
        if not last_try:
            self.stopping.wait(self.retry_pause)
            return PutBack(str(error))
        zh, en = (
            (error.message_zh, error.message_en)
            if isinstance(error, BackendError)
            else ("网关内部错误", f"gateway error: {type(error).__name__}")
        )
        told = {"outcomes": [], "error": {"message_zh": zh, "message_en": en}}
        return DeadLetter(_x_error(error), told)


def _x_error(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_WIDTH]


def _sender(message: Received) -> str:
    return repr(message.properties.get("user_id"))
