"""What the official ranking counts after 甄别 (十九), as the policy says per indicator: verified
reports only or as reported (2020: milestones verified, trips as reported), and the review
levels a verification needs (县填报 → 市审核 → 省复核; 2020: the office alone)."""

from __future__ import annotations

import pytest

from services.scoring.domain import PolicyError
from services.scoring.policy import Policy
from tests.unit.test_scoring_domain import (
    HUANGSHI,
    WUHAN,
    World,
    make_policy,
    policy_data,
    rank,
    row,
)

COUNTY = "county:420102"  # 江岸区, a county of 武汉市


def with_indicator(key: str, **settings) -> Policy:
    data = policy_data()
    data["indicators"] = [{**i, **settings} if i["key"] == key else i for i in data["indicators"]]
    return Policy.from_mapping(data)


def actual(ranking: dict, region: str, key: str) -> str:
    return row(ranking, region)["indicators"][key]["actual"]


def sent_by(world: World, source: str) -> None:
    world.tracking.events[-1]["source"] = source


def check_trip(world: World, trip_id: str, type_: str, level: str = "office") -> None:
    payload = {"report_event_id": trip_id, "level": level, "leader_id": "wh", "unit": None}
    world.tracking.publish(type_, payload, on="2020-09-20")


def trips_world() -> tuple[World, list[str]]:
    world = World()
    world.propose("P1", WUHAN)
    world.propose("P2", HUANGSHI)
    world.appoint("wh", WUHAN, "principal")
    world.appoint("hs", HUANGSHI, "principal")
    world.trip("hs", "2020-07-05")
    trips = []
    for day in ("2020-07-10", "2020-08-10"):
        world.trip("wh", day)
        trips.append(world.tracking.events[-1]["event_id"])
    return world, trips


def test_by_default_trips_count_as_reported_and_a_rejected_trip_does_not():
    world, (first, _) = trips_world()
    assert row(rank(world), WUHAN)["trips"]["completed"] == 2

    check_trip(world, first, "report.rejected")

    assert row(rank(world), WUHAN)["trips"]["completed"] == 1


def test_a_policy_may_count_only_verified_trips_in_the_official_ranking():
    world, (first, _) = trips_world()
    policy = with_indicator("leader_trips", counts="verified")

    check_trip(world, first, "report.verified")

    assert row(rank(world, policy=policy), WUHAN)["trips"]["completed"] == 1
    provisional = rank(world, policy=policy, official=False)
    assert row(provisional, WUHAN)["trips"]["completed"] == 2


def county_capital(world: World, amount: str, prefecture_verified: bool) -> str:
    event_id = world.capital("P1", amount, verified=False)
    sent_by(world, COUNTY)
    if prefecture_verified:
        world.check("milestone.verified", event_id, "P1", "2020-09-10", level="prefecture")
    return event_id


def test_a_policy_needing_the_prefectures_review_counts_a_county_report_only_after_it():
    world = World()
    world.propose("P1", WUHAN)
    reviewed = county_capital(world, "3", prefecture_verified=True)
    skipped = county_capital(world, "4", prefecture_verified=False)
    world.verify(reviewed, "P1")
    world.verify(skipped, "P1")  # the office alone
    world.capital("P1", "5")  # the 市州's own report, verified by the office
    both = with_indicator("capital_arrived", levels=["prefecture", "office"])

    assert actual(rank(world), WUHAN, "capital_arrived") == "12.00"  # 2020: the office alone
    assert actual(rank(world, policy=both), WUHAN, "capital_arrived") == "8.00"


def test_a_policy_trusting_the_prefectures_review_alone_counts_it_before_the_office():
    world = World()
    world.propose("P1", WUHAN)
    county_capital(world, "3", prefecture_verified=True)
    county_capital(world, "4", prefecture_verified=False)
    prefecture_only = with_indicator("capital_arrived", levels=["prefecture"])

    assert actual(rank(world), WUHAN, "capital_arrived") == "0.00"
    assert actual(rank(world, policy=prefecture_only), WUHAN, "capital_arrived") == "3.00"


def test_the_2020_policy_keeps_todays_reading():
    policy = make_policy()
    trips, capital = policy.indicator("leader_trips"), policy.indicator("capital_arrived")
    assert (trips.counts, trips.levels) == ("reported", ("office",))
    assert (capital.counts, capital.levels) == ("verified", ("office",))


@pytest.mark.parametrize(
    ("settings", "field", "rule"),
    [
        ({"counts": "maybe"}, "indicators[3].counts", "known_counts"),
        ({"levels": []}, "indicators[3].levels", "known_levels"),
        ({"levels": ["county"]}, "indicators[3].levels", "known_levels"),
        ({"levels": ["office", "office"]}, "indicators[3].levels", "known_levels"),
    ],
)
def test_a_policy_with_unknown_counting_or_levels_is_refused(settings, field, rule):
    with pytest.raises(PolicyError) as refused:
        with_indicator("capital_arrived", **settings)
    assert (refused.value.field, refused.value.rule) == (field, rule)
