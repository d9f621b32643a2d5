"""One AMQP sender flooding does not starve the others: each source publishes on its own lane
(services/gateway/amqp_queues.py), a full lane refuses only its own sender, and the lanes are
served in turn. Against the running system, with RabbitMQ users whose topic permissions hold
each to its own lane."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from amqp.exceptions import AccessRefused, MessageNacked
from kombu import Connection, Producer
from kombu.exceptions import OperationalError

from services.gateway.amqp_queues import LANE_PREFIX, LANES
from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import proposal, running_system, unique

pytestmark = [pytest.mark.rabbit]

FLOOD, CALM, OTHER = "pref:420100", "pref:420500", "pref:420600"
LANE_WAITING = 20  # the lane's length here: small, so a flood fills it quickly
FLOOD_MESSAGES = 60
REPORTS_PER_MESSAGE = 40  # each flood message takes the gateway a while


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(
        tmp_path_factory.mktemp("lanes"),
        GATEWAY_AMQP_LANES=f"{FLOOD},{CALM}",  # OTHER has none: it shares the common queue
        GATEWAY_AMQP_LANE_WAITING=str(LANE_WAITING),
    ) as running:
        running.rabbit_users([FLOOD, CALM, OTHER])
        yield running


def flood_body() -> bytes:
    events = [proposal(unique("FL"), FLOOD, "420102") for _ in range(REPORTS_PER_MESSAGE)]
    return json.dumps({"events": events}, ensure_ascii=False).encode()


def waiting_in_lane(system: RunningSystem, source: str) -> int:
    user = system.rabbit_users([]).user_id(source)
    with Connection(system.env["AMQP_URI"]) as connection:
        declared = connection.channel().queue_declare(LANE_PREFIX + user, passive=True)
        return declared.message_count


def test_a_flooding_source_is_refused_at_its_own_lane_while_another_is_served(system):
    users = system.rabbit_users([])
    refused = 0
    with Connection(users.uri(FLOOD), transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        for _ in range(FLOOD_MESSAGES):
            try:
                producer.publish(
                    flood_body(),
                    exchange=LANES,
                    routing_key=users.user_id(FLOOD),
                    user_id=users.user_id(FLOOD),
                    content_type="application/json",
                )
            except MessageNacked:  # the lane is full: `reject-publish`
                refused += 1
    # The flood is throttled at its lane: of 60 messages at most 20 wait, plus the few the
    # gateway took meanwhile.
    assert refused >= FLOOD_MESSAGES // 2

    project = proposal(unique("CALM"), CALM, "420502")
    [answer] = users.publish(CALM, [project])
    assert answer["status"] == "accepted"
    # Served while the flood still waits: it did not queue behind the flooder's messages.
    assert waiting_in_lane(system, FLOOD) > 0


def test_a_source_cannot_publish_on_another_sources_lane(system):
    users = system.rabbit_users([])
    confirmed = {"confirm_publish": True}
    with (
        Connection(users.uri(OTHER), transport_options=confirmed) as connection,
        pytest.raises((AccessRefused, OperationalError), match=r"ACCESS_REFUSED|access"),
    ):
        Producer(connection.channel()).publish(
            b'{"events": []}',
            exchange=LANES,
            routing_key=users.user_id(CALM),
            user_id=users.user_id(OTHER),
        )
    assert waiting_in_lane(system, CALM) == 0


def test_a_source_without_a_lane_of_its_own_is_served_from_the_shared_queue(system):
    [answer] = system.rabbit_users([]).publish(OTHER, [proposal(unique("NL"), OTHER, "420602")])
    assert answer["status"] == "accepted"
