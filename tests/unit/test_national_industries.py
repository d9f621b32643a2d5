"""Industries outside 附件2: a project of 1亿元 and more in food, agriculture, chemicals or
traditional infrastructure is reported under GB/T 4754-2017 (reference data naming its source)
and counts in (十九) like any other. In memory: the reference data and registry as senders speak
to it.
"""

from __future__ import annotations

import pytest

from services.kernel.reference import reference
from services.kernel.reference.industries_national import DIVISION, SECTION
from tests.contract_examples import raw_report as contract_report
from tests.contract_examples import the_error
from tests.unit.test_registry_application import HUANGSHI, Registry


def test_the_national_classification_has_its_20_sections_and_97_divisions():
    national = reference().national_industries

    assert sum(1 for i in national.values() if i.group == SECTION) == 20
    assert sum(1 for i in national.values() if i.group == DIVISION) == 97
    assert national["gbt4754-14"].name == "食品制造业"
    assert national["gbt4754-26"].name == "化学原料和化学制品制造业"
    assert national["gbt4754-a"].name == "农、林、牧、渔业"
    assert national["gbt4754-48"].name == "土木工程建筑业"
    assert all(i.departments == () for i in national.values())  # 附件2 assigns none
    assert len(reference().industries) == 26  # 附件2 itself, row by row, unchanged


@pytest.mark.parametrize("industry", ["gbt4754-14", "gbt4754-a", "gbt4754-26", "gbt4754-48"])
def test_a_food_farming_chemicals_or_civil_works_project_can_be_reported(industry):
    registry = Registry()

    outcome = registry.propose(
        "HS-FOOD", f"pref:{HUANGSHI}", region=HUANGSHI, industry=industry, total_investment="1.5"
    )

    assert outcome["status"] == "accepted"
    row = registry.app.list_projects(region=HUANGSHI, register=True)["projects"][0]
    assert (row["industry"], row["departments"]) == (industry, [])
    assert row["industry_name"] == reference().industry(industry).name


def test_an_industry_in_neither_list_is_refused_naming_both():
    found = the_error(contract_report("project.proposed", industry="gbt4754-98"))

    assert (found.field, found.rule) == ("payload.industry", "unknown_industry")
    assert "GB/T 4754-2017" in found.message_zh


def test_no_department_may_report_a_project_of_a_national_industry():
    registry = Registry()

    outcome = registry.propose("JX-FOOD", "dept:jingxin", industry="gbt4754-14")

    assert outcome["rule"] == "outside_jurisdiction"  # the contract let it through
