"""A project's whole life under the plan, driven through the public API of the running system:
the four lists of (二) read as the office reads them, the moves allowed and refused, counting a
signing once, the key-project flag, 五个一, and the milestones of (十九) with their checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    codes,
    credit_code,
    proposal,
    publish,
    report,
    running_system,
    the_error,
    unique,
)

WUHAN, HONGSHAN, JIANGAN = "pref:420100", "420111", "420102"  # 武汉市, 洪山区, 江岸区
YICHANG, YILING = "pref:420500", "420506"  # 宜昌市, 夷陵区
OFFICE = "office"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("lifecycle")) as running:
        yield running


def sign(code: str, source: str, amount: str = "25", on: str = "2020-07-10") -> dict:
    return report("project.signed", source, on, project_code=code, contract_investment=amount)


def start(code: str, source: str, on: str = "2020-07-20") -> dict:
    return report(
        "project.construction_started", source, on, project_code=code, kind="construction"
    )


def signed_project(system: RunningSystem, code: str, total: str = "25") -> None:
    accepted(
        system,
        WUHAN,
        proposal(code, WUHAN, HONGSHAN, total=total),
        report("project.tracking_started", WUHAN, "2020-07-02", project_code=code),
        sign(code, WUHAN, total),
    )


def test_a_project_moves_along_the_four_lists_read_per_province_prefecture_county_department(
    system,
):
    code = unique("LIST")
    with system.client() as office:
        accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN))
        # A 市州's and a county's lists hold the key projects each designated (二).
        accepted(
            system,
            WUHAN,
            report("project.designated", WUHAN, project_code=code, unit="420100"),
            report("project.designated", WUHAN, project_code=code, unit=HONGSHAN),
        )
        for scope in ({}, {"region": "420100"}, {"region": HONGSHAN}, {"department": "jingxin"}):
            assert code in codes(office.list_projects("promotion", **scope)), scope
        assert code not in codes(office.list_projects("promotion", region="420500"))
        assert code not in codes(office.list_projects("promotion", department="fagai"))

        accepted(system, WUHAN, report("project.tracking_started", WUHAN, project_code=code))
        assert code in codes(office.list_projects("tracking", region=HONGSHAN))
        assert code not in codes(office.list_projects("promotion"))

        accepted(system, WUHAN, sign(code, WUHAN))
        signed = office.list_projects("signed", region="420100")
        assert code in codes(signed)
        assert signed["title"] == "武汉市招商引资重点项目签约清单"

        [started] = accepted(system, WUHAN, start(code, WUHAN))
        # Registry hears of the start from tracking and moves the project to 开工 (二).
        listing = office.list_projects("started", department="jingxin")
        assert code in codes(listing)
        assert listing["title"] == "省经信厅招商引资重点项目开工清单"
        row = next(r for r in listing["projects"] if r["project_code"] == code)
        assert (row["region_name"], row["departments"], row["key_project"]) == (
            "洪山区",
            ["dept:jingxin"],
            True,
        )
        assert office.get_project(code)["lists"] == ["started"]
        moves = [e for e in office.history(code) if e["type"] == "project.list_changed"]
        assert [(m["payload"]["list"], m["payload"]["caused_by"]) for m in moves] == [
            ("started", started)
        ]


def test_moves_the_plan_does_not_allow_are_refused_and_a_withdrawn_project_leaves_every_list(
    system,
):
    code = unique("MOVE")
    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN, total="8"))

    too_early = publish(
        system,
        WUHAN,
        start(code, WUHAN),
        report("project.capital_arrived", WUHAN, project_code=code, amount="1"),
    )
    assert [the_error(o)["rule"] for o in too_early] == ["before_signing", "before_signing"]

    accepted(
        system,
        WUHAN,
        report("project.tracking_started", WUHAN, project_code=code),
        sign(code, WUHAN, "8"),
    )
    [back, production] = publish(
        system,
        WUHAN,
        report("project.tracking_started", WUHAN, project_code=code),
        report("project.production_started", WUHAN, project_code=code),
    )
    assert the_error(back)["rule"] == "list_move_not_allowed"
    assert "签约清单" in the_error(back)["message_zh"]
    assert the_error(production)["rule"] == "production_before_construction"

    accepted(system, WUHAN, report("project.withdrawn", WUHAN, project_code=code, reason="撤资"))
    with system.client() as office:
        assert code not in codes(office.list_projects())
        assert office.get_project(code)["lists"] == []
    after = publish(system, WUHAN, sign(code, WUHAN, "9"), start(code, WUHAN))
    assert [the_error(o)["rule"] for o in after] == ["project_withdrawn", "project_withdrawn"]


def test_a_signing_counts_once_and_a_later_one_only_for_its_increase(system):
    code = unique("SIGN")
    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN, total="30"))
    accepted(system, WUHAN, sign(code, WUHAN, "10"), sign(code, WUHAN, "15", on="2020-08-01"))
    [lower] = publish(system, WUHAN, sign(code, WUHAN, "12", on="2020-08-05"))
    assert the_error(lower)["rule"] == "not_an_increase"

    with system.client() as office:
        signings = [e["payload"] for e in office.history(code) if e["type"] == "project.signed"]
        listing = office.list_projects("signed", region=HONGSHAN, register=True)
        project = office.get_project(code)
    assert [(s["contract_investment"], s["increase"]) for s in signings] == [
        ("10", "10"),
        ("15", "5"),
    ]
    assert sum(1 for row in listing["projects"] if row["project_code"] == code) == 1
    assert project["contract_investment"] == "15"


def test_the_key_project_flag_is_derived_never_typed_in_and_recomputed_on_correction(system):
    code = unique("KEY")
    [typed] = publish(system, WUHAN, proposal(unique("TYPED"), WUHAN, HONGSHAN, key_project=True))
    assert (the_error(typed)["field"], the_error(typed)["rule"]) == (
        "payload.key_project",
        "unknown_field",
    )

    accepted(system, WUHAN, proposal(code, WUHAN, HONGSHAN, total="18.5"))
    with system.client() as office:
        assert office.get_project(code)["key_project"] is False
        raise_total = report(
            "project.corrected",
            WUHAN,
            project_code=code,
            changes={"total_investment": "22"},
            reason="可研批复追加二期产能",
        )
        accepted(system, WUHAN, raise_total)
        assert office.get_project(code)["key_project"] is True  # ≥ 20亿 (二)

        real_estate = report(
            "project.corrected",
            OFFICE,
            project_code=code,
            changes={"categories": ["real_estate"]},
            reason="经核实为房地产项目",
        )
        accepted(system, OFFICE, real_estate)
        assert office.get_project(code)["key_project"] is False  # 不含房地产 (二)

        corrections = [e for e in office.history(code) if e["type"] == "project.corrected"]
    assert [
        (
            c["source"],
            c["payload"]["previous"],
            c["payload"]["changes"],
            c["payload"]["key_project"],
        )
        for c in corrections
    ] == [
        (WUHAN, {"total_investment": "18.5"}, {"total_investment": "22"}, True),
        (OFFICE, {"categories": []}, {"categories": ["real_estate"]}, False),
    ]


def test_key_projects_lacking_five_ones_are_listed_per_unit_until_assigned(system):
    key, small = unique("FIVE"), unique("SMALL")
    accepted(
        system,
        YICHANG,
        proposal(key, YICHANG, YILING, total="35", industry="automotive"),
        proposal(small, YICHANG, YILING, total="5", industry="automotive"),
    )
    with system.client() as office:
        gaps = office.five_ones_gaps("420500")
        [yichang] = [u for u in gaps["by_prefecture"] if u["unit"] == "420500"]
        lacking = {row["project_code"]: row["missing"] for row in yichang["projects"]}
        assert lacking[key] == ["leader", "task_force", "plan"]
        assert small not in lacking  # not a provincial key project
        by_fagai = office.five_ones_gaps("dept:fagai")["by_department"]
        assert key in {r["project_code"] for u in by_fagai for r in u["projects"]}

        accepted(
            system,
            YICHANG,
            report(
                "project.assigned",
                YICHANG,
                project_code=key,
                leader="宜昌市市长",
                task_force="新能源汽车项目专班",
                plan="《项目推进方案》",
            ),
        )
        after = office.five_ones_gaps("420500")["by_prefecture"]
        assert key not in {r["project_code"] for u in after for r in u["projects"]}


def test_a_start_rejected_or_retracted_takes_the_project_off_the_started_list(system):
    rejected_code, retracted_code = unique("REJ"), unique("RET")
    signed_project(system, rejected_code)
    signed_project(system, retracted_code)
    [rejected_start, retracted_start] = accepted(
        system, WUHAN, start(rejected_code, WUHAN), start(retracted_code, WUHAN)
    )
    with system.client() as office:
        assert {rejected_code, retracted_code} <= codes(office.list_projects("started"))

        accepted(
            system,
            OFFICE,
            report(
                "milestone.rejected",
                OFFICE,
                "2020-07-25",
                milestone_event_id=rejected_start,
                reason="现场核查未开工",
            ),
        )
        accepted(
            system,
            WUHAN,
            report(
                "milestone.retracted",
                WUHAN,
                "2020-07-26",
                milestone_event_id=retracted_start,
                reason="仅完成场地平整，撤回开工报告",
            ),
        )
        started = codes(office.list_projects("started"))
        assert rejected_code not in started and retracted_code not in started
        assert {rejected_code, retracted_code} <= codes(office.list_projects("signed"))

        # The office verifies the start it had rejected: on the list again. A retraction is final.
        accepted(
            system,
            OFFICE,
            report("milestone.verified", OFFICE, "2020-08-01", milestone_event_id=rejected_start),
        )
        assert rejected_code in codes(office.list_projects("started"))
        [again] = publish(
            system,
            OFFICE,
            report("milestone.verified", OFFICE, "2020-08-01", milestone_event_id=retracted_start),
        )
        assert the_error(again)["rule"] == "milestone_retracted"
        history = office.history(retracted_code)
    retraction = next(e for e in history if e["type"] == "milestone.retracted")
    assert retraction["payload"]["reason"] == "仅完成场地平整，撤回开工报告"
    assert retraction["source"] == WUHAN


def test_milestones_show_cumulative_capital_in_the_provisional_and_the_official_view(system):
    code = unique("CAP")
    signed_project(system, code, total="10")
    [registered, first, second, third] = accepted(
        system,
        WUHAN,
        report(
            "project.company_registered",
            WUHAN,
            "2020-07-12",
            project_code=code,
            credit_code=credit_code(),
            company_name="华为（洪山）数字科技有限公司",
        ),
        report("project.capital_arrived", WUHAN, "2020-07-15", project_code=code, amount="3"),
        report("project.capital_arrived", WUHAN, "2020-08-15", project_code=code, amount="4"),
        report("project.capital_arrived", WUHAN, "2020-09-15", project_code=code, amount="5"),
    )
    accepted(
        system,
        OFFICE,
        report("milestone.verified", OFFICE, "2020-07-20", milestone_event_id=registered),
        report("milestone.verified", OFFICE, "2020-07-20", milestone_event_id=first),
    )
    with system.client() as office:
        view = office.milestones(code)
        assert office.milestones(unique("NOPE")) is None
    capital = [m for m in view["milestones"] if m["kind"] == "capital_arrived"]
    assert [m["cumulative"] for m in capital] == [
        {"provisional": "3", "official": "3"},
        {"provisional": "7", "official": "3"},
        {"provisional": "12", "official": "3"},
    ]
    assert [m["status"] for m in capital] == ["verified", "reported", "reported"]
    # 12亿 arrived against a total of 10亿: taken, but flagged for the office's review.
    assert view["flagged_for_review"] == [third]
    assert view["views"]["provisional"]["over_total_investment"] is True
    assert view["views"]["official"] == {
        "registered": True,
        "construction_started": False,
        "production_started": False,
        "capital_arrived": "3",
        "over_total_investment": False,
    }
    assert second in {m["event_id"] for m in capital}

    accepted(
        system,
        OFFICE,
        report("milestone.rejected", OFFICE, "2020-09-20", milestone_event_id=third, reason="贷款"),
    )
    with system.client() as office:
        after = office.milestones(code)
    assert after["views"]["provisional"]["capital_arrived"] == "7"
    assert after["flagged_for_review"] == []


@pytest.fixture
def postgres_system(tmp_path: Path) -> Iterator[RunningSystem]:
    with running_system(tmp_path, store="postgres") as running:
        yield running


@pytest.mark.postgres
def test_the_lifecycle_holds_on_postgresql(postgres_system):
    """The representative walk on PostgreSQL: lists, the 开工 move and back, a refusal."""
    system, code = postgres_system, unique("PG")
    signed_project(system, code)
    # on 洪山区's lists once it names the project one of its key projects (二)
    accepted(system, WUHAN, report("project.designated", WUHAN, project_code=code, unit=HONGSHAN))
    [started] = accepted(system, WUHAN, start(code, WUHAN))
    with system.client() as office:
        assert code in codes(office.list_projects("started", region=HONGSHAN))
        [refused] = publish(
            system, YICHANG, report("project.withdrawn", YICHANG, project_code=code, reason="-")
        )
        assert the_error(refused)["rule"] == "outside_jurisdiction"
        accepted(
            system,
            WUHAN,
            report("milestone.retracted", WUHAN, milestone_event_id=started, reason="误报"),
        )
        assert code in codes(office.list_projects("signed", region=HONGSHAN))
        refusals = office.refusals()["refusals"]
    assert [(r["event_id"], r["rule"]) for r in refusals] == [
        (refused["event_id"], "outside_jurisdiction")
    ]
