"""What counts, as the plan says: (三) themed events within the plan year; (十九) 市州领导 —
the 市州 government's leaders, not its departments'. In memory: tracking as senders speak to it,
and the ranking from hand-made upstream events.
"""

from __future__ import annotations

from services.kernel.reference import reference
from services.scoring.rebuild import Units
from tests.unit.test_scoring_domain import HUANGSHI, indicator, rank, scenario
from tests.unit.test_tracking_application import WUHAN, Tracking


def test_themed_events_count_toward_the_minimum_only_within_the_plan_year_3():
    tracking = Tracking()
    for on in ("2019-11-20", "2019-12-05", "2020-06-18"):
        tracking.send(
            "promotion.event_held",
            on=on,
            unit=WUHAN,
            target_region="greater_bay_area",
            title="粤港澳大湾区推介会",
        )

    listing = tracking.app.promotion_events(WUHAN)
    (wuhan,) = listing["prefectures"]

    assert listing["year"] == 2020
    assert (wuhan["in_key_regions"], wuhan["met"]) == (1, False)
    assert [str(e["occurred_on"]) for e in wuhan["events"]] == ["2020-06-18"]
    assert sorted(str(e["occurred_on"]) for e in wuhan["other_years"]) == [
        "2019-11-20",
        "2019-12-05",
    ]


def test_a_prefectures_department_heads_add_neither_quota_nor_trips_to_its_leaders_19():
    world = scenario()
    # 黄石市商务局局长: a leader of one of 黄石's departments (二十二), not of its government.
    world.appoint("HS-commerce", HUANGSHI, "department_head")
    world.trip("HS-commerce", "2020-08-01")
    world.trip("HS-commerce", "2020-08-20")

    # as before: 1 trip of its government's leaders over (2 + 4) / 4
    assert indicator(rank(world), HUANGSHI, "leader_trips")["actual"] == "0.67"


def test_the_ranking_is_given_the_government_roles_quotas_only():
    quotas = Units.from_reference(reference()).trip_quotas

    assert quotas == {"principal": 2, "investment_lead": 6, "other": 4}


def test_a_prefectures_department_heads_are_shown_apart_from_its_government_leaders():
    tracking = Tracking()
    tracking.registry.leader("wh-principal", WUHAN, "principal")
    tracking.registry.leader("wh-commerce", WUHAN, "department_head")
    tracking.trip("wh-commerce", "2020-03-01", "2020-03-02")

    units = tracking.app.leader_progress(list(tracking.registry.leaders.values()), 2020)["units"]

    assert [(u["unit"], u["leaders_of"], u["trips"], u["quota"]) for u in units] == [
        (WUHAN, "government", 0, 2),
        (WUHAN, "department", 1, 2),
    ]
