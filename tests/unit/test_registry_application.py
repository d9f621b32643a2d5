"""Registry as senders and the office use it, in memory: projects moving along the four lists of
(二), provincial key projects and their 五个一, corrections and withdrawals, leaders, who may
report what, and resends."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.kernel.contract.report import validate_report
from services.registry.application import RegistryApplication

TODAY = date(2020, 9, 15)
WUHAN, JIANG_AN, HUANGSHI = "420100", "420102", "420200"  # 江岸区 is a county of 武汉市
CHIP_PLANT = "WH-2020-001"


def raw_report(type_: str, source: str, payload: dict[str, Any], event_id: str = "") -> dict:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": type_,
        "source": source,
        "occurred_on": "2020-09-10",
        "schema_version": 1,
        "payload": payload,
    }


class Registry:
    """Registry on an in-memory store, spoken to as a sending system speaks to it."""

    def __init__(self) -> None:
        self.app = RegistryApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})

    def send(self, type_: str, source: str = f"pref:{WUHAN}", event_id: str = "", **payload):
        """The outcome of one report; a broken rule's name is in `outcome["rule"]`."""
        raw = raw_report(type_, source, payload, event_id)
        (outcome,) = self.app.ingest([validate_report(raw, today=TODAY)])
        errors = outcome["errors"]
        return {**outcome, "rule": errors[0]["rule"] if errors else None}

    def propose(self, code: str = CHIP_PLANT, source: str = f"pref:{WUHAN}", **overrides):
        payload = {
            "project_code": code,
            "name": "长江存储二期",
            "investor": {"name": "紫光集团", "origin": "CN-11"},
            "industry": "integrated_circuit",
            "region": JIANG_AN,
            "total_investment": "25.5",
            "categories": ["new_infrastructure"],
            "channel": "platform_event",
            **overrides,
        }
        return self.send("project.proposed", source, **payload)

    def sign(self, amount: str = "24", code: str = CHIP_PLANT, source: str = f"pref:{WUHAN}"):
        return self.send("project.signed", source, project_code=code, contract_investment=amount)

    def appoint(self, leader_id: str, unit: str, source: str = "", role: str = "principal"):
        return self.send(
            "leader.appointed",
            source or f"pref:{unit}",
            leader_id=leader_id,
            name="李四",
            unit=unit,
            role=role,
        )

    def project(self, code: str = CHIP_PLANT) -> dict:
        state = self.app.get_project(code)
        assert state is not None, f"{code} was never stored"
        return state


@pytest.fixture
def registry() -> Registry:
    return Registry()


# The four lists (二) --------------------------------------------------------------------------


def test_a_proposed_project_is_on_the_promotion_list(registry):
    assert registry.propose()["status"] == "accepted"

    assert registry.project()["lists"] == ["promotion"]
    assert [row["project_code"] for row in registry.app.list_projects("promotion")["projects"]] == [
        CHIP_PLANT
    ]


def test_a_project_moves_from_promotion_through_tracking_to_the_signed_list(registry):
    registry.propose()
    started = registry.send("project.tracking_started", project_code=CHIP_PLANT)
    assert (started["status"], registry.project()["lists"]) == ("accepted", ["tracking"])

    registry.sign("24")

    assert registry.project()["lists"] == ["signed"]
    assert registry.project()["contract_investment"] == Decimal("24")


def test_a_signed_project_cannot_move_back_to_the_tracking_list(registry):
    registry.propose()
    registry.sign()

    outcome = registry.send("project.tracking_started", project_code=CHIP_PLANT)

    assert (outcome["status"], outcome["rule"]) == ("rejected", "list_move_not_allowed")
    assert registry.project()["lists"] == ["signed"]


def test_tracking_cannot_start_twice(registry):
    registry.propose()
    registry.send("project.tracking_started", project_code=CHIP_PLANT)

    outcome = registry.send("project.tracking_started", project_code=CHIP_PLANT)

    assert outcome["rule"] == "list_move_not_allowed"
    started = [e for e in registry.app.history(CHIP_PLANT) if "tracking" in e["type"]]
    assert len(started) == 1


def test_a_second_signing_must_raise_the_contract_investment(registry):
    registry.propose()
    registry.sign("24")

    assert registry.sign("24")["rule"] == "not_an_increase"
    assert registry.sign("30")["status"] == "accepted"
    assert registry.project()["contract_investment"] == Decimal("30")


def test_a_project_proposed_twice_is_refused_and_keeps_its_first_facts(registry):
    registry.propose(name="长江存储二期")

    outcome = registry.propose(name="另一个名字")

    assert outcome["rule"] == "project_exists"
    assert registry.project()["name"] == "长江存储二期"


def test_a_report_on_a_project_nobody_proposed_is_refused(registry):
    outcome = registry.sign(code="WH-404")

    assert (outcome["status"], outcome["rule"]) == ("rejected", "unknown_project")
    assert registry.app.get_project("WH-404") is None


# Provincial key projects and 五个一 (二) -------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "is_key"), [("20", True), ("25.5", True), ("19.99", False), ("5", False)]
)
def test_a_project_of_20_yi_or_more_is_a_provincial_key_project(registry, total, is_key):
    registry.propose(total_investment=total)

    assert registry.project()["key_project"] is is_key


@pytest.mark.parametrize(
    "category", ["real_estate", "characteristic_town", "ppp_urban_infrastructure"]
)
def test_real_estate_characteristic_towns_and_ppp_infrastructure_are_never_key_projects(
    registry, category
):
    registry.propose(total_investment="100", categories=["new_infrastructure", category])

    assert registry.project()["key_project"] is False


def test_a_correction_changes_the_facts_and_derives_the_key_status_again(registry):
    registry.propose(total_investment="25.5")

    outcome = registry.send(
        "project.corrected",
        project_code=CHIP_PLANT,
        changes={"total_investment": "12", "name": "长江存储二期（一阶段）"},
        reason="投资额核实后调整",
    )

    assert outcome["status"] == "accepted"
    corrected = registry.project()
    assert corrected["total_investment"] == Decimal("12")
    assert corrected["name"] == "长江存储二期（一阶段）"
    assert corrected["key_project"] is False
    (event,) = [e for e in registry.app.history(CHIP_PLANT) if e["type"] == "project.corrected"]
    assert event["payload"]["previous"]["total_investment"] == "25.5"


def test_a_key_project_lacks_its_five_ones_until_they_are_assigned(registry):
    registry.propose(total_investment="25.5")
    registry.propose("WH-SMALL", total_investment="5")

    gaps = registry.app.five_ones_gaps()
    assert gaps["count"] == 1
    (wuhan,) = gaps["by_prefecture"]
    assert wuhan["unit"] == WUHAN
    assert wuhan["projects"][0]["missing"] == ["leader", "task_force", "plan"]

    registry.send(
        "project.assigned",
        project_code=CHIP_PLANT,
        leader="张三",
        task_force="长江存储二期专班",
        plan="一月完成用地，三月开工",
    )

    assert registry.app.five_ones_gaps()["count"] == 0
    assert registry.project()["five_in_one"]["task_force"] == "长江存储二期专班"


# Withdrawal ---------------------------------------------------------------------------------


def test_a_withdrawn_project_leaves_every_list_and_refuses_further_reports(registry):
    registry.propose()
    registry.sign()
    registry.send("project.withdrawn", project_code=CHIP_PLANT, reason="投资方撤资")

    assert registry.project()["lists"] == []
    assert registry.app.list_projects()["count"] == 0
    again = registry.send("project.withdrawn", project_code=CHIP_PLANT, reason="再撤")
    assert (registry.sign("30")["rule"], again["rule"]) == ("project_withdrawn",) * 2


# Who may report what (jurisdiction) ---------------------------------------------------------


def test_a_prefecture_may_not_report_another_prefectures_project_and_the_refusal_is_kept(
    registry,
):
    registry.propose()

    outcome = registry.sign(source=f"pref:{HUANGSHI}")

    assert (outcome["status"], outcome["rule"]) == ("rejected", "outside_jurisdiction")
    assert registry.project()["lists"] == ["promotion"]
    (refusal,) = registry.app.refusals(f"pref:{HUANGSHI}")
    assert (refusal["type"], refusal["rule"]) == ("project.signed", "outside_jurisdiction")


def test_a_county_reports_projects_of_its_own_county_only(registry):
    assert registry.propose(source=f"county:{JIANG_AN}")["status"] == "accepted"

    outcome = registry.propose("WH-2", source=f"county:{JIANG_AN}", region=WUHAN)

    assert outcome["rule"] == "outside_jurisdiction"


def test_a_department_reports_only_projects_of_the_industries_it_leads(registry):
    # 附件2: 省经信厅 (jingxin) leads 集成电路, 省发改委 (fagai) leads 汽车.
    assert registry.propose(source="dept:jingxin", region=HUANGSHI)["status"] == "accepted"

    outcome = registry.propose("HS-CAR", source="dept:jingxin", industry="automotive")

    assert outcome["rule"] == "outside_jurisdiction"
    assert registry.app.get_project("HS-CAR") is None


def test_a_correction_may_not_move_a_project_out_of_the_senders_jurisdiction(registry):
    registry.propose()

    outcome = registry.send(
        "project.corrected",
        project_code=CHIP_PLANT,
        changes={"region": HUANGSHI},
        reason="所在地调整",
    )

    assert outcome["rule"] == "outside_jurisdiction"
    assert registry.project()["prefecture"] == WUHAN


def test_the_office_may_move_a_project_to_another_prefecture(registry):
    registry.propose()

    registry.send(
        "project.corrected",
        "office",
        project_code=CHIP_PLANT,
        changes={"region": HUANGSHI},
        reason="所在地调整",
    )

    assert registry.project()["prefecture"] == HUANGSHI
    assert registry.app.list_projects(region=HUANGSHI, register=True)["count"] == 1
    assert registry.app.list_projects(region=WUHAN, register=True)["count"] == 0


# Leaders ((二十一), (二十二)) -------------------------------------------------------------------


def test_a_prefecture_appoints_its_own_leaders_but_not_another_units(registry):
    assert registry.appoint("wuhan-mayor", WUHAN)["status"] == "accepted"

    outcome = registry.appoint("huangshi-mayor", HUANGSHI, source=f"pref:{WUHAN}")

    assert outcome["rule"] == "outside_jurisdiction"
    assert [x["leader_id"] for x in registry.app.leaders_of()] == ["wuhan-mayor"]


def test_another_units_leader_cannot_be_reappointed_into_ones_own_unit(registry):
    registry.appoint("huangshi-mayor", HUANGSHI)

    outcome = registry.appoint("huangshi-mayor", WUHAN, source=f"pref:{WUHAN}")

    assert (outcome["rule"], outcome["errors"][0]["field"]) == (
        "outside_jurisdiction",
        "payload.leader_id",
    )
    assert registry.app.leader_states(["huangshi-mayor"])["huangshi-mayor"]["unit"] == HUANGSHI


def test_a_project_cannot_be_planned_by_a_leader_nobody_appointed(registry):
    outcome = registry.propose(planned_by_leader="nobody")

    assert outcome["rule"] == "unknown_leader"


def test_a_leaders_real_estate_project_does_not_count_as_their_major_project(registry):
    registry.appoint("wuhan-mayor", WUHAN)
    registry.propose("WH-CHIPS", planned_by_leader="wuhan-mayor", total_investment="30")
    registry.propose(
        "WH-HOMES",
        planned_by_leader="wuhan-mayor",
        total_investment="30",
        industry="real_estate_engineering",
        categories=["real_estate"],
    )

    (mayor,) = registry.app.leaders_of(WUHAN)

    counts = {p["project_code"]: p["counts"] for p in mayor["planned_projects"]}
    assert counts == {"WH-CHIPS": True, "WH-HOMES": False}
    assert mayor["planned_project_target"] == Decimal("30")


# Resends -------------------------------------------------------------------------------------


def test_the_same_report_sent_again_is_a_duplicate_and_applied_once(registry):
    event_id = str(uuid.uuid4())
    registry.propose()
    first = registry.send(
        "project.signed", event_id=event_id, project_code=CHIP_PLANT, contract_investment="24"
    )

    again = registry.send(
        "project.signed", event_id=event_id, project_code=CHIP_PLANT, contract_investment="24"
    )

    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    signings = [e for e in registry.app.history(CHIP_PLANT) if e["type"] == "project.signed"]
    assert len(signings) == 1


def test_an_event_id_reused_for_different_content_is_a_conflict_and_changes_nothing(registry):
    event_id = str(uuid.uuid4())
    registry.propose()
    registry.send(
        "project.signed", event_id=event_id, project_code=CHIP_PLANT, contract_investment="24"
    )

    reused = registry.send(
        "project.signed", event_id=event_id, project_code=CHIP_PLANT, contract_investment="40"
    )

    assert (reused["status"], reused["rule"]) == ("conflict", "event_id_reused")
    assert registry.project()["contract_investment"] == Decimal("24")
