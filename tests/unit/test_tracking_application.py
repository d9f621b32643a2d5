"""Tracking as senders and the office use it, in memory: milestones of (十九) and the office's
checks of them, leaders' trips against their quota ((二十一), (二十二)), themed promotion events
(三), 附件3 tasks and 附件4 matters, and who may report what.

Registry's answer for a run of reports (the projects' and leaders' states) is a hand-written
fake, `RegistryStates`, passed as the run's `context` as the tracking service passes it.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.report import validate_report
from services.tracking.application import TrackingApplication
from services.tracking.domain import LeaderTrips

TODAY = date(2020, 12, 31)
WUHAN, JIANG_AN, HUANGSHI = "420100", "420102", "420200"  # 江岸区 is a county of 武汉市
SHENNONGJIA = "429021"  # (二十一): its government has no trip quota
CHIP_PLANT = "WH-2020-001"
HUAWEI_CREDIT_CODE = "914403001922038216"


class RegistryStates:
    """What registry answers tracking about projects and leaders, kept by hand."""

    def __init__(self) -> None:
        self.projects: dict[str, dict] = {}
        self.leaders: dict[str, dict] = {}

    def project(self, code: str = CHIP_PLANT, region: str = JIANG_AN, **state: Any) -> None:
        self.projects[code] = {
            "project_code": code,
            "region": region,
            "industry": "integrated_circuit",
            "stage": "signed",
            "withdrawn": False,
            "total_investment": "25.5",
            **state,
        }

    def leader(self, leader_id: str, unit: str, role: str = "principal") -> dict:
        self.leaders[leader_id] = {
            "leader_id": leader_id,
            "name": "李四",
            "unit": unit,
            "role": role,
            "prefecture": None if unit.startswith("dept:") else unit,
        }
        return self.leaders[leader_id]

    def context(self) -> dict:
        return {"projects": dict(self.projects), "leaders": dict(self.leaders)}


class Tracking:
    """Tracking on an in-memory store, spoken to as a sending system speaks to it."""

    def __init__(self) -> None:
        self.app = TrackingApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.registry = RegistryStates()

    def send(
        self, type_: str, source: str = f"pref:{WUHAN}", on: str = "2020-09-10", **payload: Any
    ) -> dict:
        """The outcome of one report, with the broken rule's name (if any) as `rule`."""
        event_id = str(uuid.uuid4())
        raw = {
            "event_id": event_id,
            "type": type_,
            "source": source,
            "occurred_on": on,
            "schema_version": 1,
            "payload": payload,
        }
        report = validate_report(raw, today=TODAY)
        (outcome,) = self.app.ingest([report], self.registry.context())
        errors = outcome["errors"]
        return {**outcome, "rule": errors[0]["rule"] if errors else None}

    def milestone(self, type_: str, code: str = CHIP_PLANT, **payload: Any) -> dict:
        return self.send(type_, project_code=code, **payload)

    def register(self, code: str = CHIP_PLANT, **kw: Any) -> dict:
        payload = {"credit_code": HUAWEI_CREDIT_CODE, "company_name": "长江存储二期有限公司"}
        return self.milestone("project.company_registered", code, **payload, **kw)

    def capital(self, amount: str, code: str = CHIP_PLANT) -> dict:
        return self.milestone("project.capital_arrived", code, amount=amount)

    def check(self, type_: str, milestone: dict, source: str = "office", **payload: Any) -> dict:
        return self.send(type_, source, milestone_event_id=milestone["event_id"], **payload)

    def views(self, code: str = CHIP_PLANT) -> dict:
        return self.app.milestones(code, Decimal("25.5"))["views"]

    def trip(
        self,
        leader_id: str,
        departed: str,
        returned: str,
        source: str = "",
        destination: str = "广东省深圳市",
    ) -> dict:
        unit = self.registry.leaders.get(leader_id, {}).get("unit", WUHAN)
        return self.send(
            "leader.trip_completed",
            source or (unit if unit.startswith("dept:") else f"pref:{unit}"),
            on=returned,
            leader_id=leader_id,
            destination=destination,
            departed_on=departed,
            returned_on=returned,
            companies_met=["华为技术有限公司"],
        )


@pytest.fixture
def tracking() -> Tracking:
    world = Tracking()
    world.registry.project()
    return world


# Milestones (十九) ---------------------------------------------------------------------------


def test_a_milestone_of_a_project_registry_does_not_know_is_refused(tracking):
    outcome = tracking.register("WH-404")

    assert (outcome["status"], outcome["rule"]) == ("rejected", "unknown_project")


def test_construction_and_capital_wait_for_signing_but_a_company_may_register_before(tracking):
    tracking.registry.project(stage="tracking")

    start = tracking.milestone("project.construction_started", kind="construction")
    assert (start["rule"], tracking.capital("3")["rule"]) == ("before_signing",) * 2
    assert tracking.register()["status"] == "accepted"


def test_a_withdrawn_project_takes_no_more_milestones(tracking):
    tracking.registry.project(withdrawn=True)

    assert tracking.capital("3")["rule"] == "project_withdrawn"


def test_a_company_registers_once_unless_the_first_report_is_retracted(tracking):
    first = tracking.register()
    assert tracking.register()["rule"] == "already_registered"

    tracking.check("milestone.retracted", first, f"pref:{WUHAN}", reason="重复报送")

    assert tracking.register()["status"] == "accepted"


def test_production_cannot_be_reported_before_a_construction_start(tracking):
    production = tracking.milestone("project.production_started")
    assert production["rule"] == "production_before_construction"
    tracking.milestone("project.construction_started", kind="construction")

    assert tracking.milestone("project.production_started")["status"] == "accepted"


def test_capital_arrivals_accumulate_and_beyond_the_total_investment_are_flagged_not_refused(
    tracking,
):
    tracking.capital("10")
    tracking.capital("10.5")
    over = tracking.capital("6")

    assert over["status"] == "accepted"
    record = tracking.app.milestones(CHIP_PLANT, Decimal("25.5"))
    assert [m["cumulative"]["provisional"] for m in record["milestones"]] == [
        Decimal("10"),
        Decimal("20.5"),
        Decimal("26.5"),
    ]
    assert record["views"]["provisional"]["over_total_investment"] is True
    assert record["flagged_for_review"] == [over["event_id"]]


def test_the_official_view_counts_only_what_the_office_verified(tracking):
    verified = tracking.capital("10")
    tracking.capital("5")
    tracking.register()

    tracking.check("milestone.verified", verified)

    views = tracking.views()
    assert views["official"]["capital_arrived"] == Decimal("10")
    assert views["official"]["registered"] is False
    assert views["provisional"]["capital_arrived"] == Decimal("15")
    assert views["provisional"]["registered"] is True


def test_a_rejected_report_counts_in_neither_view_and_keeps_the_offices_reason(tracking):
    rejected = tracking.capital("10")

    tracking.check("milestone.rejected", rejected, reason="到资凭证不全")

    views = tracking.views()
    assert views["official"]["capital_arrived"] == views["provisional"]["capital_arrived"] == 0
    (row,) = tracking.app.milestones(CHIP_PLANT, None)["milestones"]
    assert (row["status"], row["checks"][0]["reason"]) == ("rejected", "到资凭证不全")


def test_a_prefecture_may_not_check_its_own_report_only_the_office_may(tracking):
    """甄别 (十九): the office checks; a 市州 reviews its counties' reports first, never its own."""
    report = tracking.capital("10")

    outcome = tracking.check("milestone.verified", report, f"pref:{WUHAN}")

    assert outcome["rule"] == "review_own_counties_only"
    assert tracking.views()["official"]["capital_arrived"] == 0
    assert [r["rule"] for r in tracking.app.refusals(f"pref:{WUHAN}")] == [
        "review_own_counties_only"
    ]


def test_a_check_or_retraction_must_name_an_earlier_milestone_report(tracking):
    unknown = {"event_id": str(uuid.uuid4())}

    verified = tracking.check("milestone.verified", unknown)
    retracted = tracking.check("milestone.retracted", unknown, reason="误报")
    assert (verified["rule"], retracted["rule"]) == ("unknown_milestone",) * 2


def test_only_the_sender_or_the_office_may_retract_a_report(tracking):
    report = tracking.capital("10")

    outcome = tracking.check("milestone.retracted", report, f"county:{JIANG_AN}", reason="误报")

    assert outcome["rule"] == "retract_own_reports_only"
    by_office = tracking.check("milestone.retracted", report, "office", reason="误报")
    assert by_office["status"] == "accepted"


def test_a_retracted_report_can_be_neither_verified_nor_retracted_again(tracking):
    report = tracking.capital("10")
    tracking.check("milestone.retracted", report, f"pref:{WUHAN}", reason="重复报送")

    verified = tracking.check("milestone.verified", report)
    retracted = tracking.check("milestone.retracted", report, reason="再撤")
    assert (verified["rule"], retracted["rule"]) == ("milestone_retracted",) * 2


def test_a_prefecture_may_not_report_milestones_of_another_prefectures_project(tracking):
    tracking.registry.project("HS-1", region=HUANGSHI)

    outcome = tracking.register("HS-1")

    assert (outcome["status"], outcome["rule"]) == ("rejected", "outside_jurisdiction")
    assert tracking.app.milestones("HS-1", None)["milestones"] == []


# Leaders' trips ((二十一), (二十二)) -------------------------------------------------------------


def test_trips_count_against_each_leaders_quota_and_their_units(tracking):
    mayor = tracking.registry.leader("wuhan-mayor", WUHAN, "principal")  # 2 a year
    deputy = tracking.registry.leader("wuhan-deputy", WUHAN, "investment_lead")  # 6 a year
    tracking.trip("wuhan-mayor", "2020-03-01", "2020-03-03")
    tracking.trip("wuhan-mayor", "2020-05-01", "2020-05-02")
    tracking.trip("wuhan-deputy", "2020-05-01", "2020-05-02")

    progress = tracking.app.leader_progress([mayor, deputy], 2020)

    met = {
        row["leader_id"]: (row["trips"], row["quota"], row["met"]) for row in progress["leaders"]
    }
    assert met == {"wuhan-mayor": (2, 2, True), "wuhan-deputy": (1, 6, False)}
    (unit,) = progress["units"]
    assert (unit["unit"], unit["trips"], unit["quota"], unit["met"]) == (WUHAN, 3, 8, False)


def test_trips_of_another_year_do_not_count(tracking):
    mayor = tracking.registry.leader("wuhan-mayor", WUHAN)
    tracking.trip("wuhan-mayor", "2020-03-01", "2020-03-03")

    (row,) = tracking.app.leader_progress([mayor], 2021)["leaders"]

    assert row["trips"] == 0


def test_shennongjia_government_leaders_have_no_trip_quota(tracking):
    leader = tracking.registry.leader("snj-head", SHENNONGJIA)

    (row,) = tracking.app.leader_progress([leader], 2020)["leaders"]

    assert (row["exempt"], row["quota"], row["met"]) == (True, None, False)


def test_a_trip_overlapping_an_earlier_one_of_the_same_leader_is_refused(tracking):
    tracking.registry.leader("wuhan-mayor", WUHAN)
    tracking.trip("wuhan-mayor", "2020-03-01", "2020-03-05")

    assert tracking.trip("wuhan-mayor", "2020-03-05", "2020-03-06")["rule"] == "overlapping_trip"
    assert tracking.trip("wuhan-mayor", "2020-03-06", "2020-03-07")["status"] == "accepted"


def test_a_trip_of_an_unknown_leader_or_of_another_units_leader_is_refused(tracking):
    tracking.registry.leader("huangshi-mayor", HUANGSHI)

    unknown = tracking.trip("nobody", "2020-03-01", "2020-03-02")
    others = tracking.trip("huangshi-mayor", "2020-03-01", "2020-03-02", f"pref:{WUHAN}")
    assert (unknown["rule"], others["rule"]) == ("unknown_leader", "outside_jurisdiction")


def test_a_trip_inside_hubei_does_not_count_toward_the_quota():
    trips = LeaderTrips(leader_id="wuhan-mayor")
    envelope = {"event_id": "e1", "source": f"pref:{WUHAN}", "occurred_on": date(2020, 3, 2)}
    start, end = date(2020, 3, 1), date(2020, 3, 2)

    with pytest.raises(RuleBroken, match="inside Hubei") as refused:
        trips.complete_trip("宜昌", start, end, [], hubei_place="宜昌市", **envelope)

    assert refused.value.rule == "destination_in_hubei"
    assert trips.trips == []


# Themed promotion events (三), tasks (附件3), matters (附件4) ----------------------------------


def test_only_themed_events_in_the_three_key_regions_count_toward_the_minimum(tracking):
    for region in ("greater_bay_area", "other"):
        tracking.send("promotion.event_held", unit=WUHAN, target_region=region, title="推介会")

    (wuhan,) = tracking.app.promotion_events(WUHAN)["prefectures"]
    assert (wuhan["in_key_regions"], wuhan["met"]) == (1, False)

    tracking.send("promotion.event_held", unit=WUHAN, target_region="yangtze_delta", title="推介会")

    (wuhan,) = tracking.app.promotion_events(WUHAN)["prefectures"]
    assert (wuhan["in_key_regions"], wuhan["met"]) == (2, True)


def test_a_task_is_done_on_time_done_late_due_or_overdue(tracking):
    # set_up_leading_group: every 市州 and county, by the end of June 2020.
    tracking.send("task.completed", on="2020-06-20", task_id="set_up_leading_group", unit=WUHAN)
    tracking.send("task.completed", on="2020-07-02", task_id="set_up_leading_group", unit=JIANG_AN)

    def status(unit: str, as_of: date) -> str:
        (row,) = tracking.app.task_status(as_of, unit, "set_up_leading_group")["tasks"]
        return row["status"]

    assert status(WUHAN, date(2020, 9, 1)) == "done"
    assert status(JIANG_AN, date(2020, 9, 1)) == "done_late"
    assert status(HUANGSHI, date(2020, 6, 1)) == "due"
    assert status(HUANGSHI, date(2020, 7, 1)) == "overdue"


def test_a_task_is_reported_done_once_and_only_by_a_unit_that_owes_it(tracking):
    tracking.send("task.completed", task_id="set_up_leading_group", unit=WUHAN)

    again = tracking.send("task.completed", task_id="set_up_leading_group", unit=WUHAN)
    not_owed = tracking.send(
        "task.completed", "dept:jingxin", task_id="set_up_leading_group", unit="dept:jingxin"
    )

    assert (again["rule"], not_owed["rule"]) == ("task_already_completed", "task_not_owed")


def test_a_unit_reports_tasks_for_itself_and_its_counties_only(tracking):
    outcome = tracking.send("task.completed", task_id="set_up_leading_group", unit=HUANGSHI)

    assert outcome["rule"] == "outside_jurisdiction"


def test_a_matter_shows_its_latest_progress_and_only_its_responsible_units_report_it(tracking):
    # guangdong-01 names 省发改委 and 省经信厅.
    progress = {"matter_id": "guangdong-01", "unit": "dept:fagai"}
    tracking.send(
        "matter.progress_reported",
        "dept:fagai",
        **progress,
        progress="已召开协调会",
        status="in_progress",
    )
    tracking.send(
        "matter.progress_reported", "dept:fagai", **progress, progress="已落实", status="done"
    )
    refused = tracking.send(
        "matter.progress_reported",
        "dept:keji",
        matter_id="guangdong-01",
        unit="dept:keji",
        progress="已对接",
        status="in_progress",
    )

    rows = tracking.app.matter_status(date(2020, 12, 1), matter_id="guangdong-01")["matters"]
    by_unit = {row["unit"]: (row["status"], row["reports"]) for row in rows}
    assert by_unit == {"dept:fagai": ("done", 2), "dept:jingxin": ("not_reported", 0)}
    assert refused["rule"] == "matter_not_owed"
