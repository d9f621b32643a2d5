"""Derived duties: 附件3 tasks 8–11 (leaders' trips and major projects, (二十一)(二十二)) shown
done when the data says so, not only when reported; a 市州 leader's major project in production
is a 拉练 site (二十一). In memory: tracking, with registry's leaders (and the projects they
planned) written as registry answers them.
"""

from __future__ import annotations

from datetime import date

from tests.unit.test_tracking_application import HUANGSHI, JIANG_AN, WUHAN, Tracking

AFTER_DEADLINE = date(2021, 1, 10)


def planned(code: str, counts: bool = True, signed_on: str | None = "2020-08-01") -> dict:
    return {"project_code": code, "name": "重大产业项目", "counts": counts, "signed_on": signed_on}


def status(tracking: Tracking, task_id: str, unit: str, as_of: date = AFTER_DEADLINE) -> dict:
    leaders = list(tracking.registry.leaders.values())
    answer = tracking.app.task_status(as_of, unit, task_id, leaders)
    (row,) = answer["tasks"]
    return row


def test_local_leader_trips_are_done_once_every_government_leader_made_the_quota_21():
    tracking = Tracking()
    tracking.registry.leader("wh-principal", WUHAN, "principal")  # 2 trips a year
    tracking.registry.leader("wh-commerce", WUHAN, "department_head")  # a department's: apart
    tracking.trip("wh-principal", "2020-03-01", "2020-03-03")
    assert status(tracking, "local_leader_trips", WUHAN)["status"] == "overdue"

    tracking.trip("wh-principal", "2020-10-08", "2020-10-10")

    row = status(tracking, "local_leader_trips", WUHAN)
    assert (row["status"], row["done_on"], row["known_from"]) == (
        "done",
        date(2020, 10, 10),
        "data",
    )
    assert status(tracking, "local_leader_trips", WUHAN, date(2020, 10, 9))["status"] == "due"


def test_department_leader_trips_count_the_departments_own_leaders_22():
    tracking = Tracking()
    tracking.registry.leader("jx-head", "dept:jingxin", "department_head")  # 2 trips a year
    for day in ("05", "20"):
        tracking.trip("jx-head", f"2020-06-{day}", f"2020-06-{day}")

    row = status(tracking, "department_leader_trips", "dept:jingxin")

    assert (row["status"], row["done_on"]) == ("done", date(2020, 6, 20))


def test_a_unit_without_leaders_is_known_from_its_report_alone():
    tracking = Tracking()
    assert status(tracking, "local_leader_trips", HUANGSHI)["status"] == "overdue"

    tracking.send(
        "task.completed",
        f"pref:{HUANGSHI}",
        on="2020-12-20",
        task_id="local_leader_trips",
        unit=HUANGSHI,
    )

    row = status(tracking, "local_leader_trips", HUANGSHI)
    assert (row["status"], row["known_from"]) == ("done", "report")


def test_leader_projects_are_done_once_each_leaders_counting_major_project_is_signed_21():
    tracking = Tracking()
    mayor = tracking.registry.leader("wh-principal", WUHAN, "principal")
    deputy = tracking.registry.leader("wh-lead", WUHAN, "investment_lead")
    mayor["planned_projects"] = [planned("WH-MAJOR", signed_on="2020-09-01")]
    deputy["planned_projects"] = [planned("WH-HOMES", counts=False)]  # real estate
    assert status(tracking, "local_leader_projects", WUHAN)["status"] == "overdue"

    deputy["planned_projects"].append(planned("WH-PLANT", signed_on="2020-11-15"))

    row = status(tracking, "local_leader_projects", WUHAN)
    assert (row["status"], row["done_on"], row["known_from"]) == (
        "done",
        date(2020, 11, 15),
        "data",
    )


def test_a_prefecture_leaders_major_project_in_production_is_a_lalian_site_21():
    tracking = Tracking()
    tracking.registry.project("WH-MAJOR", region=WUHAN)
    tracking.registry.project("JA-MAJOR", region=JIANG_AN)
    mayor = tracking.registry.leader("wh-principal", WUHAN, "principal")
    county = tracking.registry.leader("ja-principal", JIANG_AN, "principal")
    mayor["planned_projects"] = [planned("WH-MAJOR")]
    county["planned_projects"] = [planned("JA-MAJOR")]
    for code in ("WH-MAJOR", "JA-MAJOR"):
        tracking.milestone("project.construction_started", code, kind="construction")
    progress = tracking.app.leader_progress(list(tracking.registry.leaders.values()), 2020)
    assert progress["lalian_sites"] == []

    for code in ("WH-MAJOR", "JA-MAJOR"):
        tracking.milestone("project.production_started", code)

    progress = tracking.app.leader_progress(list(tracking.registry.leaders.values()), 2020)
    assert [(s["leader_id"], s["project_code"]) for s in progress["lalian_sites"]] == [
        ("wh-principal", "WH-MAJOR")  # a county leader's project is not in the 市州's 拉练
    ]
    [site] = progress["lalian_sites"]
    assert site["production_started_on"] == date(2020, 9, 10)
