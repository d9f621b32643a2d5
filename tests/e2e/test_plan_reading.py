"""The plan as it says, through the public API of the running system: local key projects
designated (二), the 附件4 organisations reporting their own items, 赴省外 against 外出
((二十一), (二十二)), industries outside 附件2, and leaders' duties known from the data (附件3
tasks 8–11, 拉练 sites). One running system for the module; each test names its own units.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    codes,
    proposal,
    publish,
    report,
    running_system,
    the_error,
    unique,
)
from tests.e2e.test_lifecycle_leaders_and_units import appoint, trip

YICHANG, XILING = "420500", "420502"  # 宜昌市 and its county-level 西陵区
ENSHI, XIANNING, HUANGGANG = "422800", "421200", "421100"
RAILWAY = "org:wuhan_railway"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("plan")) as running:
        yield running


def designation(code: str, source: str, unit: str, undo: bool = False) -> dict:
    if undo:
        return report(
            "project.undesignated", source, project_code=code, unit=unit, reason="调整清单"
        )
    return report("project.designated", source, project_code=code, unit=unit)


def test_local_key_projects_are_the_ones_each_government_designates(system):
    key, small = unique("YC-KEY"), unique("YC-SMALL")
    pref, county = f"pref:{YICHANG}", f"county:{XILING}"
    accepted(system, pref, proposal(key, pref, XILING), proposal(small, pref, XILING, total="3"))

    with system.client() as office:
        assert key in codes(office.list_projects())  # the province's: its key projects
        assert small not in codes(office.list_projects())
        assert not {key, small} & codes(office.list_projects(region=YICHANG))
        assert {key, small} <= codes(office.list_projects(region=YICHANG, register=True))

    accepted(system, pref, designation(small, pref, YICHANG))
    accepted(system, county, designation(small, county, XILING), designation(key, county, XILING))
    [twice] = publish(system, pref, designation(small, pref, YICHANG))
    [department] = publish(system, "dept:jingxin", designation(key, "dept:jingxin", YICHANG))
    accepted(system, pref, designation(small, pref, XILING, undo=True))  # for its county

    assert the_error(twice)["rule"] == "already_designated"
    assert the_error(department)["rule"] == "outside_jurisdiction"
    with system.client() as office:
        yichang = office.list_projects("promotion", region=YICHANG)
        xiling = office.list_projects(region=XILING)
    assert small in codes(yichang) and key not in codes(yichang)
    assert yichang["title"] == "宜昌市招商引资重点项目推介清单"
    assert key in codes(xiling) and small not in codes(xiling)


def test_the_railway_reports_its_own_items_and_reads_them(system):
    progress = report(
        "matter.progress_reported",
        RAILWAY,
        "2020-11-20",
        matter_id="advisory-13",
        unit=RAILWAY,
        progress="多式联运标准化提单方案已报送",
        status="done",
    )
    accepted(system, RAILWAY, progress)
    [other_item] = publish(
        system,
        RAILWAY,
        report(
            "matter.progress_reported",
            RAILWAY,
            matter_id="guangdong-01",
            unit=RAILWAY,
            progress="无",
            status="done",
        ),
    )
    assert the_error(other_item)["rule"] == "matter_not_owed"
    with system.client(RAILWAY) as railway:
        rows = railway.matter_status(RAILWAY, "advisory-13", "2020-12-01")["matters"]
    assert [(r["unit"], r["status"]) for r in rows] == [(RAILWAY, "done")]


def test_a_government_leader_goes_out_of_hubei_a_department_leader_goes_out(system):
    mayor, head = unique("ES-principal"), unique("JX-head")
    pref = f"pref:{ENSHI}"
    accepted(system, pref, appoint(mayor, ENSHI, "principal"))
    accepted(system, "dept:jingxin", appoint(head, "dept:jingxin", "department_head"))

    refused = publish(
        system,
        pref,
        trip(mayor, pref, "2020-08-03", "2020-08-03", to="武汉市东湖高新区"),
        trip(mayor, pref, "2020-08-05", "2020-08-05", to="Wuhan, Hubei"),
        trip(mayor, pref, "2020-08-07", "2020-08-07", to="宜昌"),
    )
    accepted(
        system, "dept:jingxin", trip(head, "dept:jingxin", "2020-08-03", "2020-08-03", to="恩施")
    )

    for outcome in refused:
        error = the_error(outcome)
        assert (error["field"], error["rule"]) == ("payload.destination", "destination_in_hubei")
        assert "（二十一）" in error["message_zh"]


def test_a_food_project_outside_attachment_2_is_reported(system):
    code, pref = unique("XN-FOOD"), f"pref:{XIANNING}"

    accepted(system, pref, proposal(code, pref, XIANNING, total="1.2", industry="gbt4754-14"))

    with system.client() as office:
        [row] = [
            r
            for r in office.list_projects(region=XIANNING, register=True)["projects"]
            if r["project_code"] == code
        ]
    assert (row["industry_name"], row["departments"]) == ("食品制造业", [])


def test_leaders_duties_are_shown_done_from_the_data_and_a_producing_project_is_a_site(system):
    mayor, plant = unique("HG-principal"), unique("HG-PLANT")
    pref = f"pref:{HUANGGANG}"
    accepted(
        system,
        pref,
        appoint(mayor, HUANGGANG, "principal"),
        trip(mayor, pref, "2020-05-10", "2020-05-10", to="上海市"),
        trip(mayor, pref, "2020-09-12", "2020-09-12", to="广东省深圳市"),
        proposal(plant, pref, HUANGGANG, total="30", planned_by_leader=mayor),
        report("project.signed", pref, "2020-08-01", project_code=plant, contract_investment="30"),
    )
    accepted(
        system,
        pref,
        report(
            "project.construction_started",
            pref,
            "2020-08-20",
            project_code=plant,
            kind="construction",
        ),
        report("project.production_started", pref, "2020-11-30", project_code=plant),
    )

    with system.client() as office:
        tasks = office.task_status(HUANGGANG, as_of="2021-01-10")["tasks"]
        progress = office.leader_progress(HUANGGANG, year=2020)
    status = {row["task_id"]: (row["status"], row["done_on"], row["known_from"]) for row in tasks}
    assert status["local_leader_trips"] == ("done", "2020-09-12", "data")
    assert status["local_leader_projects"] == ("done", "2020-08-01", "data")
    assert status["set_up_leading_group"][0] == "overdue"  # reported only: none was
    [site] = progress["lalian_sites"]
    assert (site["leader_id"], site["project_code"], site["production_started_on"]) == (
        mayor,
        plant,
        "2020-11-30",
    )
