"""Nothing accepted is lost or counted twice when processes die, the broker or the database
restarts, or a consumer falls far behind (README "Guarantees", issue 5) — each with 50,000 reports
in flight from concurrent senders that resend what was not answered.

Each test takes a minute or two; `pytest -m "not faults"` leaves them out.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from urllib.parse import unquote, urlsplit

import pytest

from services.kernel.bus.queues import consumer_queue
from tests.e2e.conftest import free_port
from tests.faults.conftest import (
    FaultySystem,
    pg_ctlcluster,
    postgres_online,
    rabbitmqctl,
)
from tests.faults.harness import Load, check_recovered, run_under_fault
from tools.loadgen import generate_load
from tools.run import NAMEKO_SERVICES, wait_for_gateway

REPORTS = 50_000

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.rabbit,
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="module")
def reports() -> list[dict]:
    return generate_load(REPORTS, seed=5)


def listed(system: FaultySystem, what: str, *columns: str) -> list[dict]:
    """`rabbitmqctl list_<what>` in the system's vhost, as JSON rows."""
    vhost = unquote(urlsplit(system.env["AMQP_URI"]).path[1:]) or "/"
    command = ["rabbitmqctl", "-q", f"list_{what}", "-p", vhost, *columns, "--formatter", "json"]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout)


def wait_for_consumers(system: FaultySystem, wanted: dict[str, int], timeout: float = 60) -> None:
    """Until each queue has the number of consumers given, waiting ones included (a single
    active consumer queue counts only its active one in `consumer_count`)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = Counter(c["queue_name"] for c in listed(system, "consumers", "queue_name"))
        if all(counts[queue] == n for queue, n in wanted.items()):
            return
        assert time.monotonic() < deadline, f"consumers {dict(counts)}, wanted {wanted}"
        time.sleep(0.5)


def wait_until_consumed(system: FaultySystem, queues: list[str], timeout: float = 60) -> None:
    """Until the queues are empty, every message acknowledged by a live consumer."""
    deadline = time.monotonic() + timeout
    while True:
        rows = listed(system, "queues", "name", "messages")
        left = {row["name"]: row["messages"] for row in rows if row["name"] in queues}
        if set(left) == set(queues) and not any(left.values()):
            return
        assert time.monotonic() < deadline, f"messages left: {left}"
        time.sleep(0.5)


def test_services_killed_mid_load_and_restarted_lose_and_double_count_nothing(
    faulty_system: FaultySystem, reports
):
    def kill_each_in_turn(system: FaultySystem, load: Load) -> None:
        for share, service in ((0.15, "registry"), (0.35, "tracking"), (0.55, "scoring")):
            load.wait_for(int(REPORTS * share))
            system.kill(service)
            time.sleep(1)
            system.restart(service)

    run = run_under_fault(faulty_system, reports, kill_each_in_turn)
    check_recovered(faulty_system, run)


def test_the_broker_stopped_and_started_mid_load_loses_and_double_counts_nothing(
    faulty_system: FaultySystem, reports
):
    def stop_the_broker(system: FaultySystem, load: Load) -> None:
        load.wait_for(int(REPORTS * 0.25))
        rabbitmqctl("stop_app")
        try:
            time.sleep(5)
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        # registry and tracking exit when a reply cannot be sent; the orchestrator (Kubernetes,
        # or `make run`'s supervisor) starts them again, and so does this test.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            system.supervisor.revive()
            time.sleep(1)

    run = run_under_fault(faulty_system, reports, stop_the_broker)
    check_recovered(faulty_system, run)


def test_the_database_restarted_mid_load_loses_and_double_counts_nothing(
    faulty_system: FaultySystem, reports
):
    def restart_the_database(system: FaultySystem, load: Load) -> None:
        load.wait_for(int(REPORTS * 0.25))
        try:
            pg_ctlcluster("restart")
        finally:
            if not postgres_online():
                pg_ctlcluster("start")

    run = run_under_fault(faulty_system, reports, restart_the_database)
    check_recovered(faulty_system, run)


def test_a_consumer_stopped_until_the_load_is_in_catches_up_exactly_once(
    faulty_system: FaultySystem, reports
):
    def stop_scoring_until_everything_is_answered(system: FaultySystem, load: Load) -> None:
        load.wait_for(int(REPORTS * 0.1))
        system.pause("scoring")
        try:
            load.join()
        finally:
            system.resume("scoring")

    run = run_under_fault(faulty_system, reports, stop_scoring_until_everything_is_answered)
    check_recovered(faulty_system, run)


def test_replicas_share_the_load_drain_on_sigterm_and_a_standby_takes_over(
    faulty_system: FaultySystem, reports
):
    """Two replicas of every process, two gateways taking the senders; mid-load a rolling
    restart (SIGTERM, as Kubernetes stops a pod) of tracking, registry and a gateway, and the
    active scoring and notify killed: their standbys take over the queues (single active
    consumer), notify's also its timers (the lease), and answer the publication."""
    system = faulty_system
    second_gateway = f"127.0.0.1:{free_port()}"
    for service in NAMEKO_SERVICES:
        system.add_replica(service)
    system.add_replica("gateway", GATEWAY_ADDRESS=second_gateway)
    wait_for_gateway(second_gateway, system.supervisor)
    scorings = [consumer_queue("scoring", u).name for u in ("registry", "tracking")]
    wait_for_consumers(system, dict.fromkeys([f"rpc-{s}" for s in NAMEKO_SERVICES] + scorings, 2))
    exits: dict[str, int] = {}

    def rolling_restart_and_failover(system: FaultySystem, load: Load) -> None:
        for share, name in ((0.15, "tracking"), (0.3, "registry"), (0.45, "gateway-2")):
            load.wait_for(int(REPORTS * share))
            exits[name] = system.terminate(name)  # drains; its twin carries the load meanwhile
            system.restart(name)
        load.wait_for(int(REPORTS * 0.6))
        system.kill("scoring")  # started first: the active consumer of scoring's queues
        system.kill("notify")  # likewise; notify-2 writes the circular and sends the notices

    run = run_under_fault(
        system, reports, rolling_restart_and_failover, targets=[system.target, second_gateway]
    )

    assert exits == {"tracking": 0, "registry": 0, "gateway-2": 0}, exits  # drained, not killed
    assert system.process("scoring").poll() is not None
    assert system.process("notify").poll() is not None
    wait_until_consumed(system, scorings)  # by scoring-2 alone: the standby took over
    check_recovered(system, run)
