"""The scoring core in memory: policy, facts from wire events, the quarterly ranking (十九)."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from services.kernel.contract.calendar import quarter_of
from services.scoring.deadlines import cut_off, cut_off_moment, quarter_bounds
from services.scoring.domain import FactsError, PolicyError, ScoringError
from services.scoring.facts import Facts
from services.scoring.policy import Policy
from services.scoring.ranking import canonical_json, rank_quarter, ranking_hash

POLICY_FILE = Path(__file__).parents[2] / "services/kernel/reference/data/policy-2020.yaml"
PAST_POLICY_FILE = Path(__file__).parents[2] / "services/scoring/policies/2020.1.yaml"

WUHAN, HUANGSHI, SHIYAN, SHENNONGJIA = "420100", "420200", "420300", "429021"
PREFECTURES = [
    (WUHAN, "武汉市"),
    (HUANGSHI, "黄石市"),
    (SHIYAN, "十堰市"),
    (SHENNONGJIA, "神农架林区"),
]
TRIP_QUOTAS = {"principal": 2, "investment_lead": 6, "other": 4}
EXEMPT = frozenset({SHENNONGJIA})


def policy_data(**overrides) -> dict:
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    data.update(overrides)
    return data


def make_policy(**overrides) -> Policy:
    return Policy.from_mapping(policy_data(**overrides))


class Upstream:
    """A fake upstream service: numbers its wire events like its notification log."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.events: list[dict] = []

    def publish(self, type_: str, payload: dict, on: str, recorded_at: str | None = None) -> str:
        number = len(self.events) + 1
        event_id = f"{self.service}-{number:04d}"
        self.events.append(
            {
                "notification_id": number,
                "type": type_,
                "event_id": event_id,
                "source": "office",
                "occurred_on": on,
                "recorded_at": recorded_at or f"{on}T02:00:00+00:00",
                "payload": payload,
            }
        )
        return event_id


class World:
    """What registry and tracking have published, built report by report."""

    def __init__(self) -> None:
        self.registry = Upstream("registry")
        self.tracking = Upstream("tracking")

    # registry

    def propose(self, code, prefecture, total="5", key_project=False, fortune_global_500=False):
        investor = {
            "name": "某公司",
            "origin": "CN-44",
            "fortune_global_500": fortune_global_500,
            "china_top_500": False,
        }
        payload = {
            "project_code": code,
            "name": f"项目{code}",
            "investor": investor,
            "industry": "automobile",
            "region": prefecture,
            "prefecture": prefecture,
            "total_investment": total,
            "categories": [],
            "channel": "other",
            "key_project": key_project,
        }
        self.registry.publish("project.proposed", payload, on="2020-06-01")

    def correct(self, code, prefecture, key_project=False, **changes):
        payload = {
            "project_code": code,
            "changes": changes,
            "previous": {},
            "reason": "更正",
            "prefecture": prefecture,
            "key_project": key_project,
        }
        self.registry.publish("project.corrected", payload, on="2020-08-01")

    def withdraw(self, code):
        payload = {"project_code": code, "reason": "撤销"}
        self.registry.publish("project.withdrawn", payload, on="2020-09-01")

    def appoint(self, leader_id, unit, role, prefecture=None):
        payload = {
            "leader_id": leader_id,
            "name": f"领导{leader_id}",
            "unit": unit,
            "role": role,
            "prefecture": prefecture or unit,
        }
        self.registry.publish("leader.appointed", payload, on="2020-06-01")

    # tracking

    def report(self, type_, code, on, verified=True, recorded_at=None, **fields) -> str:
        event_id = self.tracking.publish(
            type_, {"project_code": code, **fields}, on=on, recorded_at=recorded_at
        )
        if verified:
            self.verify(event_id, code, on=on)
        return event_id

    def register(self, code, on="2020-07-10", **kw) -> str:
        fields = {"credit_code": "91420100MA4K0000X0", "company_name": "某公司"}
        return self.report("project.company_registered", code, on, **kw, **fields)

    def start(self, code, on="2020-08-01", **kw) -> str:
        return self.report("project.construction_started", code, on, kind="construction", **kw)

    def produce(self, code, on="2020-09-01", **kw) -> str:
        return self.report("project.production_started", code, on, **kw)

    def capital(self, code, amount, on="2020-08-15", **kw) -> str:
        return self.report("project.capital_arrived", code, on, amount=amount, **kw)

    def check(self, type_, event_id, code, on, recorded_at=None, **fields):
        payload = {"project_code": code, "milestone_event_id": event_id, **fields}
        self.tracking.publish(type_, payload, on=on, recorded_at=recorded_at)

    def verify(self, event_id, code, on="2020-09-15", recorded_at=None):
        self.check("milestone.verified", event_id, code, on, recorded_at)

    def reject(self, event_id, code, on="2020-09-15"):
        self.check("milestone.rejected", event_id, code, on, reason="不实")

    def retract(self, event_id, code, on="2020-09-05"):
        self.check("milestone.retracted", event_id, code, on, reason="虚报")

    def trip(self, leader_id, returned_on):
        payload = {
            "leader_id": leader_id,
            "destination": "广东省",
            "departed_on": returned_on,
            "returned_on": returned_on,
            "companies_met": ["某集团"],
        }
        self.tracking.publish("leader.trip_completed", payload, on=returned_on)

    # reading

    def events(self) -> list[tuple[str, dict]]:
        return [("registry", e) for e in self.registry.events] + [
            ("tracking", e) for e in self.tracking.events
        ]

    def facts(self) -> Facts:
        return facts_from(self.events())


def facts_from(events) -> Facts:
    facts = Facts()
    for service, event in events:
        facts.apply(service, event)
    return facts


def rank(source, quarter="2020Q3", policy=None, **kw) -> dict:
    facts = source.facts() if isinstance(source, World) else source
    return rank_quarter(
        facts, policy or make_policy(), quarter, PREFECTURES, TRIP_QUOTAS, EXEMPT, **kw
    )


def row(ranking: dict, region: str) -> dict:
    return next(r for r in ranking["rows"] if r["region"] == region)


def indicator(ranking: dict, region: str, key: str) -> dict:
    return row(ranking, region)["indicators"][key]


def points(ranking: dict, region: str) -> dict[str, str]:
    return {k: v["points"] for k, v in row(ranking, region)["indicators"].items()}


def scenario() -> World:
    """Four units in 2020Q3; the points are worked out by hand in the first test."""
    world = World()
    # 武汉: a key Fortune Global 500 project landing, and a smaller one producing.
    world.propose("P1", WUHAN, total="30", key_project=True, fortune_global_500=True)
    world.propose("P2", WUHAN, total="5")
    world.register("P1", on="2020-07-10")
    world.start("P1", on="2020-08-01")
    world.capital("P1", "10", on="2020-08-15")
    world.register("P2", on="2020-07-20")
    world.start("P2", on="2020-06-15")  # Q2: not this quarter's start
    world.produce("P2", on="2020-09-01")
    world.capital("P2", "2.5", on="2020-09-01")
    world.appoint("A1", WUHAN, "principal")
    world.appoint("A2", WUHAN, "investment_lead")
    world.trip("A1", "2020-07-20")
    world.trip("A2", "2020-08-10")
    world.trip("A2", "2020-09-29")
    world.trip("A1", "2020-10-02")  # returned in Q4
    # 黄石: one project reported registered twice, and one below 1亿.
    world.propose("P3", HUANGSHI, total="8")
    world.register("P3", on="2020-07-05")
    world.register("P3", on="2020-08-05")
    world.start("P3", on="2020-07-15")
    world.produce("P3", on="2020-09-10")
    world.capital("P3", "5", on="2020-08-20")
    world.propose("P4", HUANGSHI, total="0.5")
    world.register("P4", on="2020-07-06")
    world.capital("P4", "3", on="2020-07-06")
    world.appoint("B1", HUANGSHI, "principal")
    world.appoint("B2", HUANGSHI, "other")
    world.appoint("B9", "420202", "principal", prefecture=HUANGSHI)  # a county leader
    world.trip("B1", "2020-08-01")
    world.trip("B9", "2020-08-02")
    world.trip("B9", "2020-08-03")
    # 十堰: a registration not yet verified, a rejected start, a retracted capital report.
    world.propose("P5", SHIYAN, total="2")
    world.register("P5", on="2020-08-20", verified=False)
    world.capital("P5", "4", on="2020-08-25")
    world.reject(world.start("P5", on="2020-09-01", verified=False), "P5")
    world.retract(world.capital("P5", "1", on="2020-08-26", verified=False), "P5")
    # 神农架林区: exempt from the trip quotas.
    world.propose("P6", SHENNONGJIA, total="3")
    world.register("P6", on="2020-07-01")
    world.start("P6", on="2020-07-02")
    return world


# The ranking ---------------------------------------------------------------------------------


def test_ranks_a_quarter_by_the_hand_computed_points():
    ranking = rank(scenario())

    # registrations 15 x n/2; starts 20 x n/1; production 20 x n/1; capital 25 x c/12.5;
    # key landings 10 x n/1; trips 10 x ratio/1 (武汉 3 trips over 2 -> 1, 黄石 1 over 1.5).
    assert points(ranking, WUHAN) == {
        "registrations": "15.00",
        "construction_starts": "20.00",
        "production_starts": "20.00",
        "capital_arrived": "25.00",
        "key_project_landings": "10.00",
        "leader_trips": "10.00",
    }
    assert points(ranking, HUANGSHI) == {
        "registrations": "7.50",
        "construction_starts": "20.00",
        "production_starts": "20.00",
        "capital_arrived": "10.00",
        "key_project_landings": "0.00",
        "leader_trips": "6.67",
    }
    assert points(ranking, SHIYAN)["capital_arrived"] == "8.00"
    # 神农架林区: 10 x (7.50 + 20.00) / 90 = 3.0555… -> 3.06.
    assert points(ranking, SHENNONGJIA)["leader_trips"] == "3.06"
    totals = [
        (r["rank"], r["region"], r["total"], r["bonuses"], r["deductions"]) for r in ranking["rows"]
    ]
    assert totals == [
        (1, WUHAN, "101.00", "1.00", "0.00"),
        (2, HUANGSHI, "64.17", "0.00", "0.00"),
        (3, SHENNONGJIA, "30.56", "0.00", "0.00"),
        (4, SHIYAN, "6.00", "0.00", "2.00"),
    ]
    # A quarter ranks and summons; rewards are yearly (十五): no quarterly reward tier.
    assert ranking["tiers"] == {}
    assert [r["tier"] for r in ranking["rows"]] == [None, None, None, None]
    assert ranking["summons"] == [HUANGSHI, SHENNONGJIA, SHIYAN]
    assert (ranking["quarter"], ranking["policy_version"], ranking["official"]) == (
        "2020Q3",
        "2020.1.1",
        True,
    )


def test_the_2020_1_policy_still_ranks_into_its_quarterly_tiers():
    """Rankings published under 2020.1 rebuild as published: its tiers are still read."""
    old = Policy.from_mapping(yaml.safe_load(PAST_POLICY_FILE.read_text(encoding="utf-8")))
    ranking = rank(scenario(), policy=old)

    assert old.version == "2020.1"
    assert ranking["tiers"] == {
        "一档": [WUHAN, HUANGSHI, SHENNONGJIA],
        "二档": [SHIYAN],
        "三档": [],
    }
    assert [r["tier"] for r in ranking["rows"]] == ["一档", "一档", "一档", "二档"]
    assert row(ranking, WUHAN)["name"] == "武汉市"


def test_official_ranking_counts_only_verified_milestones_and_provisional_counts_reports():
    world = scenario()

    official = rank(world)
    provisional = rank(world, official=False)

    assert indicator(official, SHIYAN, "registrations")["actual"] == "0"
    assert indicator(provisional, SHIYAN, "registrations")["actual"] == "1"
    assert provisional["official"] is False
    assert row(provisional, SHIYAN)["total"] == "13.50"  # 7.50 + 8.00 - 2.00


def test_provisional_ranking_never_counts_rejected_or_retracted_reports():
    provisional = rank(scenario(), official=False)

    assert indicator(provisional, SHIYAN, "construction_starts")["actual"] == "0"
    assert indicator(provisional, SHIYAN, "capital_arrived")["actual"] == "4.00"


def test_a_withdrawn_project_stops_counting():
    world = scenario()
    world.withdraw("P2")

    ranking = rank(world)

    assert indicator(ranking, WUHAN, "registrations")["actual"] == "1"
    assert indicator(ranking, WUHAN, "production_starts")["actual"] == "0"
    assert indicator(ranking, WUHAN, "capital_arrived")["actual"] == "10.00"


def test_a_retracted_milestone_does_not_count_even_once_verified_and_is_deducted():
    world = scenario()
    world.retract(world.capital("P3", "3", on="2020-09-02"), "P3", on="2020-09-20")

    ranking = rank(world)

    assert indicator(ranking, HUANGSHI, "capital_arrived")["actual"] == "5.00"
    assert row(ranking, HUANGSHI)["adjustments"]["retracted_report"] == {
        "count": 1,
        "points": "2.00",
    }
    assert row(ranking, HUANGSHI)["total"] == "62.17"


def test_a_project_below_one_yi_does_not_count_until_corrected_to_one_yi():
    world = scenario()
    assert indicator(rank(world), HUANGSHI, "capital_arrived")["actual"] == "5.00"

    world.correct("P4", HUANGSHI, total_investment="1")

    assert indicator(rank(world), HUANGSHI, "capital_arrived")["actual"] == "8.00"
    assert indicator(rank(world), HUANGSHI, "registrations")["actual"] == "2"


def test_a_project_registers_once_however_many_registrations_are_reported():
    assert indicator(rank(scenario()), HUANGSHI, "registrations")["actual"] == "1"


def test_a_project_counts_in_the_quarter_of_its_first_counted_milestone():
    world = World()
    world.propose("P7", WUHAN)
    world.register("P7", on="2020-06-10", verified=False)  # Q2, never verified
    world.register("P7", on="2020-07-10")

    assert indicator(rank(world, "2020Q2"), WUHAN, "registrations")["actual"] == "0"
    assert indicator(rank(world, "2020Q3"), WUHAN, "registrations")["actual"] == "1"
    assert indicator(rank(world, "2020Q2", official=False), WUHAN, "registrations")["actual"] == "1"
    assert indicator(rank(world, "2020Q3", official=False), WUHAN, "registrations")["actual"] == "0"


def test_capital_arrivals_sum_within_the_quarter():
    world = scenario()
    world.capital("P1", "0.125", on="2020-06-30")  # Q2

    ranking = rank(world)

    assert indicator(ranking, WUHAN, "capital_arrived")["actual"] == "12.50"
    assert indicator(rank(world, "2020Q2"), WUHAN, "capital_arrived")["actual"] == "0.13"


def test_a_key_project_lands_when_its_first_construction_start_counts_in_the_quarter():
    world = scenario()
    world.propose("P8", SHIYAN, total="25", key_project=True)
    world.start("P8", on="2020-09-30")

    ranking = rank(world)

    assert indicator(ranking, WUHAN, "key_project_landings")["actual"] == "1"
    assert indicator(ranking, SHIYAN, "key_project_landings")["actual"] == "1"
    assert points(ranking, SHIYAN)["key_project_landings"] == "10.00"
    assert indicator(ranking, HUANGSHI, "key_project_landings")["actual"] == "0"


def test_leader_trips_are_capped_at_the_quarters_share_and_count_only_the_units_own_leaders():
    ranking = rank(scenario())

    # 武汉: 3 trips over (2 + 6) / 4 = 2 -> 1.5, capped at 1.
    assert indicator(ranking, WUHAN, "leader_trips") == {
        "actual": "1.00",
        "target": None,
        "points": "10.00",
        "basis": "relative",
    }
    # 黄石: the county leader's 2 trips and quota do not count: 1 over (2 + 4) / 4.
    assert indicator(ranking, HUANGSHI, "leader_trips")["actual"] == "0.67"
    assert indicator(ranking, SHIYAN, "leader_trips")["points"] == "0.00"


def test_the_exempt_unit_scores_trips_pro_rata_from_its_other_points():
    world = scenario()
    world.appoint("S1", SHENNONGJIA, "principal")
    world.trip("S1", "2020-07-30")  # would be a full ratio; the exemption ignores it

    entry = indicator(rank(world), SHENNONGJIA, "leader_trips")

    assert (entry["points"], entry["basis"], entry["target"]) == ("3.06", "pro_rata", None)
    assert indicator(rank(world), HUANGSHI, "leader_trips")["points"] == "6.67"


def test_ties_are_broken_by_capital_then_down_to_the_region_code():
    world = World()
    for code, region, amount in (("T1", SHIYAN, "2"), ("T2", HUANGSHI, "2"), ("T3", WUHAN, "1")):
        world.propose(code, region)
        world.capital(code, amount)
    world.propose("T4", SHENNONGJIA)
    world.register("T4")
    policy = make_policy(
        indicators=[
            {"key": "registrations", "name_zh": "注册", "weight": 50, "scoring": "relative"},
            {"key": "capital_arrived", "name_zh": "到资", "weight": 50, "scoring": "relative"},
        ],
        tie_break=["total", "capital_arrived", "registrations", "region"],
    )

    ranking = rank(world, policy=policy)

    # Three units total 50: 黄石 and 十堰 on capital (2亿), 神农架林区 on its registration.
    # Capital comes before registrations, and 黄石 before 十堰 by region code.
    assert [(r["rank"], r["region"], r["total"]) for r in ranking["rows"]] == [
        (1, HUANGSHI, "50.00"),
        (2, SHIYAN, "50.00"),
        (3, SHENNONGJIA, "50.00"),
        (4, WUHAN, "25.00"),
    ]
    assert [r["region"] for r in rank(World())["rows"]] == [WUHAN, HUANGSHI, SHIYAN, SHENNONGJIA]


def test_same_bytes_and_hash_whatever_the_order_and_however_often_events_are_applied():
    events = scenario().events()
    published = rank(facts_from(events))

    shuffled = list(events)
    random.Random(20200930).shuffle(shuffled)
    replayed = rank(facts_from(shuffled + list(reversed(events))))

    assert canonical_json(replayed) == canonical_json(published)
    assert ranking_hash(replayed) == ranking_hash(published)


def test_applying_a_notification_twice_changes_nothing():
    service, event = scenario().events()[0]
    facts = Facts()

    assert facts.apply(service, event) is True
    assert facts.apply(service, event) is False
    assert list(facts.projects) == ["P1"]


def test_events_scoring_does_not_read_are_ignored():
    facts = Facts()
    signed = {"notification_id": 1, "type": "project.signed", "payload": {}}

    assert facts.apply("registry", signed) is False
    assert facts.projects == {}


def test_canonical_json_sorts_keys_and_keeps_chinese_readable():
    assert canonical_json({"b": 1, "a": "一档"}) == '{"a":"一档","b":1}'.encode()


def test_points_are_rounded_half_up_to_cents_once_per_indicator():
    world = World()
    for n in range(8):
        world.propose(f"H{n}", HUANGSHI)
        world.register(f"H{n}")
    for n in range(3):
        world.propose(f"W{n}", WUHAN)
        world.register(f"W{n}")

    # 15 x 3 / 8 = 5.625: 5.63 half up (half even would give 5.62).
    assert points(rank(world), WUHAN)["registrations"] == "5.63"


def test_target_scoring_gives_weight_times_the_capped_ratio_and_falls_back_to_relative():
    world = scenario()
    data = policy_data()
    data["indicators"][3] = {
        "key": "capital_arrived",
        "name_zh": "到资",
        "weight": 25,
        "scoring": "target",
        "cap": "1.2",
        "targets": {WUHAN: {"2020Q3": "5"}, HUANGSHI: {"2020Q3": "20"}},
    }

    ranking = rank(world, policy=Policy.from_mapping(data))

    assert indicator(ranking, WUHAN, "capital_arrived") == {
        "actual": "12.50",
        "target": "5.00",
        "points": "30.00",
        "basis": "target",
    }
    assert indicator(ranking, HUANGSHI, "capital_arrived")["points"] == "6.25"
    # 十堰 has no target: 25 x 4 / 12.5, the best actual among the units.
    assert indicator(ranking, SHIYAN, "capital_arrived")["points"] == "8.00"
    assert indicator(ranking, SHIYAN, "capital_arrived")["basis"] == "relative"


def test_an_as_of_rebuild_leaves_out_what_was_recorded_after_the_moment():
    world = World()
    policy = make_policy()
    world.propose("L1", WUHAN)
    world.propose("L2", HUANGSHI)
    world.register("L1", on="2020-09-20")
    late = world.register("L2", on="2020-09-25", verified=False)
    world.verify(late, "L2", on="2020-10-12", recorded_at="2020-10-12T01:00:00+00:00")

    at_cut_off = rank(world, recorded_by=cut_off_moment("2020Q3", policy))
    now = rank(world)

    assert indicator(at_cut_off, HUANGSHI, "registrations")["actual"] == "0"
    assert indicator(now, HUANGSHI, "registrations")["actual"] == "1"
    assert at_cut_off["recorded_by"] == "2020-10-10T15:59:59.999999+00:00"
    assert now["recorded_by"] is None


def test_summons_after_two_quarters_name_only_units_in_the_bottom_both_times():
    world = World()
    for code, region in (("Q1", WUHAN), ("Q2", HUANGSHI)):
        world.propose(code, region)
        world.register(code, on="2020-05-10")
    world.propose("Q3", SHIYAN)
    world.register("Q3", on="2020-08-10")
    policy = make_policy(summons={"bottom": 2, "after_quarters": 2})

    # Q2 bottom two: 十堰, 神农架林区; Q3 bottom two: 黄石, 神农架林区 (by region code).
    assert rank(world, "2020Q3", policy=policy)["summons"] == [SHENNONGJIA]
    assert rank(world, "2020Q3")["summons"] == [WUHAN, HUANGSHI, SHENNONGJIA]


def test_bonuses_and_deductions_stop_at_their_caps():
    world = scenario()
    for n in range(4):
        world.propose(f"F{n}", WUHAN, fortune_global_500=True)
        world.start(f"F{n}", on="2020-07-01")

    ranking = rank(world, overdue_tasks={"2020Q3": {HUANGSHI: 5, SHIYAN: 1}})

    assert row(ranking, WUHAN)["adjustments"]["fortune_global_500_landing"] == {
        "count": 5,
        "points": "3.00",
    }
    assert row(ranking, HUANGSHI)["deductions"] == "3.00"
    assert row(ranking, SHIYAN)["deductions"] == "3.00"  # a retracted report 2, a task 1


def test_a_correction_moving_a_project_moves_its_milestones():
    world = scenario()
    world.correct("P3", SHIYAN, region=SHIYAN)

    ranking = rank(world)

    assert indicator(ranking, HUANGSHI, "capital_arrived")["actual"] == "0.00"
    assert indicator(ranking, SHIYAN, "capital_arrived")["actual"] == "9.00"


# Policy -------------------------------------------------------------------------------------


def test_the_default_policy_file_carries_the_design_weights():
    policy = make_policy()

    assert {i.key: int(i.weight) for i in policy.indicators} == {
        "registrations": 15,
        "construction_starts": 20,
        "production_starts": 20,
        "capital_arrived": 25,
        "key_project_landings": 10,
        "leader_trips": 10,
    }
    assert {i.scoring for i in policy.indicators} == {"relative"}
    assert (policy.summon_bottom, policy.summon_after_quarters, policy.cut_off_days) == (3, 1, 10)
    assert {a.key for a in policy.deductions} == {"retracted_report", "overdue_task"}
    assert policy.tie_break[-1] == "region"
    assert policy.min_project_investment == 1


def weights(*values):
    data = policy_data()
    for item, weight in zip(data["indicators"], values, strict=True):
        item["weight"] = weight
    return data


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (weights(15, 20, 20, 25, 10, 5), "indicators[].weight", "weights_sum_to_100"),
        (
            policy_data(tie_break=["total", "region", "registrations"]),
            "tie_break[2]",
            "ends_with_region",
        ),
        (policy_data(tie_break=["capital_arrived", "region"]), "tie_break[0]", "starts_with_total"),
        (weights(15, 20, 20, 25, 10, 10.0), "indicators[5].weight", "decimal"),
        (policy_data(cut_off_days="10"), "cut_off_days", "whole_number"),
        (policy_data(colour="red"), "colour", "known_key"),
        (policy_data(summons={"bottom": 3}), "summons.after_quarters", "required"),
        (
            policy_data(
                reward_tiers=[
                    {"name_zh": "一档", "ranks": [1, 3]},
                    {"name_zh": "二档", "ranks": [3, 8]},
                ]
            ),
            "reward_tiers[1].ranks",
            "tiers_in_order",
        ),
    ],
)
def test_a_policy_breaking_a_rule_is_refused_naming_the_field_and_rule(data, field, rule):
    with pytest.raises(PolicyError) as refused:
        Policy.from_mapping(data)

    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_an_unknown_scoring_kind_is_refused():
    data = policy_data()
    data["indicators"][0]["scoring"] = "percentile"

    with pytest.raises(PolicyError, match=re.escape("indicators[0].scoring = 'percentile'")):
        Policy.from_mapping(data)


def test_target_scoring_needs_a_cap():
    data = policy_data()
    data["indicators"][0]["scoring"] = "target"

    with pytest.raises(PolicyError) as refused:
        Policy.from_mapping(data)

    assert refused.value.rule == "cap_required"


# Facts and quarters --------------------------------------------------------------------------


def test_a_malformed_wire_event_is_refused_naming_the_field():
    world = World()
    world.propose("P1", WUHAN)
    event = world.registry.events[0]
    event["payload"]["total_investment"] = 5.0

    with pytest.raises(FactsError) as refused:
        Facts().apply("registry", event)

    assert refused.value.field == "payload.total_investment"


def test_an_event_from_the_wrong_upstream_is_refused():
    world = World()
    world.propose("P1", WUHAN)

    with pytest.raises(FactsError) as refused:
        Facts().apply("tracking", world.registry.events[0])

    assert refused.value.rule == "owned_by_upstream"


def test_quarters_have_bounds_and_a_cut_off():
    policy = make_policy()

    assert quarter_of(date(2020, 9, 30)) == "2020Q3"
    assert quarter_of(date(2020, 10, 1)) == "2020Q4"
    assert quarter_bounds("2020Q1") == (date(2020, 1, 1), date(2020, 3, 31))
    assert quarter_bounds("2020Q4") == (date(2020, 10, 1), date(2020, 12, 31))
    assert cut_off("2020Q3", policy) == date(2020, 10, 10)
    assert cut_off_moment("2020Q3", policy).astimezone(UTC) == datetime(
        2020, 10, 10, 15, 59, 59, 999999, tzinfo=UTC
    )
    with pytest.raises(ScoringError):
        quarter_bounds("2020Q5")
