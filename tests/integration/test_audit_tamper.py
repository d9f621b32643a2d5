"""Tamper evidence (docs/ARCHITECTURE.md "Tamper evidence") against the real stores: a row altered,
deleted or reordered directly in SQLite or PostgreSQL is found, and the finding names the aggregate
and version."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from services.kernel.contract import ids
from services.kernel.contract.report import validate_report
from services.kernel.store.audit import CheckpointSealer, verify_log
from services.kernel.store.chain import inner_state
from services.kernel.store.environment import store_env as service_store_env
from services.registry.application import RegistryApplication
from tools.demo import generate_demo

CODES = ("AUDIT-1", "AUDIT-2", "AUDIT-3")


def reports() -> list[dict]:
    """Three projects proposed, each moved to tracking and signed: three versions each."""
    template = next(r for r in generate_demo("2020Q3") if r["type"] == "project.proposed")
    made = []
    for code in CODES:
        steps = [
            ("project.proposed", {**template["payload"], "project_code": code}),
            ("project.tracking_started", {"project_code": code}),
            ("project.signed", {"project_code": code, "contract_investment": "3"}),
        ]
        made += [
            {**template, "event_id": str(uuid.uuid4()), "type": kind, "payload": payload}
            for kind, payload in steps
        ]
    return made


class Store:
    """The registry's store, written through the application, tampered with through SQL."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.app = RegistryApplication(env)

    def execute(self, statement: str, *params) -> list[tuple]:
        """`statement` names the events table `events`."""
        if self.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            with sqlite3.connect(self.env["SQLITE_DBNAME"]) as db:
                rows = db.execute(statement.replace("events", "stored_events"), params)
                return rows.fetchall()
        table = sql.Identifier(self.env["POSTGRES_SCHEMA"], "registry_events").as_string()
        with psycopg.connect(
            dbname=self.env["POSTGRES_DBNAME"],
            host=self.env["POSTGRES_HOST"],
            port=self.env["POSTGRES_PORT"],
            user=self.env["POSTGRES_USER"],
            autocommit=True,
        ) as conn:
            cursor = conn.execute(statement.replace("events", table).replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def key(self, aggregate_id: uuid.UUID) -> str | uuid.UUID:
        sqlite = self.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
        return aggregate_id.hex if sqlite else aggregate_id

    def findings(self) -> list[dict]:
        return verify_log(self.app, "registry")["findings"]


@pytest.fixture
def store(store_env, tmp_path) -> Iterator[Store]:
    env = service_store_env("registry", {**store_env, "ZHAOSHANG_VAR": str(tmp_path / "var")})
    store = Store(env)
    outcomes = store.app.ingest([validate_report(r) for r in reports()])
    assert {o["status"] for o in outcomes} == {"accepted"}, outcomes
    assert CheckpointSealer(store.app).seal()
    yield store
    store.app.close()


def project(code: str) -> str:
    return str(ids.project_id(code))


def named(findings: list[dict]) -> set[tuple]:
    return {(f["kind"], f["aggregate_id"], f["version"]) for f in findings}


def test_a_store_as_written_verifies_clean_and_is_covered_by_a_checkpoint(store):
    result = verify_log(store.app, "registry")

    assert result["ok"] is True, result["findings"]
    assert result["events"] >= 3 * len(CODES)
    assert result["checkpoints"] == 1
    assert result["covered_to"] == result["last"] - 2  # all but the checkpoint's own two events


def test_a_row_altered_in_the_database_is_found_naming_aggregate_and_version(store):
    target = store.key(ids.project_id("AUDIT-2"))
    (state,) = store.execute(
        "SELECT state FROM events WHERE originator_id = ? AND originator_version = 3", target
    )[0]
    store.execute(
        "UPDATE events SET state = ? WHERE originator_id = ? AND originator_version = 3",
        bytes(state).replace(b'"3"', b'"30"'),
        target,
    )

    findings = store.findings()

    assert ("altered", project("AUDIT-2"), 3) in named(findings)
    assert next(f for f in findings if f["kind"] == "altered")["aggregate_type"] == "Project"


def test_a_row_deleted_from_the_database_is_found_naming_aggregate_and_version(store):
    target = store.key(ids.project_id("AUDIT-1"))
    store.execute("DELETE FROM events WHERE originator_id = ? AND originator_version = 2", target)

    findings = store.findings()

    assert ("deleted", project("AUDIT-1"), 2) in named(findings)
    assert "checkpoint" in {f["kind"] for f in findings}  # the log lost a row it had sealed


def test_rows_reordered_in_the_database_are_found_naming_aggregate_and_versions(store):
    target = store.key(ids.project_id("AUDIT-3"))
    rows = store.execute(
        "SELECT originator_version, topic, state FROM events WHERE originator_id = ? "
        "AND originator_version IN (1, 2) ORDER BY originator_version",
        target,
    )
    for (version, _, _), (_, topic, state) in zip(rows, reversed(rows), strict=True):
        store.execute(
            "UPDATE events SET topic = ?, state = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            topic,
            bytes(state),
            target,
            version,
        )

    findings = store.findings()

    assert {("reordered", project("AUDIT-3"), 1), ("reordered", project("AUDIT-3"), 2)} <= named(
        findings
    )


def test_an_aggregates_last_event_deleted_is_caught_by_the_checkpoint(store):
    target = store.key(ids.project_id("AUDIT-3"))
    store.execute("DELETE FROM events WHERE originator_id = ? AND originator_version = 3", target)

    findings = store.findings()

    assert [f["kind"] for f in findings] == ["checkpoint"]
    assert "deleted" in findings[0]["detail_en"]


def test_the_next_event_of_an_aggregate_is_chained_to_the_one_stored_before_it(store):
    """A fresh application (no hashes kept from writing) chains to what is in the store."""
    store.app.close()
    store.app = RegistryApplication(store.env)
    signed_again = {
        **reports()[2],
        "event_id": str(uuid.uuid4()),
        "payload": {"project_code": "AUDIT-1", "contract_investment": "4"},
    }
    (outcome,) = store.app.ingest([validate_report(signed_again)])

    assert outcome["status"] == "accepted", outcome
    assert store.findings() == []


def test_a_checkpoint_covers_an_unchained_row_as_the_verifier_hashes_it(store):
    """A row without the chain wrapper (written before chaining) is sealed by its content, so
    the checkpoint over it agrees with the verifier: only the row itself is reported."""
    proposed = reports()[0]
    proposed["payload"]["project_code"] = "AUDIT-4"
    (outcome,) = store.app.ingest([validate_report(proposed)])
    assert outcome["status"] == "accepted", outcome
    target = store.key(ids.project_id("AUDIT-4"))
    ((state,),) = store.execute("SELECT state FROM events WHERE originator_id = ?", target)
    store.execute(
        "UPDATE events SET state = ? WHERE originator_id = ?", inner_state(bytes(state)), target
    )

    assert CheckpointSealer(store.app).seal()

    assert named(store.findings()) == {("unchained", project("AUDIT-4"), 1)}
