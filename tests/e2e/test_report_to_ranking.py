"""A quarter of reports, published as prefecture systems publish them (gRPC and AMQP), becomes
the ranking an independent count of the same reports expects — on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from pathlib import Path

import psycopg
from kombu import Connection, Exchange, Producer, Queue

from services.common.reference import reference
from services.demo import demo_rejects, generate_demo
from tests.oracle import expected_ranking

QUARTER = "2020Q3"
CHUNK = 100


def publish_over_amqp(amqp_uri: str, events: list[dict], timeout: float = 60.0) -> list[dict]:
    """Publish one batch to exchange zhaoshang.ingest as any AMQP client would; wait for the
    outcomes on a reply queue."""
    correlation_id = str(uuid.uuid4())
    replies: list[dict] = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        reply_queue = Queue(f"test.reply.{correlation_id}", exclusive=True, auto_delete=True)
        reply_queue(channel).declare()
        Producer(channel).publish(
            json.dumps({"events": events}, ensure_ascii=False).encode(),
            exchange=Exchange("zhaoshang.ingest", type="topic", durable=True),
            routing_key="reports",
            declare=[Exchange("zhaoshang.ingest", type="topic", durable=True)],
            reply_to=reply_queue.name,
            correlation_id=correlation_id,
            content_type="application/json",
        )
        with connection.Consumer(reply_queue, callbacks=[lambda body, m: replies.append(body)]):
            deadline = time.monotonic() + timeout
            while not replies and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=1)
    assert replies, "no reply from the gateway's AMQP ingest"
    body = replies[0]
    return (json.loads(body) if isinstance(body, bytes | str) else body)["outcomes"]


def publish_alternating(system, reports: list[dict]) -> list[dict]:
    """Chunks in order, every other one over AMQP: order matters (no 开工 before 签约)."""
    outcomes: list[dict] = []
    with system.client() as client:
        for i, start in enumerate(range(0, len(reports), CHUNK)):
            chunk = reports[start : start + CHUNK]
            if i % 2:
                outcomes += publish_over_amqp(system.env["AMQP_URI"], chunk)
            else:
                outcomes += client.publish(chunk)
    return outcomes


def stored_text(env: dict[str, str]) -> str:
    """Every stored event of every service, as text, read straight from the stores."""
    texts: list[str] = []
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        with psycopg.connect(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], user=env["POSTGRES_USER"]
        ) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_name LIKE '%events'"
            ).fetchall()
            for schema, table in tables:
                rows = conn.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall()
                texts += [bytes(r[0]).decode() for r in rows]
    else:
        for path in Path(env["ZHAOSHANG_VAR"]).glob("*.sqlite"):
            with sqlite3.connect(path) as db:
                tables = db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%events'"
                ).fetchall()
                for (table,) in tables:
                    texts += [r[0].decode() for r in db.execute(f"SELECT state FROM {table}")]
    assert texts, "no stored events found: the check would prove nothing"
    return "\n".join(texts)


def wait_for_file(path: Path, timeout: float = 30.0) -> Path:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.2)
    return path


def test_a_quarter_of_reports_gives_the_ranking_an_independent_count_expects(system):
    reports = generate_demo(QUARTER)
    prefectures_reporting = {r["source"] for r in reports if r["source"].startswith("pref:")}
    assert len(prefectures_reporting) >= 5

    outcomes = publish_alternating(system, reports)

    assert [o["event_id"] for o in outcomes] == [r["event_id"] for r in reports]
    assert {o["status"] for o in outcomes} == {"accepted"}, [
        o for o in outcomes if o["status"] != "accepted"
    ][:3]

    # Resent reports change nothing and are answered "duplicate", on both channels.
    with system.client() as client:
        again_grpc = client.publish(reports[:60])
        published = client.publish_ranking(QUARTER)
    again_amqp = publish_over_amqp(system.env["AMQP_URI"], reports[60:90])
    assert {o["status"] for o in again_grpc + again_amqp} == {"duplicate"}

    ref = reference()
    prefectures = [(r.code, r.name) for r in ref.prefectures]
    expected = expected_ranking(reports, QUARTER, prefectures)
    assert [(row["region"], row["total"]) for row in published["rows"]] == expected
    assert len(published["rows"]) == 17

    with system.client() as client:
        after_duplicates = client.get_ranking(QUARTER)
        provisional = client.get_ranking(QUARTER, view="provisional")
    assert after_duplicates["hash"] == published["hash"]
    assert after_duplicates["published"] is True
    assert provisional["published"] is False

    # notify answered the publication with the quarter's circular (通报), in Chinese, once.
    circular = wait_for_file(
        Path(system.env["ZHAOSHANG_VAR"]) / "circulars" / f"{QUARTER}-{published['hash'][:12]}.md"
    )
    text = circular.read_text(encoding="utf-8")
    assert "关于2020年第三季度全省招商引资工作评分排名情况的通报" in text
    assert all(name in text for _, name in prefectures)
    assert published["hash"] in text


def test_malformed_reports_come_back_rejected_with_reasons_and_are_stored_nowhere(system):
    good = generate_demo(QUARTER)[:40]
    bad = demo_rejects()
    amqp_bad = [dict(r, event_id=str(uuid.uuid4())) for r in bad]

    with system.client() as client:
        grpc_outcomes = client.publish([*good[:20], *bad, *good[20:]])
    amqp_outcomes = publish_over_amqp(system.env["AMQP_URI"], amqp_bad)

    by_id = {o["event_id"]: o for o in grpc_outcomes + amqp_outcomes}
    for report in good:
        assert by_id[report["event_id"]]["status"] == "accepted"
    for report in [*bad, *amqp_bad]:
        outcome = by_id[report["event_id"]]
        assert outcome["status"] == "rejected"
        error = outcome["errors"][0]
        assert error["field"] and error["rule"]
        assert error["field"].split(".")[-1] in error["message_zh"]

    stored = stored_text(system.env)
    assert good[0]["event_id"] in stored
    for report in [*bad, *amqp_bad]:
        assert report["event_id"] not in stored
