"""An auditor at work against the running system: the office adopts a policy and publishes two
quarters through the public API, a late report arrives, and `zhaoshang audit` rebuilds the
published rankings from the raw upstream logs (same hashes), rebuilds one as of an earlier
moment, shows a project's history, and verifies the stores — until a row is altered in the
database, which it names."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from services.kernel.contract import ids
from tools.demo import by_sender, generate_demo

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "services/kernel/reference/data/policy-2020.yaml"


@pytest.fixture
def store_env(postgres_env):
    """This suite runs on PostgreSQL, as production does (the tamper suite covers SQLite)."""
    return postgres_env


def publish(system, reports: list[dict]) -> None:
    with system.client() as client:
        for source, run in by_sender(reports):
            outcomes = client.publish(run, api_key=system.api_keys[source])
            assert all(o["status"] in ("accepted", "rejected") for o in outcomes), outcomes


def policy_adopted(version: str, effective_from: str) -> dict:
    """The office's 2020.2: capital arrived weighs 40, registrations 5 (the default: 25, 15)."""
    policy = copy.deepcopy(yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8")))
    policy["version"] = version
    weights = {"capital_arrived": 40, "registrations": 5, "construction_starts": 15}
    for indicator in policy["indicators"]:
        indicator["weight"] = weights.get(indicator["key"], indicator["weight"])
    return {
        "event_id": str(uuid.uuid4()),
        "type": "policy.adopted",
        "source": "office",
        "occurred_on": "2020-06-28",
        "schema_version": 1,
        "payload": {"version": version, "effective_from": effective_from, "policy": policy},
    }


def zhaoshang(system, *argv: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GATEWAY_ADDRESS": system.target,
        "ZHAOSHANG_API_KEY": system.api_keys["office"],
        "ZHAOSHANG_CA_FILE": str(system.supervisor.ca_file),
    }
    return subprocess.run(
        [sys.executable, "-m", "zhaoshang.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def alter_a_stored_row(env: dict[str, str], aggregate_id: uuid.UUID, version: int) -> None:
    """What a tamperer with database access does: change an amount in place."""
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], user=env["POSTGRES_USER"]
    ) as conn:
        table = sql.Identifier("tracking", "tracking_events")
        state = conn.execute(
            sql.SQL(
                "SELECT state FROM {} WHERE originator_id = %s AND originator_version = %s"
            ).format(table),
            (aggregate_id, version),
        ).fetchone()[0]
        conn.execute(
            sql.SQL(
                "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
            ).format(table),
            (bytes(state).replace(b'"_data_":"20', b'"_data_":"19', 1), aggregate_id, version),
        )


def test_an_auditor_rebuilds_published_rankings_and_finds_a_row_altered_in_the_database(system):
    q2, q3 = generate_demo("2020Q2"), generate_demo("2020Q3")
    publish(system, q2)
    with system.client() as office:
        published_q2 = office.publish_ranking("2020Q2")
        time.sleep(0.05)
        before_q3 = datetime.now(UTC).isoformat()
        time.sleep(0.05)
        (adopted,) = office.publish([policy_adopted("2020.2", "2020Q3")])
        publish(system, q3)
        published_q3 = office.publish_ranking("2020Q3")

        # A capital arrival about 2020Q3 sent after its publication: kept, shown, not counted.
        capital = next(r for r in q3 if r["type"] == "project.capital_arrived")
        late = {**capital, "event_id": str(uuid.uuid4()), "payload": {**capital["payload"]}}
        (late_outcome,) = office.publish([late], api_key=system.api_keys[late["source"]])
        region = late["source"].removeprefix("pref:")
        card = office.get_scorecard("2020Q3", region)
        q3_now = office.get_ranking("2020Q3")

    assert adopted["status"] == "accepted", adopted
    assert late_outcome["status"] == "accepted", late_outcome
    assert published_q2["policy_version"] == "2020.1.1"
    assert published_q3["policy_version"] == "2020.2"
    assert q3_now["hash"] == published_q3["hash"]
    assert late["event_id"] in [entry["event_id"] for entry in card["late"]]
    assert card["row"] == next(r for r in published_q3["rows"] if r["region"] == region)
    assert set(card["row"]["indicators"]["capital_arrived"]) == {
        "actual",
        "target",
        "points",
        "basis",
    }
    assert set(card["row"]["trips"]) == {"completed", "quota_share"}

    for quarter, published in (("2020Q2", published_q2), ("2020Q3", published_q3)):
        rebuilt = zhaoshang(system, "audit", "rebuild", "--quarter", quarter)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert published["hash"] in rebuilt.stdout
        assert "与服务端重建一致 ✓" in rebuilt.stdout
        assert "已发布排名哈希" in rebuilt.stdout and "一致 ✓" in rebuilt.stdout
        assert "武汉市" in rebuilt.stdout and "潜江市" in rebuilt.stdout
        assert "重放上游事件" in rebuilt.stderr  # the progress bar

    earlier = zhaoshang(system, "audit", "rebuild", "--quarter", "2020Q3", "--as-of", before_q3)
    assert earlier.returncode == 0, earlier.stdout + earlier.stderr
    assert "与已发布排名的差异" in earlier.stdout
    assert "评分政策：2020.1.1" in earlier.stdout  # 2020.2 was adopted after that moment
    assert "与服务端重建一致 ✓" in earlier.stdout

    code = next(r for r in q3 if r["type"] == "project.capital_arrived")["payload"]["project_code"]
    history = zhaoshang(system, "audit", "history", code)
    assert history.returncode == 0, history.stderr
    assert "到资（project.capital_arrived）" in history.stdout
    assert f"（{late['source']}）" in history.stdout

    clean = zhaoshang(system, "audit", "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "未发现改动、删除或重排" in clean.stdout

    milestones = ids.milestones_id(capital["payload"]["project_code"])
    alter_a_stored_row(system.env, milestones, 1)
    tampered = zhaoshang(system, "audit", "verify")

    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    finding = next(line for line in tampered.stdout.splitlines() if str(milestones) in line)
    assert "[tracking] 内容被改动（altered）" in finding
    assert "第 1 版" in finding
