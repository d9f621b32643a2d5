"""甄别 (十九) as the office and the 市州 work it, in memory: the review queue of reports that count
for points (milestones, trips, themed events), the checks of trips and themed events
(report.verified / report.rejected), and the review levels 县填报 → 市审核 → 省复核."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kernel.reference import reference
from services.tracking import review
from tests.unit.test_tracking_application import JIANG_AN, WUHAN, Tracking

HUANGSHI = "420200"


@pytest.fixture
def tracking() -> Tracking:
    world = Tracking()
    world.registry.project()  # in 江岸区, a county of 武汉市
    world.registry.leader("wh-mayor", WUHAN)
    return world


def queue(tracking: Tracking, **filters) -> dict:
    reports = tracking.app.open_reports()
    registry = tracking.registry
    now = filters.pop("now", datetime.now(UTC))
    return review.queue(
        reports, registry.projects, registry.leaders, reference(), now=now, **filters
    )


def ids(answer: dict) -> list[str]:
    return [item["event_id"] for item in answer["items"]]


def themed_event(tracking: Tracking, unit: str = WUHAN) -> dict:
    return tracking.send(
        "promotion.event_held", unit=unit, target_region="greater_bay_area", title="推介会"
    )


def check(tracking: Tracking, type_: str, report: dict, source: str = "office", **payload):
    return tracking.send(type_, source, report_event_id=report["event_id"], **payload)


def test_the_queue_lists_open_milestones_trips_and_themed_events_oldest_first(tracking):
    capital = tracking.capital("10")
    trip = tracking.trip("wh-mayor", "2020-09-01", "2020-09-03")
    event = themed_event(tracking)

    answer = queue(tracking)

    assert ids(answer) == [capital["event_id"], trip["event_id"], event["event_id"]]
    first = answer["items"][0]
    assert (first["project_code"], first["unit"], first["project"]["region"]) == (
        "WH-2020-001",
        JIANG_AN,
        JIANG_AN,
    )
    assert first["review"]["levels"] == [
        {"level": "prefecture", "status": "pending"},
        {"level": "office", "status": "pending"},
    ]
    assert answer["items"][1]["leader"]["unit"] == WUHAN


def test_verifying_and_rejecting_many_at_once_empties_the_queue(tracking):
    capital = tracking.capital("10")
    trip = tracking.trip("wh-mayor", "2020-09-01", "2020-09-03")
    event = themed_event(tracking)

    outcomes = [
        tracking.check("milestone.verified", capital),
        check(tracking, "report.verified", trip, leader_id="wh-mayor"),
        check(tracking, "report.rejected", event, unit=WUHAN, reason="未在三大区域举办"),
    ]

    assert [o["status"] for o in outcomes] == ["accepted"] * 3
    assert queue(tracking)["items"] == []


def test_the_queue_filters_by_unit_type_and_age_and_pages(tracking):
    tracking.registry.project("HS-1", region=HUANGSHI)
    wuhan = [tracking.capital("1"), tracking.capital("2")]
    huangshi = tracking.send(
        "project.capital_arrived", f"pref:{HUANGSHI}", project_code="HS-1", amount="3"
    )

    assert ids(queue(tracking, unit=WUHAN)) == [r["event_id"] for r in wuhan]
    assert ids(queue(tracking, unit=JIANG_AN)) == [r["event_id"] for r in wuhan]
    assert ids(queue(tracking, unit=HUANGSHI)) == [huangshi["event_id"]]
    assert queue(tracking, report_type="leader.trip_completed")["items"] == []
    assert queue(tracking, min_age_days=1)["items"] == []
    later = datetime.now(UTC) + timedelta(days=2)
    assert len(queue(tracking, min_age_days=1, now=later)["items"]) == 3
    paged = queue(tracking, limit=2, page=1)
    assert (paged["total"], ids(paged)) == (3, [huangshi["event_id"]])


def test_a_prefecture_reviews_its_countys_report_first_and_the_office_decides(tracking):
    report = tracking.send(
        "project.capital_arrived", f"county:{JIANG_AN}", project_code="WH-2020-001", amount="5"
    )

    by_prefecture = tracking.check("milestone.verified", report, f"pref:{WUHAN}")

    assert by_prefecture["status"] == "accepted", by_prefecture
    (item,) = queue(tracking)["items"]
    assert item["review"]["levels"] == [
        {"level": "prefecture", "status": "verified"},
        {"level": "office", "status": "pending"},
    ]
    assert tracking.views()["official"]["capital_arrived"] == 0  # the office has not decided
    assert tracking.check("milestone.verified", report)["status"] == "accepted"
    assert queue(tracking)["items"] == []
    late = tracking.check("milestone.rejected", report, f"pref:{WUHAN}", reason="凭证不全")
    assert late["rule"] == "reviewed_by_office"


def test_another_prefecture_may_not_review_and_a_prefecture_rejection_rejects(tracking):
    report = tracking.send(
        "project.capital_arrived", f"county:{JIANG_AN}", project_code="WH-2020-001", amount="5"
    )

    assert tracking.check("milestone.verified", report, "pref:420200")["rule"] == (
        "review_own_counties_only"
    )
    rejected = tracking.check("milestone.rejected", report, f"pref:{WUHAN}", reason="凭证不全")
    assert rejected["status"] == "accepted"
    assert queue(tracking)["items"] == []
    (row,) = tracking.app.milestones("WH-2020-001", None)["milestones"]
    assert (row["status"], row["checks"][0]["level"]) == ("rejected", "prefecture")


def test_a_trip_or_themed_event_check_must_name_its_report_and_subject(tracking):
    trip = tracking.trip("wh-mayor", "2020-09-01", "2020-09-03")
    tracking.registry.leader("other", WUHAN)
    capital = tracking.capital("1")

    wrong_leader = check(tracking, "report.verified", trip, leader_id="other")
    a_milestone = check(tracking, "report.verified", capital, leader_id="wh-mayor")
    own_trip = check(tracking, "report.verified", trip, f"pref:{WUHAN}", leader_id="wh-mayor")

    assert wrong_leader["rule"] == "report_of_subject"
    assert a_milestone["rule"] == "trip_or_themed_event"
    assert own_trip["rule"] == "review_own_counties_only"
    assert len(queue(tracking)["items"]) == 2
