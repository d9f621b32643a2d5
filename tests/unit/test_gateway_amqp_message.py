"""What one AMQP ingest message comes to (services/gateway/amqp_message.py), with a fake
ingestor: replies only to the sender's own queue, a body bounded before it is parsed, hostile
JSON a clean refusal, an outage held through, a failing message put back until its last try
and then dead-lettered with its error; and the queue it waits in, bounded."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from kombu import Exchange

from services.gateway.amqp_message import (
    Answer,
    DeadLetter,
    Judge,
    PutBack,
    encoded,
    reply_address,
)
from services.gateway.amqp_queues import INGEST_EXCHANGE, ingest_queue
from services.gateway.auth import AmqpUsers
from services.gateway.config import MAX_REQUEST_BYTES
from services.gateway.errors import ServiceFailed, ServiceUnavailable
from services.kernel.bus.queues import DELIVERY_LIMIT

SERVER_NAMED = "amq.gen-izSMwTHbK0HRRgBmJ8J1LQ"
DIRECT_REPLY = (  # as RabbitMQ 3.10 rewrites `amq.rabbitmq.reply-to` for its consumer
    "amq.rabbitmq.reply-to.g1h2AA1yZXBseUA5MjQ4ODg0AABNxAAAAANrFhAx.l6rND4D3y2dV0O/OhG+V8Q=="
)


@dataclass
class Sent:
    """The parts of a kombu Message the judge reads."""

    body: bytes
    properties: dict = field(default_factory=dict)


def message(*event_ids: str, **properties: Any) -> Sent:
    events = [{"event_id": event_id} for event_id in event_ids]
    return Sent(json.dumps({"events": events}).encode(), properties)


class Ingestor:
    """Accepts every event once its `failures` (raised in turn) are used up."""

    max_batch = 100

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def publish(self, raw_events: Any) -> list[dict]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return [
            {"event_id": e.get("event_id"), "status": "accepted", "errors": []} for e in raw_events
        ]


def judge(ingestor: Ingestor, users: AmqpUsers | None = None, stopping: bool = False) -> Judge:
    event = threading.Event()
    if stopping:
        event.set()
    return Judge(ingestor, users, event, retry_pause=0.0)


def the_rule(verdict: Any) -> str:
    assert isinstance(verdict, Answer)
    (outcome,) = verdict.answer["outcomes"]
    (error,) = outcome["errors"]
    return error["rule"]


FAILED = ServiceFailed("服务 registry.ingest 出错", "service registry.ingest failed", "registry")


@pytest.mark.parametrize(
    "reply_to",
    [
        "scoring.registry",
        "notify.scoring",
        "rpc-registry",
        "rpc.reply-standalone_rpc_proxy-1",
        "amq.gen-",
        "amq.rabbitmq.reply-to",
        "amq.gen-abc/../scoring.registry",
        "gateway.sources",
    ],
)
def test_a_reply_to_that_is_not_the_senders_own_queue_is_dead_lettered_unprocessed(reply_to):
    ingestor = Ingestor()
    verdict = judge(ingestor).verdict(message("e-1", reply_to=reply_to), last_try=False)
    assert isinstance(verdict, DeadLetter) and verdict.answer is None
    assert "reply_to_own_queue" in verdict.error and ingestor.calls == 0


@pytest.mark.parametrize("reply_to", [SERVER_NAMED, DIRECT_REPLY])
def test_the_senders_own_reply_queue_is_answered(reply_to):
    sent = message("e-1", reply_to=reply_to)
    verdict = judge(Ingestor()).verdict(sent, last_try=False)
    assert isinstance(verdict, Answer) and verdict.answer["outcomes"][0]["status"] == "accepted"
    assert reply_address(sent) == reply_to


def test_a_message_without_reply_to_is_processed_and_answers_nobody():
    sent = message("e-1")
    assert isinstance(judge(Ingestor()).verdict(sent, last_try=False), Answer)
    assert reply_address(sent) is None


def test_a_body_over_the_limit_is_refused_before_it_is_parsed():
    at_limit = Sent(b"{" + b" " * (MAX_REQUEST_BYTES - 1))  # not JSON either
    over = Sent(at_limit.body + b" ")
    assert the_rule(judge(Ingestor()).verdict(at_limit, last_try=False)) == "not_json"
    assert the_rule(judge(Ingestor()).verdict(over, last_try=False)) == "too_large"


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b"[" * 100_000, "too_deep"),
        (b"[" + b"9" * 5_000 + b"]", "number_too_large"),
        (b"\xff\xfe{", "not_json"),
        (b"", "not_json"),
        (b'{"events": [{"a": 1, "a": 2}]}', "duplicate_key"),
        (b'{"events": {}}', "list"),
    ],
)
def test_a_body_the_contract_will_not_read_is_answered_as_the_senders_mistake(body, rule):
    ingestor = Ingestor()
    assert the_rule(judge(ingestor).verdict(Sent(body), last_try=False)) == rule
    assert ingestor.calls == 0


def test_text_that_cannot_be_utf_8_goes_back_escaped():
    answer = {"outcomes": [{"value": "\ud800"}]}
    assert json.loads(encoded(answer)) == answer
    assert json.loads(encoded({"zh": "武汉"})) == {"zh": "武汉"}


def test_a_message_failing_is_put_back_until_its_last_try_then_dead_lettered():
    assert isinstance(judge(Ingestor(FAILED)).verdict(message("e-1"), last_try=False), PutBack)
    verdict = judge(Ingestor(FAILED)).verdict(message("e-1"), last_try=True)
    assert isinstance(verdict, DeadLetter)
    assert verdict.error.startswith("ServiceFailed: ") and "registry.ingest" in verdict.error
    assert verdict.answer == {
        "outcomes": [],
        "error": {"message_zh": FAILED.message_zh, "message_en": FAILED.message_en},
    }


def test_a_fault_of_the_gateways_own_is_a_failed_try_and_its_text_is_not_echoed():
    fault = RuntimeError("internal detail")
    verdict = judge(Ingestor(fault)).verdict(message("e-1"), last_try=True)
    assert isinstance(verdict, DeadLetter) and verdict.error == "RuntimeError: internal detail"
    assert verdict.answer is not None and "internal detail" not in json.dumps(verdict.answer)


def test_an_outage_is_held_through_without_using_up_tries():
    down = ServiceUnavailable("服务 registry 未运行", "service registry is not running")
    ingestor = Ingestor(down, down, down)
    assert isinstance(judge(ingestor).verdict(message("e-1"), last_try=True), Answer)
    assert ingestor.calls == 4


def test_an_outage_when_the_gateway_stops_puts_the_message_back():
    down = ServiceUnavailable("服务 registry 未运行", "service registry is not running")
    verdict = judge(Ingestor(down), stopping=True).verdict(message("e-1"), last_try=True)
    assert isinstance(verdict, PutBack)


def test_a_message_without_user_id_has_every_event_rejected():
    verdict = judge(Ingestor(), AmqpUsers()).verdict(message("e-1", "e-2"), last_try=False)
    assert isinstance(verdict, Answer)
    rules = [o["errors"][0]["rule"] for o in verdict.answer["outcomes"]]
    assert rules == ["amqp_user_id_missing"] * 2


def test_the_ingest_queue_counts_deliveries_and_refuses_when_full():
    arguments = ingest_queue(Exchange(INGEST_EXCHANGE, type="topic")).queue_arguments
    assert arguments["x-queue-type"] == "quorum"
    assert arguments["x-delivery-limit"] == DELIVERY_LIMIT
    assert arguments["x-overflow"] == "reject-publish"
    assert arguments["x-max-length"] > 0 and arguments["x-max-length-bytes"] > MAX_REQUEST_BYTES
    assert arguments["x-dead-letter-routing-key"] == "gateway.sources"
