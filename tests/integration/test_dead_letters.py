"""A message a consumer keeps failing on is dead-lettered after the delivery limit, on the real
RabbitMQ, and the operator's replay puts it back once the cause is fixed."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from kombu import Connection, Producer

from services.kernel.bus.queues import (
    DELIVERY_LIMIT,
    consumer_queue,
    dead_letter_queue,
    declare_dead_letter_queue,
    events_exchange,
    replay_dead_letters,
)
from zhaoshang.deadletters import dead_count, show


def receive(connection: Connection, queue, fail: bool, quiet: float = 1.0) -> list[str]:
    """Consume as a service does (single active consumer: no basic.get); a failing consumer
    puts each message back. Stops once nothing arrives for `quiet` seconds."""
    bodies: list[str] = []

    def handle(body, message) -> None:
        bodies.append(str(message.body))
        message.requeue() if fail else message.ack()

    with connection.Consumer(queue, callbacks=[handle], accept=["json", "text/plain"]):
        while True:
            try:
                connection.drain_events(timeout=quiet)
            except TimeoutError:
                return bodies


def test_a_message_failing_every_time_is_dead_lettered_then_replayed(amqp_uri):
    queue = consumer_queue("scoring", "registry")
    body = json.dumps({"service": "registry", "first": 1, "last": 1, "events": []})
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        declare_dead_letter_queue(connection, queue.name)
        bound = queue(channel)
        bound.declare()
        Producer(channel).publish(
            body, exchange=events_exchange, routing_key="registry", delivery_mode=2
        )
        deliveries = receive(connection, queue, fail=True)
        dead = dead_letter_queue(queue.name)(channel)
        letter = dead.get(no_ack=True)

    assert len(deliveries) == DELIVERY_LIMIT + 1
    assert letter is not None and str(letter.body) == body
    assert letter.delivery_info["routing_key"] == queue.name  # says where it came from

    assert replay_dead_letters(amqp_uri, queue.name) == 0  # it was taken off above
    confirmed = {"confirm_publish": True}  # counted only once the broker has it
    with Connection(amqp_uri, transport_options=confirmed) as connection:
        Producer(connection.channel()).publish(
            body, exchange="zhaoshang.dead", routing_key=queue.name, delivery_mode=2
        )
    assert dead_count(amqp_uri, queue.name) == 1
    assert replay_dead_letters(amqp_uri, queue.name) == 1
    assert dead_count(amqp_uri, queue.name) == 0
    with Connection(amqp_uri) as connection:
        again = receive(connection, queue, fail=False)
    assert [json.loads(b)["first"] for b in again] == [1]


def test_the_command_knows_every_queue_a_service_consumes():
    from services.gateway.amqp_ingest import INGEST_QUEUE
    from services.kernel.process.nameko_support import consumed_queues
    from services.notify.service import NotifyService
    from services.registry.service import RegistryService
    from services.scoring.service import ScoringService
    from zhaoshang.deadletters import QUEUES

    consumed = {
        queue.name
        for service in (RegistryService, ScoringService, NotifyService)
        for queue in consumed_queues(service)
    }
    assert set(QUEUES) == consumed | {INGEST_QUEUE}


def test_a_service_dead_letters_a_message_it_keeps_failing_on_with_its_error(amqp_uri):
    """The services' consumer dead-letters on the last try itself, saying what failed it and
    why; the operator reads that with `deadletters show`, and the replay puts it back."""
    queue = consumer_queue("failing", "registry")
    with Connection(amqp_uri) as connection:
        declare_dead_letter_queue(connection, queue.name)
        queue(connection.channel()).declare()
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nameko",
            "run",
            "--broker",
            amqp_uri,
            "tests.integration.failing_service",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = json.dumps({"service": "registry", "first": 7, "last": 9, "events": []})
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
            Producer(connection.channel()).publish(
                body,
                exchange=events_exchange,
                routing_key="registry",
                delivery_mode=2,
                content_type="application/json",
            )
        deadline = time.monotonic() + 30
        while dead_count(amqp_uri, queue.name) != 1:
            assert time.monotonic() < deadline, "not dead-lettered"
            time.sleep(0.1)
    finally:
        service.terminate()
        service.wait(30)

    (line,) = show(amqp_uri, queue.name)
    assert "registry 7..9" in line and "failing.on_registry" in line
    assert f"{DELIVERY_LIMIT + 1} 次" in line and "ValueError: 项目 7 无法处理" in line
    assert dead_count(amqp_uri, queue.name) == 1  # shown, not taken

    assert replay_dead_letters(amqp_uri, queue.name) == 1
    with Connection(amqp_uri) as connection:
        (replayed,) = receive(connection, queue, fail=False)
    assert replayed == body
