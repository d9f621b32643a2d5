"""Leaders, their trips and planned projects ((二十一), (二十二)), themed promotion events (三),
附件3 tasks and 附件4 key matters, reported and read through the public API of the running
system."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    proposal,
    publish,
    report,
    running_system,
    the_error,
    unique,
)

# Each test reports for its own units: progress is read per unit.
XIANGYANG, JINGZHOU, SUIZHOU = "420600", "421000", "421300"
SHENNONGJIA, EZHOU, XIAOGAN = "429021", "420700", "420900"
JINGXIN = "dept:jingxin"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("units")) as running:
        yield running


def appoint(leader_id: str, unit: str, role: str) -> dict:
    source = unit if unit.startswith("dept:") else f"pref:{unit}"
    return report(
        "leader.appointed",
        source,
        "2020-07-01",
        leader_id=leader_id,
        name="张明",
        unit=unit,
        role=role,
    )


def trip(leader_id: str, source: str, departed: str, returned: str, to: str = "北京市") -> dict:
    return report(
        "leader.trip_completed",
        source,
        returned,
        leader_id=leader_id,
        destination=to,
        departed_on=departed,
        returned_on=returned,
        companies_met=["小米科技有限责任公司"],
    )


def by_id(progress: dict) -> dict[str, dict]:
    return {row["leader_id"]: row for row in progress["leaders"]}


def test_each_leaders_and_units_trips_count_against_the_yearly_quota(system):
    principal, lead = unique("XY-principal"), unique("XY-lead")
    exempt, head = unique("SNJ-principal"), unique("JX-head")
    pref = f"pref:{XIANGYANG}"
    accepted(
        system,
        pref,
        appoint(principal, XIANGYANG, "principal"),
        appoint(lead, XIANGYANG, "investment_lead"),
        trip(principal, pref, "2020-07-05", "2020-07-07"),
        trip(principal, pref, "2020-08-01", "2020-08-03", to="日本"),
        trip(lead, pref, "2020-07-05", "2020-07-08", to="广东省深圳市"),
    )
    accepted(
        system,
        f"pref:{SHENNONGJIA}",
        appoint(exempt, SHENNONGJIA, "principal"),
        trip(exempt, f"pref:{SHENNONGJIA}", "2020-07-10", "2020-07-12"),
    )
    accepted(
        system,
        JINGXIN,
        appoint(head, JINGXIN, "department_head"),
        trip(head, JINGXIN, "2020-07-10", "2020-07-12"),
    )

    with system.client() as office:
        xiangyang = office.leader_progress(XIANGYANG, year=2020)
        shennongjia = office.leader_progress(SHENNONGJIA, year=2020)
        departments = office.leader_progress(JINGXIN, year=2020)
        next_year = by_id(office.leader_progress(XIANGYANG, year=2021))
    leaders = by_id(xiangyang)
    assert (
        leaders[principal]["trips"],
        leaders[principal]["quota"],
        leaders[principal]["met"],
    ) == (
        2,
        2,
        True,
    )
    assert (leaders[lead]["trips"], leaders[lead]["quota"], leaders[lead]["met"]) == (1, 6, False)
    assert leaders[lead]["section"] == "(二十一)"
    [unit] = xiangyang["units"]
    assert (unit["leaders"], unit["trips"], unit["quota"], unit["met"]) == (2, 3, 8, False)
    # 神农架林区 is outside the quotas of (二十一); a department head owes 2 trips (二十二).
    [snj] = shennongjia["leaders"]
    assert (snj["trips"], snj["quota"], snj["exempt"]) == (1, None, True)
    [jx] = departments["leaders"]
    assert (jx["trips"], jx["quota"], jx["section"]) == (1, 2, "(二十二)")
    assert next_year[principal]["trips"] == 0


def test_a_trip_inside_hubei_overlapping_another_or_of_an_unknown_leader_is_refused(system):
    leader, pref = unique("JZ-other"), f"pref:{JINGZHOU}"
    accepted(
        system,
        pref,
        appoint(leader, JINGZHOU, "other"),
        trip(leader, pref, "2020-09-01", "2020-09-04"),
    )
    inside, overlapping, unknown = publish(
        system,
        pref,
        trip(leader, pref, "2020-09-10", "2020-09-11", to="湖北省宜昌市"),
        trip(leader, pref, "2020-09-03", "2020-09-06", to="上海市"),
        trip(unique("nobody"), pref, "2020-09-10", "2020-09-11"),
    )
    assert (the_error(inside)["field"], the_error(inside)["rule"]) == (
        "payload.destination",
        "destination_in_hubei",
    )
    assert the_error(overlapping)["rule"] == "overlapping_trip"
    assert the_error(unknown)["rule"] == "unknown_leader"


def test_the_major_project_each_leader_planned_is_linked_to_it(system):
    principal, other = unique("SZ-principal"), unique("SZ-other")
    major, villas = unique("MAJOR"), unique("VILLA")
    pref, zengdu = f"pref:{SUIZHOU}", "421303"  # 随州市, 曾都区
    accepted(
        system,
        pref,
        appoint(principal, SUIZHOU, "principal"),
        appoint(other, SUIZHOU, "other"),
        proposal(major, pref, zengdu, total="32", planned_by_leader=principal),
        proposal(
            villas, pref, zengdu, total="11", planned_by_leader=other, categories=["real_estate"]
        ),
    )
    [unknown] = publish(
        system, pref, proposal(unique("X"), pref, zengdu, planned_by_leader="nobody")
    )
    assert (the_error(unknown)["field"], the_error(unknown)["rule"]) == (
        "payload.planned_by_leader",
        "unknown_leader",
    )

    with system.client() as office:
        leaders = by_id(office.leader_progress(SUIZHOU, year=2020))
    [planned] = leaders[principal]["planned_projects"]
    assert (planned["project_code"], planned["total_investment"], planned["counts"]) == (
        major,
        "32",
        True,
    )
    assert leaders[principal]["planned_project_target"] == "30"  # about 30亿 (二十一)
    [excluded] = leaders[other]["planned_projects"]
    assert (excluded["project_code"], excluded["counts"]) == (villas, False)  # 房地产除外
    assert leaders[other]["planned_project_target"] == "10"


def test_themed_events_per_prefecture_count_against_the_minimum_of_two(system):
    pref = f"pref:{EZHOU}"

    def held(target: str, title: str) -> dict:
        return report("promotion.event_held", pref, unit=EZHOU, target_region=target, title=title)

    accepted(
        system,
        pref,
        held("greater_bay_area", "鄂州（深圳）招商引资推介会"),
        held("other", "鄂州（成都）产业对接会"),
    )
    with system.client() as office:
        [before] = office.promotion_events(EZHOU)["prefectures"]
        accepted(system, pref, held("yangtze_delta", "鄂州（上海）重点项目签约活动"))
        [after] = office.promotion_events(EZHOU)["prefectures"]
        everyone = office.promotion_events()
    assert (before["in_key_regions"], before["minimum"], before["met"]) == (1, 2, False)
    assert len(before["events"]) == 2
    assert (after["in_key_regions"], after["met"]) == (2, True)
    assert after["by_region"] == {
        "greater_bay_area": 1,
        "yangtze_delta": 1,
        "beijing_tianjin_hebei": 0,
    }
    assert len(everyone["prefectures"]) == 17


def test_attachment3_tasks_are_done_done_late_due_or_overdue_per_task_and_unit(system):
    pref = f"pref:{XIAOGAN}"

    def done(task_id: str, on: str, unit: str = XIAOGAN, source: str = pref) -> dict:
        return report("task.completed", source, on, task_id=task_id, unit=unit)

    accepted(
        system,
        pref,
        done("set_up_leading_group", "2020-06-20"),
        done("draft_action_plan", "2020-07-05"),
    )
    accepted(system, JINGXIN, done("draft_industry_guide", "2020-06-10", JINGXIN, JINGXIN))
    not_owed, twice = publish(
        system,
        pref,
        done("draft_industry_guide", "2020-06-10"),
        done("set_up_leading_group", "2020-06-21"),
    )
    assert the_error(not_owed)["rule"] == "task_not_owed"
    assert the_error(twice)["rule"] == "task_already_completed"

    with system.client() as office:
        mid_july = office.task_status(XIAOGAN, as_of="2020-07-15")
        august = office.task_status(
            XIAOGAN, task_id="propose_local_key_projects", as_of="2020-08-01"
        )
        department = office.task_status(JINGXIN, task_id="draft_industry_guide", as_of="2020-08-01")
    status = {row["task_id"]: row["status"] for row in mid_july["tasks"]}
    assert status["set_up_leading_group"] == "done"
    assert status["draft_action_plan"] == "done_late"  # due by the end of 2020-06
    assert status["propose_local_key_projects"] == "due"  # due by the end of 2020-07
    assert "draft_industry_guide" not in status  # a department's task (附件3)
    assert [row["status"] for row in august["tasks"]] == ["overdue"]
    assert [(r["unit"], r["status"]) for r in department["tasks"]] == [(JINGXIN, "done")]


def test_attachment4_matters_show_their_latest_progress_and_status(system):
    pref = f"pref:{EZHOU}"

    def progress(matter_id: str, status: str, on: str, text: str) -> dict:
        return report(
            "matter.progress_reported",
            pref,
            on,
            matter_id=matter_id,
            unit=EZHOU,
            progress=text,
            status=status,
        )

    accepted(
        system,
        pref,
        progress("guangdong-16", "in_progress", "2020-07-10", "已召开专题对接会"),
        progress("guangdong-16", "done", "2020-09-10", "项目已签约落地"),
    )
    [not_owed] = publish(system, pref, progress("guangdong-08", "done", "2020-09-10", "已完成"))
    assert the_error(not_owed)["rule"] == "matter_not_owed"

    with system.client() as office:
        status = office.matter_status(EZHOU, as_of="2021-01-05")
    rows = {row["matter_id"]: row for row in status["matters"]}
    assert (rows["guangdong-16"]["status"], rows["guangdong-16"]["reports"]) == ("done", 2)
    assert rows["guangdong-16"]["latest"]["progress"] == "项目已签约落地"
    assert rows["guangdong-16"]["overdue"] is False
    assert (rows["guangdong-21"]["status"], rows["guangdong-21"]["overdue"]) == (
        "not_reported",
        True,  # progress was due by 2020-12-31 (附件4)
    )
