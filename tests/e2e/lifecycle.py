"""Helpers for the lifecycle, jurisdiction and bad-input suites: one running system per test
module (starting one costs seconds), and reports written as the systems of the plan write them.

Each test names its own projects, leaders and units, so tests sharing a system never meet.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import fresh_database, fresh_vhost
from tests.e2e.conftest import RunningSystem, free_port
from tests.e2e.credentials import new_user_prefix
from tools.run import Supervisor, wait_for_gateway

PLAN_DAY = "2020-07-01"


@contextlib.contextmanager
def running_system(
    tmp_path: Path, store: str = "sqlite", **settings: str
) -> Iterator[RunningSystem]:
    """The whole system as `make run` starts it, in its own vhost (and PostgreSQL database);
    `settings` are environment variables set for every process (e.g. a gateway's limit)."""
    with contextlib.ExitStack() as resources:
        store_env = (
            resources.enter_context(fresh_database())
            if store == "postgres"
            else {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
        )
        env = {
            **os.environ,
            **store_env,
            "ZHAOSHANG_VAR": str(tmp_path / "var"),
            "AMQP_URI": resources.enter_context(fresh_vhost()),
            "GATEWAY_ADDRESS": f"127.0.0.1:{free_port()}",
            "GATEWAY_AMQP_USER_PREFIX": new_user_prefix(),
            "METRICS_PORT": "0",  # probes on any free port: other systems may run beside it
            **settings,
        }
        env.pop("GATEWAY_KEYS_FILE", None)
        supervisor = Supervisor(env)
        supervisor.start_all()
        running: RunningSystem | None = None
        try:
            wait_for_gateway(env["GATEWAY_ADDRESS"], supervisor)
            running = RunningSystem(env, supervisor)
            yield running
        finally:
            if running is not None:
                running.delete_rabbit_users()
            supervisor.stop_all()


def unique(prefix: str) -> str:
    """A key no other test uses (project codes, leader ids)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def report(type_: str, source: str, on: str = PLAN_DAY, **payload: Any) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": source,
        "occurred_on": on,
        "schema_version": 1,
        "payload": payload,
    }


def proposal(
    code: str,
    source: str,
    region: str,
    total: str = "25",
    industry: str = "next_generation_it",
    on: str = "2020-06-01",
    **overrides: Any,
) -> dict:
    """project.proposed with every fact of (二); a key project unless told otherwise."""
    payload = {
        "project_code": code,
        "name": f"{code} 示范项目",
        "investor": {
            "name": "华为技术有限公司",
            "origin": "CN-44",
            "fortune_global_500": True,
            "china_top_500": True,
        },
        "industry": industry,
        "region": region,
        "total_investment": total,
        "categories": [],
        "channel": "park",
        **overrides,
    }
    return report("project.proposed", source, on, **payload)


def credit_code(first17: str = "91420111MA4K00001") -> str:
    from services.kernel.contract.fields import credit_code_check_character

    return first17 + credit_code_check_character(first17)


def publish(system: RunningSystem, source: str, *reports: dict) -> list[dict]:
    with system.client(source) as client:
        return client.publish(list(reports))


def statuses(outcomes: list[dict]) -> list[str]:
    return [o["status"] for o in outcomes]


def accepted(system: RunningSystem, source: str, *reports: dict) -> list[str]:
    """Publish and insist every report is accepted; the event ids."""
    outcomes = publish(system, source, *reports)
    assert statuses(outcomes) == ["accepted"] * len(reports), outcomes
    return [o["event_id"] for o in outcomes]


def the_error(outcome: dict) -> dict:
    """The one error a report was answered with; it names field, value and rule in both
    languages."""
    assert outcome["status"] in ("rejected", "conflict"), outcome
    [error] = outcome["errors"]
    assert error["field"] and error["rule"], error
    assert error["message_zh"] and error["message_en"], error
    return error


def codes(listing: dict) -> set[str]:
    return {row["project_code"] for row in listing["projects"]}


def stored_text(system: RunningSystem) -> str:
    """Every event every service stored (SQLite stores), as text: what was never stored is not
    in it."""
    import sqlite3

    texts: list[str] = []
    for path in Path(system.env["ZHAOSHANG_VAR"]).glob("*.sqlite"):
        with sqlite3.connect(path) as db:
            tables = db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%events'"
            ).fetchall()
            for (table,) in tables:
                texts += [row[0].decode() for row in db.execute(f"SELECT state FROM {table}")]
    assert texts, "no stored events found: the check would prove nothing"
    return "\n".join(texts)
