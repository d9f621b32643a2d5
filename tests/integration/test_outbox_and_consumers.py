"""The outbox relay publishes what was stored, from the stored log, to the real RabbitMQ; a
consumer applies each upstream event once, pulling any range it missed."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kombu import Connection, Queue

from services.kernel.bus import relay as outbox
from services.kernel.bus.relay import OutboxRelay, events_exchange
from services.kernel.contract.report import validate_report
from services.kernel.store.environment import store_env
from services.registry.application import RegistryApplication
from services.scoring.application import ScoringApplication

INVESTOR = {"name": "腾讯科技", "origin": "CN-44", "fortune_global_500": True}


def proposal(code: str, region: str = "420111") -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "project.proposed",
        "source": "office",
        "occurred_on": "2020-07-01",
        "schema_version": 1,
        "payload": {
            "project_code": code,
            "name": f"项目{code}",
            "investor": INVESTOR,
            "industry": "integrated_circuit",
            "region": region,
            "total_investment": "25",
            "channel": "park",
        },
    }


def test_the_relay_publishes_each_stored_event_once_with_its_notification_range(tmp_path, amqp_uri):
    registry = RegistryApplication(store_env("registry", {"ZHAOSHANG_VAR": str(tmp_path)}))
    outcomes = registry.ingest([validate_report(proposal(f"P{i}")) for i in range(3)])
    assert {o["status"] for o in outcomes} == {"accepted"}

    with Connection(amqp_uri) as connection:
        queue = Queue("test.registry", exchange=events_exchange, routing_key="registry")
        queue(connection.channel()).declare()
        relay = OutboxRelay(registry, "registry", amqp_uri)
        covered = relay.pump()
        assert relay.pump() == 0  # nothing new: nothing published again
        relay.close()
        message = queue(connection.channel()).get(no_ack=True)
        assert queue(connection.channel()).get(no_ack=True) is None

    body = json.loads(message.body)
    # Three proposals and three receipts were stored; only the proposals are public.
    assert (body["first"], body["last"]) == (1, covered) == (1, 6)
    assert [e["payload"]["project_code"] for e in body["events"]] == ["P0", "P1", "P2"]
    assert relay.position() == 6
    assert relay.backlog() == 0


def test_a_consumer_pulls_the_range_it_missed_and_ignores_redeliveries(tmp_path):
    env = {"ZHAOSHANG_VAR": str(tmp_path)}
    registry = RegistryApplication(store_env("registry", env))
    scoring = ScoringApplication(store_env("scoring", env))
    registry.ingest([validate_report(proposal("EARLY", "420111"))])
    registry.ingest([validate_report(proposal("LATE", "420602"))])
    pulls: list[tuple[int, int | None]] = []

    def pull(start: int, stop: int | None) -> dict | None:
        pulls.append((start, stop))
        return registry.read_wire(start, stop)

    second = registry.read_wire(3)  # the second batch arrives first: 1..2 were lost
    scoring.follower.receive(second, pull)
    scoring.follower.receive(registry.read_wire(1), pull)  # the lost one is redelivered late
    scoring.follower.receive(second, pull)  # and the second once more

    assert pulls == [(1, 2)]
    assert scoring.follower.position("registry") == 4
    assert sorted(scoring.facts.projects) == ["EARLY", "LATE"]

    # After a restart the facts are rebuilt from what scoring stored, not pulled again.
    restarted = ScoringApplication(store_env("scoring", env))
    assert sorted(restarted.facts.projects) == ["EARLY", "LATE"]
    assert restarted.follower.position("registry") == 4


def test_a_save_whose_outcome_is_unknown_leaves_no_fact_missing(tmp_path, monkeypatch):
    """The database may commit and then drop the connection before answering: the consumer
    must not skip the redelivered message and still lack its facts."""
    env = {"ZHAOSHANG_VAR": str(tmp_path)}
    registry = RegistryApplication(store_env("registry", env))
    scoring = ScoringApplication(store_env("scoring", env))
    registry.ingest([validate_report(proposal("COMMITTED"))])
    record = scoring.record_tracked

    def commit_then_fail(*args, **kwargs):
        record(*args, **kwargs)
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(scoring, "record_tracked", commit_then_fail)
    message = registry.read_wire(1)
    with pytest.raises(ConnectionError):
        scoring.follower.receive(message, registry.read_wire)
    monkeypatch.undo()

    scoring.follower.receive(message, registry.read_wire)  # the redelivery: already stored, skipped
    assert scoring.ranking("2020Q3")["as_of"]["registry"] == 2
    assert "COMMITTED" in scoring.facts.projects


def test_catching_up_with_a_slow_upstream_does_not_hold_up_live_messages(tmp_path):
    """The periodic catch-up pulls over RPC; while an upstream is slow to answer, messages
    arriving live must still be applied, and the page pulled meanwhile applied only for what
    they did not cover."""
    env = {"ZHAOSHANG_VAR": str(tmp_path)}
    registry = RegistryApplication(store_env("registry", env))
    scoring = ScoringApplication(store_env("scoring", env))
    registry.ingest([validate_report(proposal("LIVE", "420111"))])
    registry.ingest([validate_report(proposal("PULLED", "420602"))])
    live = threading.Thread(target=scoring.follower.receive, args=(registry.read_wire(1, 2), None))

    def slow_pull(start: int, stop: int | None) -> dict | None:
        if not live.is_alive() and start == 1:
            live.start()  # a live message arrives while this pull is still on its way
            live.join(timeout=5)
            assert not live.is_alive(), "the live message waited for the catch-up's pull"
        return registry.read_wire(start, stop)

    scoring.follower.catch_up("registry", slow_pull)

    assert scoring.follower.position("registry") == 4
    assert sorted(scoring.facts.projects) == ["LIVE", "PULLED"]


@dataclass
class Replicas:
    """Two replicas of registry sharing a PostgreSQL schema, each with its relay, and what
    they published (a queue bound to registry's messages)."""

    apps: tuple[RegistryApplication, RegistryApplication]
    relays: list[OutboxRelay]
    published: Callable[[], list[dict]]


@pytest.fixture
def replicas(postgres_env, amqp_uri) -> Iterator[Replicas]:
    apps = (
        RegistryApplication(store_env("registry", postgres_env)),
        RegistryApplication(store_env("registry", postgres_env)),
    )
    with Connection(amqp_uri) as connection:
        queue = Queue("test.registry", exchange=events_exchange, routing_key="registry")
        queue(connection.channel()).declare()

        def published() -> list[dict]:
            bodies = []
            while (message := queue(connection.channel()).get(no_ack=True)) is not None:
                bodies.append(json.loads(message.body))
            return bodies

        yield Replicas(apps, [OutboxRelay(app, "registry", amqp_uri) for app in apps], published)
    for app in apps:
        app.close()


@pytest.mark.postgres
def test_of_two_replicas_one_relay_publishes_and_the_other_takes_over_when_it_stops(replicas):
    """Two replicas of registry share a PostgreSQL schema: one relay holds the lease and
    publishes each event once; when its replica stops, the other's publishes what follows, and
    a relay taking the lease back goes on from where the other stopped."""
    (first, second), relays = replicas.apps, replicas.relays
    first.ingest([validate_report(proposal("A"))])
    assert relays[0].pump() == 2
    assert relays[1].pump() == 0  # the first holds the lease
    relays[0].stop()  # its replica shuts down
    second.ingest([validate_report(proposal("B"))])
    assert relays[1].pump() == 2
    relays[1].stop()
    first.ingest([validate_report(proposal("C"))])
    assert relays[0].pump() == 2  # the lease again, and the position the other saved
    relays[0].stop()

    bodies = replicas.published()
    assert [(b["first"], b["last"]) for b in bodies] == [(1, 2), (3, 4), (5, 6)]
    assert [e["payload"]["project_code"] for b in bodies for e in b["events"]] == ["A", "B", "C"]


@pytest.mark.postgres
def test_the_relay_stores_its_position_when_idle_and_a_crash_publishes_again_only_what_it_had_not(
    replicas, monkeypatch
):
    """While publishing, the position is stored at most once every SAVE_SECONDS; `flush` (the
    relay idle) stores it. A replica that dies before that leaves its last range to the next
    lease holder, which publishes it again (its consumers skip what they applied), and
    nothing before it."""
    monkeypatch.setattr(outbox, "SAVE_SECONDS", 3600.0)  # nothing comes due during the test
    (first, _), relays = replicas.apps, replicas.relays
    scoring = ScoringApplication(store_env("scoring", {}))

    first.ingest([validate_report(proposal("A"))])
    assert relays[0].pump() == 2
    assert (relays[0].position(), relays[0].stored_position()) == (2, 0)
    assert relays[0].backlog() == 0  # published is not waiting, stored or not
    relays[0].flush()
    assert relays[0].stored_position() == 2

    first.ingest([validate_report(proposal("B", "420602"))])
    assert relays[0].pump() == 2
    assert relays[0].stored_position() == 2
    relays[0].close()
    relays[0].lease.release()  # its replica dies: no flush, no stop
    assert relays[1].pump() == 2  # B again, from the stored position
    relays[1].stop()
    assert relays[1].stored_position() == 4

    bodies = replicas.published()
    assert [(b["first"], b["last"]) for b in bodies] == [(1, 2), (3, 4), (3, 4)]
    for body in bodies:
        scoring.follower.receive(body, first.read_wire)
    assert sorted(scoring.facts.projects) == ["A", "B"]
    assert scoring.ranking("2020Q3")["as_of"]["registry"] == 4


def test_a_scoring_replica_answers_with_what_another_replica_applied(tmp_path):
    """Two replicas share scoring's store: the active one consumes, the standby answers a
    ranking query (both serve RPC) and takes over later; neither may count from stale facts."""
    env = {"ZHAOSHANG_VAR": str(tmp_path)}
    registry = RegistryApplication(store_env("registry", env))
    active = ScoringApplication(store_env("scoring", env))
    standby = ScoringApplication(store_env("scoring", env))
    registry.ingest([validate_report(proposal("FIRST", "420111"))])
    active.follower.receive(registry.read_wire(1), registry.read_wire)

    assert standby.ranking("2020Q3")["as_of"]["registry"] == 2
    assert "FIRST" in standby.facts.projects  # what the ranking was counted from

    registry.ingest([validate_report(proposal("SECOND", "420602"))])
    standby.follower.receive(registry.read_wire(3), registry.read_wire)  # the active one died
    assert sorted(standby.facts.projects) == ["FIRST", "SECOND"]
    assert standby.ranking("2020Q3") == ScoringApplication(store_env("scoring", env)).ranking(
        "2020Q3"
    )
