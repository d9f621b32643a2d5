"""Who may report what (docs/CONTRACT.md "Who may send what"), through the public API: each system
speaks under its own credentials (an API key over gRPC, its RabbitMQ user over AMQP) for its own
jurisdiction; what it may not say is refused, recorded as a refusal the office can list, and never
applied."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.credentials import publish_over_amqp
from tests.e2e.lifecycle import (
    accepted,
    credit_code,
    proposal,
    publish,
    report,
    running_system,
    the_error,
    unique,
)

WUHAN, YICHANG, OFFICE = "pref:420100", "pref:420500", "office"
HONGSHAN, JIANGAN, YILING = "420111", "420102", "420506"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("jurisdiction")) as running:
        yield running


def refused_ids(system: RunningSystem, as_source: str = OFFICE, source: str = "") -> set[str]:
    with system.client(as_source) as client:
        return {r["event_id"] for r in client.refusals(source)["refusals"]}


def test_a_prefecture_reports_on_its_area_and_counties_a_county_on_its_own(system):
    code = unique("WH")
    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN))
    [other_prefecture] = publish(
        system,
        YICHANG,
        report("project.signed", YICHANG, project_code=code, contract_investment="25"),
    )
    [other_area] = publish(system, YICHANG, proposal(unique("WH"), YICHANG, HONGSHAN))
    error = the_error(other_prefecture)
    assert (error["field"], error["value"], error["rule"]) == (
        "payload.project_code",
        code,
        "outside_jurisdiction",
    )
    assert YICHANG in error["message_zh"] and YICHANG in error["message_en"]
    assert the_error(other_area)["field"] == "payload.region"

    accepted(
        system,
        "county:420111",
        report("project.tracking_started", "county:420111", project_code=code),
    )
    [neighbour] = publish(
        system,
        "county:420102",
        report("project.signed", "county:420102", project_code=code, contract_investment="5"),
    )
    assert the_error(neighbour)["rule"] == "outside_jurisdiction"

    with system.client() as office:
        project = office.get_project(code)
    assert (project["stage"], project["contract_investment"]) == ("tracking", None)  # not applied
    assert {other_prefecture["event_id"], other_area["event_id"], neighbour["event_id"]} <= (
        refused_ids(system)
    )


def test_a_department_reports_on_the_projects_of_the_industries_it_leads(system):
    chips, cars = unique("JX"), unique("CAR")
    accepted(system, "dept:jingxin", proposal(chips, "dept:jingxin", YILING))  # 新一代信息技术
    [not_its_industry] = publish(
        system, "dept:jingxin", proposal(cars, "dept:jingxin", YILING, industry="automotive")
    )
    [other_department] = publish(
        system,
        "dept:fagai",
        report("project.withdrawn", "dept:fagai", project_code=chips, reason="-"),
    )
    assert the_error(not_its_industry)["rule"] == "outside_jurisdiction"
    assert the_error(other_department)["rule"] == "outside_jurisdiction"
    # The prefecture where it is located may report on it too.
    accepted(system, YICHANG, report("project.tracking_started", YICHANG, project_code=chips))


def test_verification_and_rejection_come_from_the_office_alone_retraction_from_the_sender(system):
    code = unique("CHK")
    accepted(
        system,
        WUHAN,
        proposal(code, WUHAN, HONGSHAN),
        report(
            "project.company_registered",
            WUHAN,
            project_code=code,
            credit_code=credit_code(),
            company_name="某科技有限公司",
        ),
    )
    with system.client() as office:
        [registered] = [e["event_id"] for e in office.history(code) if e["service"] == "tracking"]
    verify = report("milestone.verified", WUHAN, "2020-07-05", milestone_event_id=registered)
    reject = report(
        "milestone.rejected", WUHAN, "2020-07-05", milestone_event_id=registered, reason="-"
    )
    own_verification, own_rejection = publish(system, WUHAN, verify, reject)
    [county_retraction] = publish(
        system,
        "county:420111",
        report(
            "milestone.retracted",
            "county:420111",
            "2020-07-05",
            milestone_event_id=registered,
            reason="-",
        ),
    )
    # 甄别 (十九): a 市州 reviews its counties' reports first, never its own.
    assert [the_error(o)["rule"] for o in (own_verification, own_rejection)] == [
        "review_own_counties_only",
        "review_own_counties_only",
    ]
    assert the_error(county_retraction)["rule"] == "retract_own_reports_only"
    accepted(
        system,
        OFFICE,
        report("milestone.verified", OFFICE, "2020-07-06", milestone_event_id=registered),
    )
    assert {own_verification["event_id"], county_retraction["event_id"]} <= refused_ids(system)

    policy = report(
        "policy.adopted", WUHAN, version="x", effective_from="2020Q3", policy={"weights": {}}
    )
    [adopted] = publish(system, WUHAN, policy)
    assert the_error(adopted)["rule"] == "office_only"
    with system.client(WUHAN) as client, pytest.raises(grpc.RpcError) as denied:
        client.publish_ranking("2020Q3")
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_leaders_trips_tasks_and_events_are_reported_by_their_own_unit(system):
    leader = unique("WH-lead")
    appoint = report(
        "leader.appointed",
        WUHAN,
        leader_id=leader,
        name="李华",
        unit="420100",
        role="investment_lead",
    )
    accepted(system, WUHAN, appoint)
    refused = publish(
        system,
        YICHANG,
        report(
            "leader.appointed",
            YICHANG,
            leader_id=unique("x"),
            name="王",
            unit="420100",
            role="other",
        ),
        report(
            "leader.appointed", YICHANG, leader_id=leader, name="李华", unit="420500", role="other"
        ),
        report(
            "leader.trip_completed",
            YICHANG,
            "2020-07-09",
            leader_id=leader,
            destination="北京市",
            departed_on="2020-07-07",
            returned_on="2020-07-09",
            companies_met=[],
        ),
        report("task.completed", YICHANG, task_id="set_up_leading_group", unit="420100"),
    )
    assert [(the_error(o)["field"], the_error(o)["rule"]) for o in refused] == [
        ("payload.unit", "outside_jurisdiction"),
        ("payload.leader_id", "outside_jurisdiction"),  # another unit's leader
        ("payload.leader_id", "outside_jurisdiction"),
        ("payload.unit", "outside_jurisdiction"),
    ]
    [county_event] = publish(
        system,
        "county:420111",
        report(
            "promotion.event_held",
            "county:420111",
            unit="420100",
            target_region="yangtze_delta",
            title="武汉（上海）推介会",
        ),
    )
    assert the_error(county_event)["rule"] == "outside_jurisdiction"
    with system.client() as office:
        [progress] = [
            x
            for x in office.leader_progress("420100", year=2020)["leaders"]
            if x["leader_id"] == leader
        ]
    assert (progress["unit"], progress["trips"]) == ("420100", 0)


def test_a_report_naming_another_sender_than_its_credentials_is_refused_and_recorded(system):
    code = unique("YC")
    [claimed] = publish(system, WUHAN, proposal(code, YICHANG, YILING))
    error = the_error(claimed)
    assert (error["field"], error["value"], error["rule"]) == (
        "source",
        YICHANG,
        "source_not_sender",
    )
    with system.client() as office:
        assert office.get_project(code) is None
        [refusal] = [
            r for r in office.refusals()["refusals"] if r["event_id"] == claimed["event_id"]
        ]
    assert (refusal["source"], refusal["sender"], refusal["service"]) == (
        YICHANG,
        WUHAN,
        "registry",
    )


def test_the_office_lists_every_refusal_and_a_sender_only_its_own(system):
    wuhan_code = unique("OWN")
    accepted(system, WUHAN, proposal(wuhan_code, WUHAN, HONGSHAN))
    [by_yichang] = publish(
        system, YICHANG, report("project.withdrawn", YICHANG, project_code=wuhan_code, reason="-")
    )
    [by_county] = publish(
        system,
        "county:420102",
        report("project.withdrawn", "county:420102", project_code=wuhan_code, reason="-"),
    )
    everything = refused_ids(system)
    assert {by_yichang["event_id"], by_county["event_id"]} <= everything
    yichang_sees = refused_ids(system, YICHANG)
    assert by_yichang["event_id"] in yichang_sees and by_county["event_id"] not in yichang_sees
    with pytest.raises(grpc.RpcError) as denied:  # another 市州's county: outside its scope
        refused_ids(system, YICHANG, source="county:420102")
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "[outside_read_scope]" in denied.value.details()
    assert refused_ids(system, OFFICE, source="county:420102") >= {by_county["event_id"]}
    assert by_yichang["event_id"] not in refused_ids(system, OFFICE, source="county:420102")


def test_over_amqp_the_message_user_id_names_the_sender(system):
    users = system.rabbit_users([WUHAN, YICHANG])
    code = unique("MQ")
    [own] = users.publish(WUHAN, [proposal(code, WUHAN, HONGSHAN)])
    assert own["status"] == "accepted"
    [outside] = users.publish(
        YICHANG, [report("project.tracking_started", YICHANG, project_code=code)]
    )
    assert the_error(outside)["rule"] == "outside_jurisdiction"
    [claimed] = users.publish(
        WUHAN, [report("project.tracking_started", YICHANG, project_code=code)]
    )
    assert the_error(claimed)["rule"] == "source_not_sender"

    anonymous = publish_over_amqp(
        system.env["AMQP_URI"],
        [report("project.tracking_started", WUHAN, project_code=code)] * 2,
    )
    assert [the_error(o)["rule"] for o in anonymous] == ["amqp_user_id_missing"] * 2
    [not_a_source] = publish_over_amqp(
        system.env["AMQP_URI"],
        [report("project.tracking_started", WUHAN, project_code=code)],
        user_id="guest",
    )
    error = the_error(not_a_source)
    assert (error["field"], error["value"], error["rule"]) == (
        "user_id",
        "guest",
        "amqp_user_not_a_source",
    )
    assert outside["event_id"] in refused_ids(system)
    with system.client() as office:
        assert office.get_project(code)["stage"] == "promotion"
