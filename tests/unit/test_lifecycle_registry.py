"""Registry in memory: a project stored before `planned_by_leader` existed still loads, and the
开工 list follows tracking's construction starts and the office's checks of them (二)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

from eventsourcing.persistence import Mapper, StoredEvent

from services.kernel.contract import ids
from services.registry.application import RegistryApplication
from services.registry.domain import SIGNED, STARTED, Project


def project(**overrides) -> Project:
    fields = {
        "event_id": str(uuid.uuid4()),
        "source": "pref:420100",
        "occurred_on": date(2020, 6, 1),
        "project_code": "WH-1",
        "name": "示范项目",
        "investor": {"name": "某公司", "origin": "CN-44"},
        "industry": "automotive",
        "region": "420111",
        "prefecture": "420100",
        "total_investment": Decimal(25),
        "categories": [],
        "channel": "park",
        "key_project": True,
    }
    return Project(**{**fields, **overrides})


def wire(type_: str, event_id: str, **payload) -> dict:
    return {
        "type": type_,
        "event_id": event_id,
        "source": "pref:420100",
        "occurred_on": "2020-07-20",
        "payload": {"project_code": "WH-1", **payload},
    }


def test_a_project_proposed_before_planned_by_leader_existed_still_loads():
    mapper = Mapper(transcoder=RegistryApplication().mapper.transcoder)
    stored = mapper.to_stored_event(project().collect_events()[0])
    state = json.loads(stored.state)
    del state["class_version"], state["planned_by_leader"]  # as version 1 wrote it
    v1 = StoredEvent(stored.originator_id, 1, stored.topic, json.dumps(state).encode())

    loaded = mapper.to_domain_event(v1).mutate(None)

    assert loaded.facts["planned_by_leader"] is None
    assert loaded.id == ids.project_id("WH-1")


def test_the_started_list_follows_the_start_its_rejection_and_a_later_verification():
    signed = project()
    signed.sign(str(uuid.uuid4()), "pref:420100", date(2020, 7, 10), Decimal(25))
    start = str(uuid.uuid4())

    signed.follow_tracking(wire("project.construction_started", start), "d1")
    assert signed.stage == STARTED
    signed.follow_tracking(wire("milestone.verified", "c0", milestone_event_id="other"), "d2")
    assert signed.stage == STARTED
    signed.follow_tracking(wire("milestone.rejected", "c1", milestone_event_id=start), "d3")
    assert signed.stage == SIGNED
    signed.follow_tracking(wire("milestone.verified", "c2", milestone_event_id=start), "d4")
    assert signed.stage == STARTED
    signed.follow_tracking(wire("milestone.retracted", "c3", milestone_event_id=start), "d5")
    signed.follow_tracking(wire("milestone.verified", "c4", milestone_event_id=start), "d6")
    assert signed.stage == SIGNED  # a retraction is final


def test_a_start_never_moves_a_withdrawn_or_unsigned_project():
    proposed = project()
    proposed.follow_tracking(wire("project.construction_started", "s1"), "d1")
    assert proposed.stage == "promotion"
    withdrawn = project()
    withdrawn.sign("e1", "pref:420100", date(2020, 7, 10), Decimal(25))
    withdrawn.withdraw("e2", "pref:420100", date(2020, 7, 11), "撤资")
    withdrawn.follow_tracking(wire("project.construction_started", "s2"), "d2")
    assert withdrawn.lists == []
