"""A quarter of reports, published as prefecture systems publish them (gRPC and AMQP), becomes
the ranking an independent count of the same reports expects — on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import psycopg

from services.kernel.reference import reference
from tests.oracle import expected_ranking
from tools.demo import by_sender, demo_rejects, generate_demo

QUARTER = "2020Q3"
CHUNK = 100


def publish_alternating(system, reports: list[dict]) -> list[dict]:
    """Each system's reports under its own credentials (by_sender keeps what depends on what:
    no 开工 before 签约), in chunks, every other one over AMQP as that system's RabbitMQ user.
    Outcomes come back in the order of `reports`."""
    runs = by_sender(reports)
    users = system.rabbit_users(sorted({sender for sender, _ in runs}))
    by_id: dict[str, dict] = {}
    chunks = [(s, run[i : i + CHUNK]) for s, run in runs for i in range(0, len(run), CHUNK)]
    with system.client() as client:
        for i, (sender, chunk) in enumerate(chunks):
            if i % 2:
                answers = users.publish(sender, chunk)
            else:
                answers = client.publish(chunk, api_key=system.api_keys[sender])
            by_id.update((o["event_id"], o) for o in answers)
    return [by_id[r["event_id"]] for r in reports]


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
    first, again = by_sender(reports)[:2]  # two prefectures' runs
    with system.client() as client:
        again_grpc = client.publish(first[1][:60], api_key=system.api_keys[first[0]])
        published = client.publish_ranking(QUARTER)
    users = system.rabbit_users([again[0]])
    again_amqp = users.publish(again[0], again[1][:30])
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
    bad = demo_rejects()
    sender = bad[0]["source"]  # the good come from the same system, under its credentials
    good = next(run for source, run in by_sender(generate_demo(QUARTER)) if source == sender)[:40]
    amqp_bad = [dict(r, event_id=str(uuid.uuid4())) for r in bad]

    users = system.rabbit_users([sender])
    with system.client(sender) as client:
        grpc_outcomes = client.publish([*good[:20], *bad, *good[20:]])
    amqp_outcomes = users.publish(sender, amqp_bad)

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
