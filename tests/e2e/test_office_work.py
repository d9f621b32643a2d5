"""The office's own work through the running system (gRPC, each sender under its own key): the
甄别 review queue worked by a 市州 and the office (十九), targets (一), a summons with its
follow-up (十九) and the year's assessment with its rewards (十五). One system for the module.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from tests.e2e.conftest import RunningSystem
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

WUHAN, JIANG_AN, YICHANG = "420100", "420102", "420500"
PREF, COUNTY = f"pref:{WUHAN}", f"county:{JIANG_AN}"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("office")) as running:
        yield running


def refused(call, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == code, error.value.details()
    return error.value.details()


def test_a_review_queue_worked_by_the_prefecture_and_the_office(system):
    code, leader = unique("JA"), unique("wh-mayor")
    accepted(system, COUNTY, proposal(code, COUNTY, JIANG_AN, industry="automotive"))
    (registered,) = accepted(
        system,
        COUNTY,
        report(
            "project.company_registered",
            COUNTY,
            project_code=code,
            credit_code=credit_code(),
            company_name="江岸汽车零部件有限公司",
        ),
    )
    accepted(
        system,
        PREF,
        report(
            "leader.appointed", PREF, leader_id=leader, name="王五", unit=WUHAN, role="principal"
        ),
    )
    trip, event = accepted(
        system,
        PREF,
        report(
            "leader.trip_completed",
            PREF,
            leader_id=leader,
            destination="广东省深圳市",
            departed_on="2020-06-28",
            returned_on="2020-06-30",
            companies_met=["比亚迪股份有限公司"],
        ),
        report("promotion.event_held", PREF, unit=WUHAN, target_region="other", title="推介会"),
    )

    with system.client(PREF) as wuhan:
        queue = wuhan.awaiting_review(unit=WUHAN)
        assert [i["event_id"] for i in queue["items"]] == [registered, trip, event]
        assert queue["items"][0]["project"]["region"] == JIANG_AN
        assert queue["items"][1]["leader"]["leader_id"] == leader
        assert "outside_read_scope" in refused(
            lambda: wuhan.awaiting_review(unit=YICHANG), grpc.StatusCode.PERMISSION_DENIED
        )
        assert "office_or_auditor_only" in refused(
            wuhan.awaiting_review, grpc.StatusCode.PERMISSION_DENIED
        )
        assert "reviewed_type" in refused(
            lambda: wuhan.awaiting_review(report_type="project.proposed"),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    # 市审核: 武汉市 reviews its county's report; it stays open for the office.
    accepted(system, PREF, report("milestone.verified", PREF, milestone_event_id=registered))
    with system.client() as office:
        (first, *_) = office.awaiting_review(unit=WUHAN)["items"]
        assert first["review"]["levels"] == [
            {"level": "prefecture", "status": "verified"},
            {"level": "office", "status": "pending"},
        ]
        # 省复核: many at once, in one call.
        accepted(
            system,
            "office",
            report("milestone.verified", "office", milestone_event_id=registered),
            report("report.verified", "office", report_event_id=trip, leader_id=leader),
            report(
                "report.rejected", "office", report_event_id=event, unit=WUHAN, reason="非三大区域"
            ),
        )
        assert office.awaiting_review(unit=WUHAN)["items"] == []
        assert office.milestones(code)["views"]["official"]["registered"] is True


def test_targets_set_by_the_office_and_by_a_prefecture_for_its_counties(system):
    def target(source: str, unit: str, yearly: str) -> dict:
        payload = {"unit": unit, "year": "2020", "indicator": "registrations", "yearly": yearly}
        (outcome,) = publish(system, source, report("target.set", source, **payload))
        return outcome

    assert target("office", WUHAN, "40")["status"] == "accepted"
    assert target(PREF, JIANG_AN, "8")["status"] == "accepted"
    assert the_error(target(PREF, WUHAN, "80"))["rule"] == "targets_by_office_or_prefecture"
    with system.client(PREF) as wuhan:
        card = wuhan.get_scorecard("2020Q3", WUHAN, "provisional")
    assert [(t["indicator"], t["yearly_target"]) for t in card["targets"]] == [
        ("registrations", "40")
    ]


def test_a_summons_its_follow_up_and_the_years_assessment_and_rewards(system):
    with system.client() as office:
        summoned = office.publish_ranking("2020Q2")["summons"]
    bottom = summoned[0]
    commitments = [{"key": "c1", "text": "三季度新增亿元以上项目注册 3 个", "due": "2020-09-30"}]
    (held,) = accepted(
        system,
        "office",
        report(
            "summons.held",
            "office",
            on="2020-07-20",
            unit=bottom,
            quarter="2020Q2",
            held_on="2020-07-20",
            attendees=["副市长"],
            commitments=commitments,
        ),
    )
    progress = [{"commitment": "c1", "status": "in_progress", "text": "已注册 1 个"}]
    rectify = report(
        "rectification.reported",
        f"pref:{bottom}",
        on="2020-08-01",
        unit=bottom,
        summons_event_id=held,
        progress=progress,
    )
    accepted(system, f"pref:{bottom}", rectify)
    with system.client(f"pref:{bottom}") as unit:
        (open_one,) = unit.open_commitments(bottom)["commitments"]
        assert (open_one["key"], open_one["latest"]["text"]) == ("c1", "已注册 1 个")
        assert "office_or_auditor_only" in refused(
            lambda: unit.yearly_assessment("2020"), grpc.StatusCode.PERMISSION_DENIED
        )

    def decide(*units: str) -> dict:
        rewards = [{"unit": u, "reward_class": "一类"} for u in units]
        payload = {"year": "2020", "rewards": rewards, "basis": "经省财政厅会商"}
        (outcome,) = publish(system, "office", report("reward.decided", "office", **payload))
        return outcome

    assert the_error(decide(WUHAN, bottom))["rule"] == "summoned_this_year"
    assert decide(WUHAN)["status"] == "accepted"
    with system.client() as office:
        year = office.yearly_assessment("2020")
    by_unit = {u["region"]: u for u in year["units"]}
    assert (year["rule"], year["complete"]) == ("mean_of_quarters", False)
    assert by_unit[WUHAN]["reward_class"] == "一类"
    assert by_unit[bottom]["summoned_in_year"] and not by_unit[bottom]["may_be_rewarded"]
