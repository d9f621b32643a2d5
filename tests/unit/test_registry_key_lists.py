"""The lists of (二) are lists of key projects: the province's (and a department's) hold the
provincial key projects, derived (20亿元 and more, not real estate, 特色小镇 or PPP urban
infrastructure); a 市州's or county's hold the projects its government designates its own
(project.designated / project.undesignated). The whole register stays. In memory, registry as
senders speak to it. Also (二十二) "下同": a department leader's real-estate project is not their
major project either.
"""

from __future__ import annotations

import pytest

from tests.unit.test_registry_application import CHIP_PLANT, HUANGSHI, JIANG_AN, WUHAN, Registry

SMALL, HOMES = "WH-2020-SMALL", "WH-2020-HOMES"


def codes(listing: dict) -> set[str]:
    return {row["project_code"] for row in listing["projects"]}


@pytest.fixture
def registry() -> Registry:
    world = Registry()
    world.propose(CHIP_PLANT)  # 25.5亿元, integrated circuits: a provincial key project
    world.propose(SMALL, total_investment="3")
    world.propose(
        HOMES, total_investment="40", industry="real_estate_engineering", categories=["real_estate"]
    )
    return world


def designate(registry: Registry, code: str, unit: str, source: str = "", **kw) -> dict:
    return registry.send(
        "project.designated", source or f"pref:{WUHAN}", project_code=code, unit=unit, **kw
    )


def test_the_provinces_lists_hold_its_key_projects_and_the_register_holds_every_project(registry):
    province = registry.app.list_projects()
    register = registry.app.list_projects(register=True)

    assert codes(province) == {CHIP_PLANT}
    assert province["title"] == "湖北省招商引资重点项目清单"
    assert codes(register) == {CHIP_PLANT, SMALL, HOMES}
    assert register["title"] == "湖北省招商引资项目库（清单）"
    assert codes(registry.app.list_projects(department="jingxin")) == {CHIP_PLANT}


def test_a_prefectures_and_a_countys_lists_hold_the_projects_each_designated(registry):
    assert codes(registry.app.list_projects(region=WUHAN)) == set()

    assert designate(registry, SMALL, WUHAN)["status"] == "accepted"  # no size is set (二)
    assert designate(registry, HOMES, JIANG_AN)["status"] == "accepted"  # for its county

    assert codes(registry.app.list_projects(region=WUHAN)) == {SMALL}
    assert codes(registry.app.list_projects(region=JIANG_AN)) == {HOMES}
    assert codes(registry.app.list_projects(region=WUHAN, register=True)) == {
        CHIP_PLANT,
        SMALL,
        HOMES,
    }
    assert registry.project(SMALL)["designated_by"] == [WUHAN]
    assert registry.project(SMALL)["five_ones_missing"] == ["leader", "task_force", "plan"]


def test_undesignating_takes_a_project_off_that_governments_lists_only(registry):
    designate(registry, SMALL, WUHAN)
    designate(registry, SMALL, JIANG_AN)

    outcome = registry.send(
        "project.undesignated", project_code=SMALL, unit=WUHAN, reason="调整本地重点项目"
    )

    assert outcome["status"] == "accepted"
    assert codes(registry.app.list_projects(region=WUHAN)) == set()
    assert codes(registry.app.list_projects(region=JIANG_AN)) == {SMALL}


def test_a_designation_is_refused_outside_the_governments_area_twice_or_by_another_sender(
    registry,
):
    registry.appoint("huangshi-mayor", HUANGSHI)
    designate(registry, SMALL, WUHAN)

    elsewhere = designate(registry, SMALL, HUANGSHI, source="office")
    twice = designate(registry, SMALL, WUHAN)
    other_prefecture = designate(registry, SMALL, HUANGSHI, source=f"pref:{HUANGSHI}")
    department = designate(registry, CHIP_PLANT, WUHAN, source="dept:jingxin")
    never = registry.send(
        "project.undesignated", project_code=CHIP_PLANT, unit=WUHAN, reason="误报"
    )

    assert (elsewhere["rule"], elsewhere["errors"][0]["field"]) == (
        "project_outside_unit",
        "payload.unit",
    )
    assert "（二）" in elsewhere["errors"][0]["message_zh"]
    assert twice["rule"] == "already_designated"
    assert other_prefecture["rule"] == "outside_jurisdiction"
    assert department["rule"] == "outside_jurisdiction"
    assert never["rule"] == "not_designated"


def test_a_department_leaders_real_estate_project_is_not_their_major_project_22(registry):
    """(二十一) "房地产、特色小镇项目除外，下同" carries to (二十二)'s departments."""
    registry.appoint("zhujian-head", "dept:zhujian", "dept:zhujian", role="department_head")
    registry.propose(
        "ZJ-HOMES",
        source="dept:zhujian",
        planned_by_leader="zhujian-head",
        industry="real_estate_engineering",
        categories=["real_estate"],
    )
    registry.propose(
        "ZJ-DESIGN",
        source="dept:zhujian",
        planned_by_leader="zhujian-head",
        industry="real_estate_engineering",
        categories=[],
    )

    (head,) = registry.app.leaders_of("dept:zhujian")

    counts = {p["project_code"]: p["counts"] for p in head["planned_projects"]}
    assert counts == {"ZJ-HOMES": False, "ZJ-DESIGN": True}
    assert head["planned_project_target"] is None
