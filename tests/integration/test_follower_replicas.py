"""Replicas of a consumer on one PostgreSQL store: the one consuming does not read its
positions before each message (the store checks each save's move, services/kernel/bus/
consumer.py), and a replica taking over after the other applied more applies nothing twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.domain import Aggregate

from services.kernel.bus.consumer import Follower
from services.kernel.contract.report import validate_report
from services.kernel.store.environment import ServiceApplication, store_env
from services.registry.application import RegistryApplication
from services.scoring.application import ScoringApplication
from tests.integration.test_outbox_and_consumers import proposal

pytestmark = pytest.mark.postgres


class Seen(Aggregate):
    """One upstream event as a consumer applied it: applied twice, stored twice."""

    def __init__(self, notification_id: int) -> None:
        self.notification_id = notification_id


class Consumer:
    """A replica of a consumer that stores what it applies, one aggregate per event."""

    def __init__(self, env: dict[str, str]) -> None:
        self.app = ServiceApplication(store_env("consumer", env))
        self.follower = Follower(self.app, self._process)
        self.reads = 0
        read = self.app.positions

        def counted(names):
            self.reads += bool(names)  # reading none is no round trip
            return read(names)

        self.app.positions = counted  # type: ignore[method-assign]

    def _process(self, upstream, events, tracking) -> None:
        self.app.record_tracked(tracking, *[Seen(e["notification_id"]) for e in events])

    def applied(self) -> list[int]:
        """The upstream notification ids stored, as many times as they were applied."""
        stored = self.app.process_recorder.select_notifications(1, 10_000)
        return sorted(self.app.repository.get(n.originator_id).notification_id for n in stored)


@pytest.fixture
def env(postgres_env, tmp_path) -> Iterator[dict[str, str]]:
    yield {**postgres_env, "ZHAOSHANG_VAR": str(tmp_path)}


def test_the_replica_consuming_alone_reads_its_position_once(env):
    registry = RegistryApplication(store_env("registry", env))
    consumer = Consumer(env)
    assert consumer.app.checks_moves

    for n, region in enumerate(("420111", "420602", "420502")):
        registry.ingest([validate_report(proposal(f"P{n}", region))])
        consumer.follower.receive(registry.read_wire(2 * n + 1), registry.read_wire)

    assert consumer.applied() == [1, 3, 5]  # the proposals (receipts are not on the wire)
    assert consumer.reads == 1  # its first message: the position was not known yet


def test_a_position_read_late_does_not_send_the_next_save_back(env):
    """A read of the position made without the follower's lock (a query's read-your-writes
    check) was answered before a save moved the position on, and lands after it."""
    registry = RegistryApplication(store_env("registry", env))
    consumer = Consumer(env)
    registry.ingest([validate_report(proposal("A", "420111"))])
    consumer.follower.receive(registry.read_wire(1), registry.read_wire)  # 1..2
    registry.ingest([validate_report(proposal("B", "420602"))])
    consumer.follower.receive(registry.read_wire(3), registry.read_wire)  # 3..4
    read = consumer.app.positions
    consumer.app.positions = lambda names: {"registry": 2}  # type: ignore[method-assign]
    assert consumer.follower.position("registry") == 2  # as the late answer said
    consumer.app.positions = read  # type: ignore[method-assign]
    reads = consumer.reads

    registry.ingest([validate_report(proposal("C", "420502"))])
    consumer.follower.receive(registry.read_wire(5), registry.read_wire)  # 5..6

    assert consumer.applied() == [1, 3, 5]
    assert consumer.reads == reads  # its save moved on from 4 and was taken: nothing reread


def test_a_replica_taking_over_applies_nothing_the_other_applied_and_everything_after(env):
    registry = RegistryApplication(store_env("registry", env))
    first, second = Consumer(env), Consumer(env)
    registry.ingest([validate_report(proposal("A", "420111"))])
    first.follower.receive(registry.read_wire(1), registry.read_wire)  # 1..2: A
    # The first replica loses its queue; the second consumes a redelivery of 1..4.
    registry.ingest([validate_report(proposal("B", "420602"))])
    second.follower.receive(registry.read_wire(1), registry.read_wire)
    registry.ingest([validate_report(proposal("C", "420502"))])

    # The first gets the queue back, still knowing position 2, and a page of 1..6 arrives.
    first.follower.receive(registry.read_wire(1), registry.read_wire)

    assert first.applied() == [1, 3, 5]  # each once: B was the second's, C the first's
    assert first.follower.position("registry") == second.follower.position("registry") == 6


def test_a_scoring_replica_taking_over_counts_what_the_other_counted_once(env):
    registry = RegistryApplication(store_env("registry", env))
    active = ScoringApplication(store_env("scoring", env))
    standby = ScoringApplication(store_env("scoring", env))
    for code, region in (("FIRST", "420111"), ("SECOND", "420602")):
        registry.ingest([validate_report(proposal(code, region))])
        active.follower.receive(registry.read_wire(1), registry.read_wire)
    registry.ingest([validate_report(proposal("THIRD", "420502"))])

    standby.follower.receive(registry.read_wire(1), registry.read_wire)  # 1..6, after failover

    assert sorted(standby.facts.projects) == ["FIRST", "SECOND", "THIRD"]
    assert standby.ranking("2020Q3") == ScoringApplication(store_env("scoring", env)).ranking(
        "2020Q3"
    )
