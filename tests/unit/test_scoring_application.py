"""Scoring as the office and auditors use it, in memory: policies adopted from a quarter on,
quarters closing at their cut-off, late reports, scorecards, and rankings rebuilt from the
upstream logs giving the published bytes."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from services.kernel.contract.report import validate_report
from services.scoring import application
from services.scoring.application import ScoringApplication
from services.scoring.ranking import canonical_json

POLICY_FILE = Path(__file__).parents[2] / "services/kernel/reference/data/policy-2020.yaml"
WUHAN, HUANGSHI, SHIYAN = "420100", "420200", "420300"


class Log:
    """A fake upstream's notification log, answering `read_wire` as registry and tracking do."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.events: list[dict] = []
        self.delivered = 0

    def add(self, type_: str, payload: dict, on: str, recorded_at: str) -> str:
        event_id = str(uuid.uuid4())
        self.events.append(
            {
                "service": self.service,
                "notification_id": len(self.events) + 1,
                "type": type_,
                "event_id": event_id,
                "source": "office",
                "occurred_on": on,
                "recorded_at": recorded_at,
                "payload": payload,
            }
        )
        return event_id

    def read(self, start: int, stop: int | None = None, limit: int = 1000) -> dict | None:
        last = min(len(self.events), start + limit - 1, stop or len(self.events))
        if start > last:
            return None
        return {
            "service": self.service,
            "first": start,
            "last": last,
            "events": self.events[start - 1 : last],
        }

    def deliver(self, app: ScoringApplication) -> None:
        """What the bus would bring scoring: everything not delivered yet, one message."""
        body = self.read(self.delivered + 1, None, 10_000)
        if body is not None:
            app.follower.receive(body, lambda start, stop: self.read(start, stop))
            self.delivered = body["last"]


def at(day: str) -> str:
    """Recorded at 10:00 Beijing time that day."""
    return f"{day}T02:00:00+00:00"


class World:
    """Registry's and tracking's logs, report by report, and scoring consuming them."""

    def __init__(self) -> None:
        self.registry, self.tracking = Log("registry"), Log("tracking")
        self.app = ScoringApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})

    def propose(self, code: str, region: str, total: str = "5", on: str = "2020-04-01") -> None:
        payload = {
            "project_code": code,
            "name": f"项目{code}",
            "investor": {"name": "某公司", "origin": "CN-44", "fortune_global_500": False},
            "region": region,
            "prefecture": region,
            "total_investment": total,
            "key_project": False,
        }
        self.registry.add("project.proposed", payload, on, at(on))

    def appoint(self, leader: str, unit: str, role: str = "principal") -> None:
        payload = {"leader_id": leader, "unit": unit, "role": role, "prefecture": unit}
        self.registry.add("leader.appointed", payload, "2020-04-01", at("2020-04-01"))

    def milestone(
        self, type_: str, code: str, on: str, recorded: str | None = None, **fields
    ) -> str:
        """A milestone and the office's verification, both recorded `recorded` (default: the
        day it happened)."""
        recorded_at = at(recorded or on)
        event_id = self.tracking.add(type_, {"project_code": code, **fields}, on, recorded_at)
        check = {"project_code": code, "milestone_event_id": event_id}
        self.tracking.add("milestone.verified", check, on, recorded_at)
        return event_id

    def register(self, code: str, on: str, recorded: str | None = None) -> str:
        return self.milestone("project.company_registered", code, on, recorded)

    def capital(self, code: str, amount: str, on: str, recorded: str | None = None) -> str:
        return self.milestone("project.capital_arrived", code, on, recorded, amount=amount)

    def trip(self, leader: str, on: str) -> None:
        payload = {"leader_id": leader, "returned_on": on}
        self.tracking.add("leader.trip_completed", payload, on, at(on))

    def deliver(self) -> None:
        self.registry.deliver(self.app)
        self.tracking.deliver(self.app)

    def reads(self) -> dict:
        return {"registry": self.registry.read, "tracking": self.tracking.read}


def policy_data(version: str, **changes) -> dict:
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["version"] = version
    data.update(changes)
    return data


def capital_heavy(version: str) -> dict:
    """Capital arrived weighs 45, registrations 5: a ranking that visibly differs."""
    data = policy_data(version)
    weights = {"capital_arrived": 45, "registrations": 5, "construction_starts": 10}
    for indicator in data["indicators"]:
        indicator["weight"] = weights.get(indicator["key"], indicator["weight"])
    return data


def adopt(app: ScoringApplication, version: str, effective_from: str, policy: dict, **kw) -> dict:
    raw = {
        "event_id": str(uuid.uuid4()),
        "type": "policy.adopted",
        "source": kw.get("source", "office"),
        "occurred_on": "2020-06-20",
        "schema_version": 1,
        "payload": {"version": version, "effective_from": effective_from, "policy": policy},
    }
    (outcome,) = app.ingest([validate_report(raw)])
    return outcome


def two_quarters() -> World:
    """武汉 registers more, 黄石 brings more capital, in Q2 and again in Q3."""
    world = World()
    world.propose("W1", WUHAN)
    world.propose("W2", WUHAN)
    world.propose("H1", HUANGSHI)
    for quarter_day in ("2020-05-10", "2020-08-10"):
        world.capital("H1", "9", on=quarter_day)
        world.capital("W1", "1", on=quarter_day)
    world.register("W1", on="2020-05-11")
    world.register("W2", on="2020-08-11")
    world.register("H1", on="2020-08-12")
    world.deliver()
    return world


def row(ranking: dict, region: str) -> dict:
    return next(r for r in ranking["rows"] if r["region"] == region)


def published_bytes(ranking: dict) -> bytes:
    return canonical_json({k: v for k, v in ranking.items() if k not in ("hash", "published")})


# Policy ---------------------------------------------------------------------------------------


def test_an_adopted_policy_rules_from_its_quarter_on_and_past_rankings_keep_theirs():
    world = two_quarters()
    app = world.app
    q2 = app.publish_ranking("2020Q2")

    outcome = adopt(app, "2020.2", "2020Q3", capital_heavy("2020.2"))

    assert outcome["status"] == "accepted", outcome
    q3 = app.publish_ranking("2020Q3")
    assert q3["policy_version"] == "2020.2"
    assert row(q3, HUANGSHI)["indicators"]["capital_arrived"]["points"] == "45.00"
    assert q3["rows"][0]["region"] == HUANGSHI
    assert app.get_ranking("2020Q2")["hash"] == q2["hash"]
    assert app.get_ranking("2020Q2")["policy_version"] == "2020.1.1"
    # Adopted later for Q2 too: the published Q2 stays as it was made, its rebuild too.
    assert adopt(app, "2020.3", "2020Q2", capital_heavy("2020.3"))["status"] == "accepted"
    assert app.get_ranking("2020Q2")["hash"] == q2["hash"]
    assert app.get_ranking("2020Q2", "provisional")["policy_version"] == "2020.3"
    rebuilt = app.rebuild_ranking("2020Q2", world.reads())
    assert rebuilt["matches_published"] is True
    assert rebuilt["rebuilt"]["policy_version"] == "2020.1.1"


@pytest.mark.parametrize(
    ("version", "policy", "source", "field", "rule"),
    [
        ("2020.9", policy_data("2020.8"), "office", "payload.version", "version_matches_policy"),
        ("2020.1", capital_heavy("2020.1"), "office", "payload.version", "version_unique"),
        ("2020.2", policy_data("2020.2"), "pref:420100", "source", "office_only"),
        (
            "2020.2",
            policy_data("2020.2", cut_off_days=-1),
            "office",
            "payload.policy.cut_off_days",
            "whole_number",
        ),
    ],
)
def test_a_policy_adoption_breaking_a_rule_is_rejected_naming_it(
    version, policy, source, field, rule
):
    app = World().app

    outcome = adopt(app, version, "2020Q3", policy, source=source)

    assert outcome["status"] == "rejected"
    assert (outcome["errors"][0]["field"], outcome["errors"][0]["rule"]) == (field, rule)
    assert app.get_ranking("2020Q3")["policy_version"] == "2020.1.1"


def test_the_same_version_adopted_again_with_the_same_content_is_accepted():
    app = World().app
    assert adopt(app, "2020.2", "2020Q3", capital_heavy("2020.2"))["status"] == "accepted"
    assert adopt(app, "2020.2", "2020Q4", capital_heavy("2020.2"))["status"] == "accepted"
    assert adopt(app, "2020.2", "2020Q4", policy_data("2020.2"))["status"] == "rejected"


# Cut-off and late reports ---------------------------------------------------------------------


def test_reports_recorded_after_the_cut_off_are_kept_listed_as_late_and_not_counted():
    world = two_quarters()
    late = world.capital("W2", "50", on="2020-09-20", recorded="2020-10-12")
    world.deliver()

    official = world.app.get_ranking("2020Q3")
    provisional = world.app.get_ranking("2020Q3", "provisional")

    assert official["cut_off"] == "2020-10-10"
    assert official["recorded_by"] == "2020-10-10T15:59:59.999999+00:00"
    assert row(official, WUHAN)["indicators"]["capital_arrived"]["actual"] == "1.00"
    assert row(provisional, WUHAN)["indicators"]["capital_arrived"]["actual"] == "51.00"
    assert [(e["type"], e["region"]) for e in official["late"]] == [
        ("project.capital_arrived", WUHAN),
        ("milestone.verified", WUHAN),
    ]
    assert official["late"][0]["event_id"] == late
    card = world.app.get_scorecard("2020Q3", WUHAN)
    assert [e["event_id"] for e in card["late"]][:1] == [late]


def test_a_published_ranking_never_changes_and_its_scorecards_show_what_came_after():
    world = two_quarters()
    published = world.app.publish_ranking("2020Q3")
    after = world.capital("W2", "50", on="2020-09-20", recorded="2020-10-05")  # on time
    world.deliver()

    assert world.app.get_ranking("2020Q3")["hash"] == published["hash"]
    assert world.app.publish_ranking("2020Q3")["hash"] == published["hash"]
    card = world.app.get_scorecard("2020Q3", WUHAN)
    assert card["published"] is True
    assert card["row"] == row(published, WUHAN)
    assert after in [e["event_id"] for e in card["late"]]
    assert world.app.get_scorecard("2020Q3", HUANGSHI)["late"] == []


def test_what_arrives_after_a_closed_quarter_was_ranked_shows_the_next_time_it_is_asked():
    world = two_quarters()
    first_late = world.capital("W2", "50", on="2020-09-20", recorded="2020-10-12")
    world.deliver()
    before = world.app.get_ranking("2020Q3")
    second_late = world.capital("H1", "7", on="2020-09-21", recorded="2020-10-13")
    # Recorded before the close, consumed only now (a slow upstream): it still counts.
    world.capital("W2", "3", on="2020-09-25", recorded="2020-10-09")
    world.deliver()

    after = world.app.get_ranking("2020Q3")
    card = world.app.get_scorecard("2020Q3", HUANGSHI)

    assert [e["event_id"] for e in before["late"]][:1] == [first_late]
    assert [e["event_id"] for e in after["late"][::2]] == [first_late, second_late]
    assert [e["event_id"] for e in card["late"]][:1] == [second_late]
    assert row(before, WUHAN)["indicators"]["capital_arrived"]["actual"] == "1.00"
    assert row(after, WUHAN)["indicators"]["capital_arrived"]["actual"] == "4.00"


def test_scoring_answers_the_same_after_a_restart_from_its_store(tmp_path, monkeypatch):
    monkeypatch.setattr(application, "LEDGER_PAGE", 2)  # its ledgers read back in many pages
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "s.db")}
    world = two_quarters()
    world.app = ScoringApplication(env)
    world.registry.delivered = world.tracking.delivered = 0
    world.deliver()
    world.capital("W2", "50", on="2020-09-20", recorded="2020-10-12")
    world.deliver()
    published = world.app.publish_ranking("2020Q2")
    for day in ("2020-06-20", "2020-06-21", "2020-06-22"):  # a message each
        world.capital("H1", "4", on=day, recorded="2020-07-20")
        world.deliver()
    answers = [world.app.get_ranking("2020Q3"), world.app.get_scorecard("2020Q2", HUANGSHI)]

    restarted = ScoringApplication(env)

    assert [restarted.get_ranking("2020Q3"), restarted.get_scorecard("2020Q2", HUANGSHI)] == (
        answers
    )
    assert answers[1]["hash"] == published["hash"] and len(answers[1]["late"]) == 6


def test_a_quarter_first_reported_after_its_cut_off_closes_its_cut_off_days_after_that():
    world = World()
    world.propose("W1", WUHAN, on="2020-06-01")
    world.register("W1", on="2020-08-10", recorded="2021-03-01")  # loaded long after
    world.register("W1", on="2020-09-10", recorded="2021-03-15")  # 14 days later: late
    world.deliver()

    ranking = world.app.get_ranking("2020Q3")

    assert ranking["recorded_by"] == "2021-03-11T15:59:59.999999+00:00"
    assert row(ranking, WUHAN)["indicators"]["registrations"]["actual"] == "1"
    assert len(ranking["late"]) == 2  # the second report and its verification


def test_a_scorecard_shows_actual_target_points_trips_against_quota_and_rank():
    world = two_quarters()
    world.appoint("L1", WUHAN, "principal")
    world.appoint("L2", WUHAN, "investment_lead")
    world.trip("L1", "2020-07-20")
    world.deliver()

    card = world.app.get_scorecard("2020Q3", WUHAN)

    assert card["row"]["trips"] == {"completed": 1, "quota_share": "2.00"}
    assert card["row"]["indicators"]["leader_trips"] == {
        "actual": "0.50",
        "target": None,
        "points": "10.00",
        "basis": "relative",
    }
    assert card["row"]["indicators"]["registrations"]["actual"] == "1"
    assert {"rank", "total", "bonuses", "deductions", "tier"} <= card["row"].keys()
    assert world.app.get_scorecard("2020Q3", "420111") is None  # a county, not a 市州


# Rebuilds ---------------------------------------------------------------------------------------


def test_rebuilding_from_the_upstream_logs_gives_the_published_bytes_over_quarters_and_policies():
    world = two_quarters()
    app = world.app
    published = {"2020Q2": app.publish_ranking("2020Q2")}
    adopt(app, "2020.2", "2020Q3", capital_heavy("2020.2"))
    published["2020Q3"] = app.publish_ranking("2020Q3")
    world.capital("H1", "3", on="2020-11-02")
    world.register("W2", on="2020-11-03")
    world.deliver()
    adopt(app, "2020.3", "2020Q4", policy_data("2020.3", cut_off_days=20))
    published["2020Q4"] = app.publish_ranking("2020Q4")
    world.capital("W1", "7", on="2020-09-30", recorded="2021-01-05")  # after all publications
    world.deliver()

    for quarter, ranking in published.items():
        rebuild = app.rebuild_ranking(quarter, world.reads())
        assert rebuild["matches_published"] is True, quarter
        assert published_bytes(rebuild["rebuilt"]) == published_bytes(ranking), quarter
    assert [published[q]["policy_version"] for q in published] == ["2020.1.1", "2020.2", "2020.3"]


def test_an_as_of_rebuild_counts_only_what_was_recorded_by_then_and_shows_what_changed():
    world = two_quarters()
    world.capital("W1", "20", on="2020-08-20", recorded="2020-09-01")
    world.deliver()
    moment = datetime(2020, 8, 15, tzinfo=UTC)

    rebuild = world.app.rebuild_ranking("2020Q3", world.reads(), moment)

    then = rebuild["rebuilt"]
    assert rebuild["matches_published"] is None
    assert row(then, WUHAN)["indicators"]["capital_arrived"]["actual"] == "1.00"
    assert row(rebuild["today"], WUHAN)["indicators"]["capital_arrived"]["actual"] == "21.00"
    assert then["recorded_by"] == "2020-08-15T00:00:00+00:00"
    assert then["as_of"] == {"registry": 3, "tracking": 14}
    changed = {r["region"]: r for r in rebuild["differences"]["rows"]}
    assert changed[WUHAN]["rank"] == {"then": 2, "now": 1}
