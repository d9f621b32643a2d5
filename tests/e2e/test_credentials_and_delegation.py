"""Credentials against the running system, as its operators and the console use them: keys
revoked, expired and rotated with `python -m zhaoshang.keys` count from the next call; a
delegate credential acts only for a person it names, nobody else may name one, and the history
of what a person sent through it names that person."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest

from services.kernel.contract.calendar import SHANGHAI
from tests.e2e.conftest import RunningSystem
from tests.e2e.credentials import RawCalls, denied
from tests.e2e.lifecycle import proposal, report, unique
from zhaoshang.keys import DEV_CONSOLE, issue_key

pytestmark = [pytest.mark.rabbit, pytest.mark.postgres]

WUHAN, HONGSHAN = "pref:420100", "420111"
CLERK = {
    "x-on-behalf-of-user": "zhang.san",
    "x-on-behalf-of-unit": WUHAN,
    "x-on-behalf-of-roles": "report,read",
}
UNAUTHENTICATED, PERMISSION_DENIED = (
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
)


@pytest.fixture
def store_env(postgres_env):
    """On PostgreSQL, as production runs (the receipts that keep operators are stored there)."""
    return postgres_env


@pytest.fixture
def calls(system: RunningSystem) -> Iterator[RawCalls]:
    supervisor = system.supervisor
    raw = RawCalls(system.target, supervisor.ca_file, supervisor.plaintext)
    yield raw
    raw.close()


def a_proposal() -> list[dict]:
    return [proposal(unique("WH"), WUHAN, HONGSHAN)]


def works(calls: RawCalls, key: str) -> bool:
    return [o["status"] for o in calls.publish(a_proposal(), key)] == ["accepted"]


def refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def keys_command(system: RunningSystem, *args: str) -> str:
    """`python -m zhaoshang.keys` on the running system's keys file; what it printed."""
    keys_file = system.env["GATEWAY_KEYS_FILE"]
    done = subprocess.run(
        [sys.executable, "-m", "zhaoshang.keys", "--keys-file", keys_file, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_revoked_and_expired_keys_are_refused_and_a_rotated_key_works_at_once(system, calls):
    keys_file = Path(system.env["GATEWAY_KEYS_FILE"])
    revoked_key = keys_command(system, "issue", WUHAN, "--label", "待吊销")
    assert works(calls, revoked_key)
    listed = [json.loads(line) for line in keys_command(system, "list").splitlines()]
    (revoked_id,) = [k["id"] for k in listed if k.get("label") == "待吊销"]
    keys_command(system, "revoke", revoked_id)
    revoked = refused(lambda: calls.publish(a_proposal(), revoked_key))
    assert denied(revoked, UNAUTHENTICATED, "api_key_revoked")
    details = revoked.details() or ""
    assert revoked_id in details and revoked_key not in details

    soon = datetime.now(SHANGHAI) + timedelta(seconds=3)
    expiring_key, expiring = issue_key(keys_file, WUHAN, expires_at=soon)
    assert works(calls, expiring_key) and expiring.expires_at is not None
    time.sleep(max(0.0, (expiring.expires_at - datetime.now(SHANGHAI)).total_seconds()) + 0.5)
    expired = refused(lambda: calls.publish(a_proposal(), expiring_key))
    assert denied(expired, UNAUTHENTICATED, "api_key_expired")

    old_key, old = issue_key(keys_file, WUHAN)
    assert works(calls, old_key)
    new_key = keys_command(system, "rotate", old.id)
    assert works(calls, new_key)  # the very next call
    assert denied(refused(lambda: works(calls, old_key)), UNAUTHENTICATED, "api_key_revoked")


def test_a_delegate_acts_only_for_a_person_and_the_history_names_that_person(system, calls):
    console, wuhan = system.api_keys[DEV_CONSOLE], system.api_keys[WUHAN]
    alone = [  # a delegate credential alone may do nothing
        refused(lambda: calls.publish(a_proposal(), console)),
        refused(lambda: calls.refusals(console)),
    ]
    assert all(denied(e, PERMISSION_DENIED, "delegate_needs_person") for e in alone)
    named = refused(lambda: calls.publish(a_proposal(), wuhan, CLERK))
    assert denied(named, PERMISSION_DENIED, "delegation_needs_delegate")
    reader = {**CLERK, "x-on-behalf-of-roles": "read"}
    not_a_reporter = refused(lambda: calls.publish(a_proposal(), console, reader))
    assert denied(not_a_reporter, PERMISSION_DENIED, "report_role_required")

    code = unique("WH")
    through_console = proposal(code, WUHAN, HONGSHAN)
    (outcome,) = calls.publish([through_console], console, CLERK)
    assert outcome["status"] == "accepted", outcome
    over_amqp = report("project.signed", WUHAN, project_code=code, contract_investment="20")
    (outcome,) = system.rabbit_users([WUHAN]).publish(WUHAN, [over_amqp])
    assert outcome["status"] == "accepted", outcome  # a RabbitMQ user of a source reports
    elsewhere = proposal(unique("YC"), "pref:420500", "420506")
    (other_unit,) = calls.publish([elsewhere], console, CLERK)
    assert other_unit["errors"][0]["rule"] == "source_not_sender"

    with system.client("office") as office:
        history = office.history(code)
    operators = {e["event_id"]: e["operator"] for e in history}
    assert operators[through_console["event_id"]] == "zhang.san"
    assert operators[over_amqp["event_id"]] is None
