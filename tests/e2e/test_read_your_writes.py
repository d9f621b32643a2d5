"""The report path without look-ups across services (docs/ARCHITECTURE.md "The report path"):
tracking judges reports by its own view of registry, kept from registry's events, and a batch
that registers a project and reports on it in one call is judged with the project known."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    credit_code,
    proposal,
    publish,
    report,
    running_system,
    statuses,
    unique,
)

WUHAN, HONGSHAN = "pref:420100", "420111"  # 武汉市, 洪山区


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("read_your_writes")) as running:
        yield running


def signing(code: str, on: str = "2020-07-10") -> dict:
    return report("project.signed", WUHAN, on, project_code=code, contract_investment="25")


def test_one_call_registers_a_project_and_a_leader_and_reports_on_them(system):
    code, mayor = unique("RYW"), unique("mayor")
    outcomes = publish(
        system,
        WUHAN,
        proposal(code, WUHAN, HONGSHAN),
        report(
            "leader.appointed", WUHAN, leader_id=mayor, name="李四", unit="420100", role="principal"
        ),
        signing(code),
        report(
            "project.construction_started",
            WUHAN,
            "2020-07-20",
            project_code=code,
            kind="construction",
        ),
        report("project.capital_arrived", WUHAN, "2020-07-21", project_code=code, amount="3.5"),
        report(
            "leader.trip_completed",
            WUHAN,
            "2020-07-03",
            leader_id=mayor,
            destination="广东省深圳市",
            departed_on="2020-07-01",
            returned_on="2020-07-03",
            companies_met=["华为技术有限公司"],
        ),
    )
    assert statuses(outcomes) == ["accepted"] * 6, outcomes
    with system.client(WUHAN) as client:
        milestones = client.milestones(code)
    assert milestones is not None and "3.5" in str(milestones)


def test_a_project_known_before_is_judged_as_registry_left_it_in_the_same_call(system):
    """Known to tracking already, unsigned: a signing and a construction start in one call are
    both accepted (tracking judges the start after the signing registry just applied)."""
    code = unique("RYW")
    company = report(
        "project.company_registered",
        WUHAN,
        "2020-06-05",
        project_code=code,
        credit_code=credit_code(),
        company_name="光谷芯片有限公司",
    )
    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN), company)
    start = report(
        "project.construction_started", WUHAN, "2020-07-20", project_code=code, kind="construction"
    )
    assert statuses(publish(system, WUHAN, signing(code), start)) == ["accepted", "accepted"]


def test_tracking_takes_reports_on_known_projects_while_registry_is_stopped(system):
    code = unique("RYW")
    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN), signing(code))
    capital = report("project.capital_arrived", WUHAN, "2020-07-21", project_code=code, amount="1")
    accepted(system, WUHAN, capital)  # tracking has heard of the signed project by now
    registry = system.supervisor.processes["registry"]
    registry.send_signal(signal.SIGSTOP)
    try:
        more = report("project.capital_arrived", WUHAN, "2020-07-22", project_code=code, amount="2")
        assert statuses(publish(system, WUHAN, more)) == ["accepted"]
    finally:
        registry.send_signal(signal.SIGCONT)
