"""Refusals as the office lists them (Query.ListRefusals), in memory: each keeps the report's
digest and a bounded excerpt, never the whole report; those an earlier release stored whole still
list, as an excerpt; a listing reads only the refusals recorded since the last one."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from services.kernel.contract.errors import VALUE_WIDTH, RuleBroken
from services.kernel.contract.report import Report
from services.kernel.ingest.refusals import EXCERPT_CHARS, Refusal
from services.kernel.store.chain import GENESIS, Link, event_hash, seal
from services.kernel.store.topics import topics_of
from services.registry.application import RegistryApplication

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
JIANG_AN, HUANGSHI = "420102", "420200"  # 江岸区 is a county of 武汉市
WUHAN_SENDER, HUANGSHI_SENDER = "pref:420100", f"pref:{HUANGSHI}"


def proposal(source: str, name: str = "长江存储二期", code: str = "WH-2020-001") -> Report:
    """A proposal of a project in 江岸区 as a service receives it (validated by the gateway)."""
    return Report.from_primitive(
        {
            "event_id": str(uuid.uuid4()),
            "type": "project.proposed",
            "source": source,
            "occurred_on": "2020-09-10",
            "schema_version": 1,
            "payload": {
                "project_code": code,
                "name": name,
                "investor": {"name": "紫光集团", "origin": "CN-11"},
                "industry": "integrated_circuit",
                "region": JIANG_AN,
                "total_investment": "25.5",
                "categories": [],
                "channel": "platform_event",
            },
        }
    )


def refuse(registry: RegistryApplication, n: int) -> list[str]:
    """`n` proposals 黄石 may not send (a project of 武汉's), each refused; their event ids."""
    reports = [proposal(HUANGSHI_SENDER, code=f"WH-2020-{i:03}") for i in range(n)]
    outcomes = registry.ingest(reports)
    assert {o["errors"][0]["rule"] for o in outcomes} == {"outside_jurisdiction"}
    return [str(r.event_id) for r in reports]


def test_a_refusal_keeps_the_digest_and_a_bounded_excerpt_not_the_whole_report():
    registry = RegistryApplication(IN_MEMORY)
    hostile = proposal(HUANGSHI_SENDER, name="长" * 200_000)

    registry.ingest([hostile])

    (refusal,) = registry.refusals(HUANGSHI_SENDER)
    assert refusal["digest"] == hostile.digest()
    assert "payload" not in refusal and len(refusal["excerpt"]) <= EXCERPT_CHARS
    assert refusal["excerpt"].startswith('{"categories": [], "channel": "platform_event"')
    (stored,) = registry.recorder.select_notifications(1, 10, topics=topics_of(Refusal.Recorded))
    assert len(stored.state) < 4 * EXCERPT_CHARS


def test_a_refusal_an_earlier_release_stored_whole_lists_as_an_excerpt():
    registry = RegistryApplication(IN_MEMORY)
    refused = proposal(HUANGSHI_SENDER, name="长" * 200_000)
    store_as_v1(registry, refused, value="x" * 100_000)

    (refusal,) = registry.refusals(HUANGSHI_SENDER)

    assert refusal["event_id"] == str(refused.event_id)
    assert len(refusal["excerpt"]) <= EXCERPT_CHARS and len(refusal["value"]) <= VALUE_WIDTH
    assert refusal["rule"] == "outside_jurisdiction"


def store_as_v1(registry: RegistryApplication, report: Report, value: str) -> None:
    """Store the refusal of `report` as release 1 did: its whole payload, its value unclipped
    (in the hash chain's wrapper, as every stored event)."""
    error = RuleBroken("payload.region", JIANG_AN, "outside_jurisdiction", "不在辖区", "outside")
    (recorded,) = Refusal.of(report, error).collect_events()
    plain = Mapper.to_stored_event(registry.mapper, recorded)  # the library's own state
    state: dict[str, Any] = registry.mapper.transcoder.decode(plain.state)
    del state["class_version"], state["excerpt"]
    state.update(payload=report.to_primitive()["payload"], value=value)
    inner = registry.mapper.transcoder.encode(state)
    link = Link(1, GENESIS, event_hash(plain.originator_id, 1, plain.topic, GENESIS, inner))
    registry.recorder.insert_events(
        [StoredEvent(plain.originator_id, 1, plain.topic, seal(link, inner))]
    )


def test_listing_refusals_reads_only_those_recorded_since_the_last_listing():
    registry = RegistryApplication(IN_MEMORY)
    first = refuse(registry, 3)
    assert [r["event_id"] for r in registry.refusals()] == first
    read_before = list(registry.refusal_log.everyone)

    then = refuse(registry, 2)
    listed = registry.refusals(HUANGSHI_SENDER)

    assert [r["event_id"] for r in listed] == first + then
    assert all(a is b for a, b in zip(registry.refusal_log.everyone, read_before, strict=False))
    assert len(registry.refusal_log.everyone) == 5  # each read once
    assert registry.refusals(WUHAN_SENDER) == []


def test_a_refusal_the_gateway_decided_lists_under_the_sender_and_the_source_it_claimed():
    registry = RegistryApplication(IN_MEMORY)
    claimed = proposal(WUHAN_SENDER)
    error = {
        "field": "source",
        "value": WUHAN_SENDER,
        "rule": "source_not_sender",
        "message_zh": "报告来源不是发送者",
        "message_en": "the source is not the sender",
    }
    registry.refusals()  # read before the refusal is recorded

    registry.record_refusals(
        [{"report": claimed.to_primitive(), "error": error, "sender": "office"}]
    )

    assert [r["rule"] for r in registry.refusals(WUHAN_SENDER)] == ["source_not_sender"]
    assert [r["event_id"] for r in registry.refusals("office")] == [str(claimed.event_id)]
