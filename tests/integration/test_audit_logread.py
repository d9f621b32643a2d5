"""Reading stored rows straight into wire events (services/kernel/store/logread.py, the rebuild
benchmark's path) gives exactly what the library's decoding and `wire_event` give, and so the
same rankings."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml

from bench.rebuild import ingest
from services.kernel.contract.report import validate_report
from services.kernel.contract.wire import wire_event
from services.kernel.reference import reference
from services.kernel.store.chain import seal, unseal
from services.kernel.store.environment import store_env as service_store_env
from services.kernel.store.logread import WireReader
from services.registry.application import RegistryApplication
from services.scoring.application import (
    DEFAULT_POLICY_FILE,
    ScoringApplication,
    load_policy_file,
    read_log,
)
from services.scoring.facts import Facts
from services.scoring.ranking import ranking_hash
from services.scoring.rebuild import UPSTREAMS, Replay, Units, rank
from services.tracking.application import TrackingApplication
from tools.demo import generate_demo


@pytest.fixture
def stores(sqlite_env):
    registry = RegistryApplication(service_store_env("registry", sqlite_env))
    tracking = TrackingApplication(service_store_env("tracking", sqlite_env))
    ingest(registry, tracking, generate_demo("2020Q3"))
    yield {"registry": registry, "tracking": tracking}
    registry.close()
    tracking.close()


def test_rows_read_straight_give_the_wire_events_the_library_gives(stores):
    compared = 0
    for service, app in stores.items():
        reader = WireReader(service)
        for n in app.process_recorder.select_notifications(1, 100_000):
            fast = reader.event(n.id, n.originator_version, n.topic, n.state)
            assert fast == wire_event(service, n.id, app.mapper.to_domain_event(n)), n.topic
            compared += fast is not None
    assert compared > 1000


def test_scorings_public_events_read_straight_are_the_ones_the_library_gives(stores, sqlite_env):
    """The relay reads scoring's log this way too: its policies and published rankings (nested
    documents full of decimals) must reach notify exactly as `wire_event` makes them."""
    scoring = ScoringApplication(service_store_env("scoring", sqlite_env))
    for service in UPSTREAMS:
        scoring.follower.catch_up(service, stores[service].read_wire)
    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    policy["version"] = "2020.2"
    adopted = {
        "event_id": "0c8f4a8e-5b0e-4c39-9a4e-0f6f1d2c3b4a",
        "type": "policy.adopted",
        "source": "office",
        "occurred_on": "2020-06-20",
        "schema_version": 1,
        "payload": {"version": "2020.2", "effective_from": "2020Q3", "policy": policy},
    }
    assert scoring.ingest([validate_report(adopted)])[0]["status"] == "accepted"
    scoring.publish_ranking("2020Q3")

    reader, kinds = WireReader("scoring"), []
    for n in scoring.process_recorder.select_notifications(1, 100_000):
        fast = reader.event(n.id, n.originator_version, n.topic, n.state)
        assert fast == wire_event("scoring", n.id, scoring.mapper.to_domain_event(n)), n.topic
        kinds += [] if fast is None else [fast["type"]]
    assert kinds == ["policy.adopted", "ranking.published"]
    scoring.close()


def test_a_ranking_from_rows_read_straight_is_the_one_from_read_wire(stores):
    units, policy = Units.from_reference(reference()), load_policy_file()
    facts = Facts()
    for service in UPSTREAMS:
        reader = WireReader(service)
        for n in stores[service].process_recorder.select_notifications(1, 100_000):
            wire = reader.event(n.id, n.originator_version, n.topic, n.state)
            if wire is not None:
                facts.apply(service, wire)
    replay = Replay().feed(
        body
        for service in UPSTREAMS
        for body in read_log(lambda a, b, c, app=stores[service]: app.read_wire(a, b, c))
    )

    fast = rank(facts, policy, "2020Q3", units)

    assert ranking_hash(fast) == ranking_hash(rank(replay.facts, policy, "2020Q3", units))
    assert fast["rows"][0]["total"] != "0.00"


def test_an_event_stored_under_an_older_class_version_is_upcast_as_the_library_does(stores):
    app = stores["registry"]
    proposed = next(
        n
        for n in app.process_recorder.select_notifications(1, 1000)
        if n.topic.endswith("Project.Proposed")
    )
    link, inner = unseal(proposed.state)
    state = json.loads(inner)
    assert state.pop("class_version") == 2
    del state["planned_by_leader"]  # as version 1 stored it
    old = replace(proposed, state=seal(link, json.dumps(state, separators=(",", ":")).encode()))

    fast = WireReader("registry").event(old.id, old.originator_version, old.topic, old.state)

    assert fast == wire_event("registry", old.id, app.mapper.to_domain_event(old))
    assert fast["payload"]["planned_by_leader"] is None
