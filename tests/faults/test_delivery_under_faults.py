"""Nothing accepted is lost or counted twice when processes die, the broker or the database
restarts, or a consumer falls far behind (DESIGN §5, issue 5) — each with 50,000 reports in
flight from concurrent senders that resend what was not answered.

Each test takes a minute or two; `pytest -m "not faults"` leaves them out.
"""

from __future__ import annotations

import time

import pytest

from services.loadgen import generate_load
from tests.faults.conftest import (
    FaultySystem,
    pg_ctlcluster,
    postgres_online,
    rabbitmqctl,
)
from tests.faults.harness import Load, check_recovered, run_under_fault

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
