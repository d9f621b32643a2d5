"""The office's work in scoring, in memory: targets on the scorecard and in a `target` policy
(一)(十九), the 约谈 follow-up (summons.held, rectification.reported), the yearly assessment and
its rewards (十九)(十五), and the quarterly reward tier gone with rankings made under it
(2020.1) still rebuilding as published."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

from services.kernel.contract import ids
from services.kernel.contract.report import validate_report
from services.scoring.application import ScoringApplication
from services.scoring.policy import Policy
from tests.unit.test_scoring_application import (
    HUANGSHI,
    WUHAN,
    adopt,
    at,
    policy_data,
    row,
    two_quarters,
)

PAST_POLICY = Path(__file__).parents[2] / "services/scoring/policies/2020.1.yaml"


def send(app: ScoringApplication, type_: str, source: str = "office", **payload) -> dict:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "source": source,
        "occurred_on": "2020-07-20",
        "schema_version": 1,
        "payload": payload,
    }
    (outcome,) = app.ingest([validate_report(raw)])
    errors = outcome["errors"]
    return {**outcome, "rule": errors[0]["rule"] if errors else None}


def summons(app: ScoringApplication, unit: str, quarter: str = "2020Q2", **kw) -> dict:
    commitments = kw.pop(
        "commitments",
        [
            {"key": "c1", "text": "三季度新增亿元以上项目注册 3 个", "due": "2020-09-30"},
            {"key": "c2", "text": "市长赴粤港澳大湾区招商 1 次"},
        ],
    )
    return send(
        app,
        "summons.held",
        unit=unit,
        quarter=quarter,
        held_on="2020-07-20",
        attendees=["副市长", "商务局局长"],
        commitments=commitments,
        **kw,
    )


# Targets (一) -----------------------------------------------------------------------------


def set_target(world, unit: str, indicator: str, yearly: str, quarterly=None) -> None:
    payload = {"unit": unit, "year": "2020", "indicator": indicator, "yearly": yearly}
    if quarterly is not None:
        payload["quarterly"] = quarterly
    world.tracking.add("target.set", payload, "2020-04-02", at("2020-04-02"))


def test_the_scorecard_shows_progress_against_the_targets_set():
    world = two_quarters()
    set_target(world, HUANGSHI, "capital_arrived", "40", ["5", "10", "10", "15"])
    world.deliver()

    card = world.app.get_scorecard("2020Q3", HUANGSHI)

    assert card["targets"] == [
        {
            "indicator": "capital_arrived",
            "yearly_target": "40",
            "quarter_target": "10.00",
            "quarter_actual": "9.00",
            "year_to_date": "18.00",
            "share_of_year": "0.45",
        }
    ]
    assert world.app.get_scorecard("2020Q3", WUHAN)["targets"] == []


def test_a_target_policy_scores_against_the_targets_set():
    world = two_quarters()
    set_target(world, WUHAN, "capital_arrived", "8")  # a quarter's share: 2
    world.deliver()
    data = policy_data("2020.9", effective_from="2020Q3")
    data.pop("effective_from")
    for indicator in data["indicators"]:
        if indicator["key"] == "capital_arrived":
            indicator.update(scoring="target", cap="1.5", reported_targets=True)
    assert adopt(world.app, "2020.9", "2020Q3", data)["status"] == "accepted"

    wuhan = row(world.app.get_ranking("2020Q3"), WUHAN)["indicators"]["capital_arrived"]

    # 25 x min(1 / 2, 1.5) = 12.50; 黄石, with no target, is scored relative to the best.
    assert (wuhan["target"], wuhan["points"], wuhan["basis"]) == ("2.00", "12.50", "target")
    huangshi = row(world.app.get_ranking("2020Q3"), HUANGSHI)["indicators"]["capital_arrived"]
    assert huangshi["basis"] == "relative"


# 约谈 follow-up (十九) ------------------------------------------------------------------------


def test_a_summons_follows_the_published_summons_list_and_its_commitments_stay_open():
    world = two_quarters()
    app = world.app
    assert summons(app, WUHAN)["rule"] == "not_summoned"  # Q2 not published yet
    q2 = app.publish_ranking("2020Q2")
    bottom = q2["summons"][0]

    assert summons(app, WUHAN)["rule"] == "not_summoned"  # 武汉 ranks at the top
    held = summons(app, bottom)
    twice = [{"key": "c1", "text": "甲"}, {"key": "c1", "text": "乙"}]

    assert held["status"] == "accepted", held
    assert summons(app, bottom, commitments=twice)["rule"] == "unique_commitment_keys"
    assert [c["key"] for c in app.open_commitments(bottom)] == ["c1", "c2"]
    assert app.open_commitments(WUHAN) == []


def test_the_summoned_unit_reports_rectification_and_done_commitments_close():
    world = two_quarters()
    app = world.app
    bottom = app.publish_ranking("2020Q2")["summons"][0]
    summons_id = summons(app, bottom)["event_id"]

    def rectify(source: str, commitment: str = "c1", status: str = "done") -> dict:
        progress = [{"commitment": commitment, "status": status, "text": "已注册 3 个"}]
        return send(
            app,
            "rectification.reported",
            source,
            unit=bottom,
            summons_event_id=summons_id,
            progress=progress,
        )

    assert rectify(f"pref:{WUHAN}")["rule"] == "own_rectification_only"
    assert rectify(f"pref:{bottom}", commitment="c9")["rule"] == "unknown_commitment"
    assert rectify(f"pref:{bottom}")["status"] == "accepted"
    (left,) = app.open_commitments(bottom)
    assert left["key"] == "c2"
    assert rectify(f"pref:{bottom}", "c2", "in_progress")["status"] == "accepted"
    (still,) = app.open_commitments(bottom)
    assert still["latest"]["status"] == "in_progress"
    # The next circular shows it: the publication carries the commitments open then.
    app.publish_ranking("2020Q3")
    publication = app.repository.get(ids.named_id("ranking", "2020Q3"))
    assert [c["key"] for c in publication.open_commitments] == ["c2"]


# The yearly assessment and rewards (十九)(十五) ------------------------------------------------


def test_the_year_is_the_mean_of_its_quarters_and_shows_who_was_summoned():
    world = two_quarters()
    app = world.app
    bottom = app.publish_ranking("2020Q2")["summons"]

    year = app.yearly_assessment("2020")

    assert (year["rule"], year["complete"], year["rewards"]) == ("mean_of_quarters", False, None)
    by_unit = {u["region"]: u for u in year["units"]}
    wuhan = by_unit[WUHAN]
    totals = [q["total"] for q in wuhan["quarters"]]
    mean = sum(Decimal(t) for t in totals) / 4
    assert wuhan["result"] == str(mean.quantize(Decimal("0.01"), ROUND_HALF_UP))
    results = [Decimal(u["result"]) for u in year["units"]]
    assert results == sorted(results, reverse=True)
    assert [u["rank"] for u in year["units"]] == list(range(1, 18))
    assert all(by_unit[u]["summoned_in_year"] and not by_unit[u]["may_be_rewarded"] for u in bottom)


def test_rewards_once_a_year_never_to_a_unit_summoned_that_year_unless_the_policy_says():
    world = two_quarters()
    app = world.app
    bottom = app.publish_ranking("2020Q2")["summons"][0]

    def decide(*units: str) -> dict:
        rewards = [{"unit": u, "reward_class": "一类一档"} for u in units]
        return send(app, "reward.decided", year="2020", rewards=rewards, basis="经省财政厅会商")

    assert decide(WUHAN, bottom)["rule"] == "summoned_this_year"
    assert decide(WUHAN, WUHAN)["rule"] == "unit_listed_twice"
    assert (
        send(app, "reward.decided", f"pref:{WUHAN}", year="2020", rewards=[], basis="-")["rule"]
        == "office_only"
    )
    lenient = policy_data("2020.8", yearly={"rule": "sum_of_quarters", "reward_summoned": True})
    assert adopt(app, "2020.8", "2020Q4", lenient)["status"] == "accepted"
    assert decide(WUHAN, bottom)["status"] == "accepted"
    assert decide(HUANGSHI)["rule"] == "already_decided"
    year = app.yearly_assessment("2020")
    by_unit = {u["region"]: u for u in year["units"]}
    assert (year["rule"], by_unit[bottom]["reward_class"]) == ("sum_of_quarters", "一类一档")


# The quarterly reward tier (十五) ---------------------------------------------------------------


def test_a_ranking_published_under_2020_1_keeps_its_tiers_and_rebuilds_as_published():
    world = two_quarters()
    old = yaml.safe_load(PAST_POLICY.read_text(encoding="utf-8"))
    current = (world.app.default_policy, world.app.default_policy_data)
    world.app.default_policy, world.app.default_policy_data = Policy.from_mapping(old), old
    q2 = world.app.publish_ranking("2020Q2")
    world.app.default_policy, world.app.default_policy_data = current  # the upgrade

    rebuilt = world.app.rebuild_ranking("2020Q2", world.reads())

    assert (q2["policy_version"], list(q2["tiers"])) == ("2020.1", ["一档", "二档", "三档"])
    assert rebuilt["matches_published"] is True
    assert rebuilt["policy"] == old
    q3 = world.app.get_ranking("2020Q3")
    assert (q3["policy_version"], q3["tiers"]) == ("2020.1.1", {})
