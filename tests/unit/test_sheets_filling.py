"""Reports written into the 台账 template (zhaoshang/sheets/filling.py) read back as the reports
they were: every report type a workbook carries, the words a clerk writes kept as written, and
the demo's 宜昌市 quarter (tools/demo/ledger.py) as the rows `make run` imports. Whether the
gateway accepts those rows is tests/e2e/test_demo_ledger.py's to show."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from services.kernel.contract.report import validate_report
from tests.contract_examples import raw_report
from tools.demo import generate_demo
from tools.demo.ledger import UNIT, Ledger, ledger
from zhaoshang.sheets.filling import Unfillable, fill, numbering
from zhaoshang.sheets.forms import FORMS
from zhaoshang.sheets.importing import event_id, read, steps

SOURCE = "pref:420100"
QUARTER = "2020Q3"


def as_read(report: dict, local_id: str) -> dict:
    """What reading gives for `report` in a row numbered `local_id`: the row's event_id, and
    no empty list (a blank cell, which the contract takes as no list)."""
    payload = {k: v for k, v in report["payload"].items() if v != []}
    return {
        **report,
        "event_id": event_id(report["source"], report["type"], local_id),
        "payload": payload,
    }


def round_trip(reports: list[dict], source: str = SOURCE) -> tuple[list[dict], list[str]]:
    reading = read(fill(reports), source)
    assert reading.problems == []
    return reading.reports, numbering(reports)


def test_every_report_type_a_workbook_carries_reads_back_as_it_went_in():
    reports = [raw_report(form.type) for form in FORMS]
    read_back, local_ids = round_trip(reports)
    assert read_back == [as_read(r, n) for r, n in zip(reports, local_ids, strict=True)]
    assert {r["type"] for r in read_back} == {form.type for form in FORMS}


def test_what_a_cell_must_hold_exactly_comes_back_exactly():
    reports = [
        raw_report(
            "project.proposed",
            name="阿里巴巴（中国）数字产业园，一期：研发中心",  # full-width punctuation kept
            investor={
                "name": "百度在线网络技术（北京）有限公司",
                "origin": "CN-11",
                "fortune_global_500": False,
                "china_top_500": True,
            },
            total_investment="0.0001",
            categories=["new_infrastructure", "foreign_investment"],
            planned_by_leader="007",  # a code stays text
        ),
        *(
            raw_report("project.capital_arrived", amount=amount)
            for amount in ("12.3", "1234.5678", "9999.99999999999999", "20")
        ),
        raw_report("project.capital_arrived", amount="12.3"),  # the same again: two rows
        raw_report(
            "leader.trip_completed", companies_met=["华为技术有限公司", "罗伯特·博世有限公司"]
        ),
    ]
    read_back, local_ids = round_trip(reports)
    assert read_back == [as_read(r, n) for r, n in zip(reports, local_ids, strict=True)]
    capital = [r for r in read_back if r["type"] == "project.capital_arrived"]
    assert len({r["event_id"] for r in capital}) == 5  # two same-day, same-amount rows stay two


def test_the_rows_are_written_as_a_clerk_writes_them():
    book = openpyxl.load_workbook(io.BytesIO(fill([raw_report("project.proposed")])))
    headers = [cell.value for cell in book["新建项目"][1]]
    row = dict(zip(headers, (cell.value for cell in book["新建项目"][2]), strict=True))
    assert row["本地编号"] == "1"
    assert row["发生日期（年-月-日）"].date() == date(2020, 9, 10)
    assert row["所在地区"] == "420102 江岸区"  # as the drop-down offers it
    assert row["总投资（亿元）"] == 25.5
    assert row["项目类别"] == "新基建"
    assert row["世界500强（是/否）"] == "否"


def test_what_the_template_cannot_carry_is_refused_not_dropped():
    corrected = raw_report("project.corrected")
    with pytest.raises(Unfillable, match=r"project\.corrected"):
        fill([corrected])
    with_evidence = raw_report("project.production_started", evidence=[{"sha256": "0" * 64}])
    with pytest.raises(Unfillable, match="evidence"):
        fill([with_evidence])
    with pytest.raises(Unfillable, match="、"):
        fill([raw_report("leader.trip_completed", companies_met=["甲公司、乙公司"])])
    with pytest.raises(Unfillable, match="twice"):
        fill([raw_report("project.signed")] * 2, ["1", "1"])


# The demo's 台账 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quarter() -> list[dict]:
    return generate_demo(QUARTER)


@pytest.fixture(scope="module")
def kept(quarter: list[dict]) -> Ledger:
    return ledger(quarter, QUARTER)


def test_the_demos_workbook_holds_its_prefectures_whole_quarter(quarter, kept):
    own = [r for r in quarter if r["source"] == f"pref:{UNIT}"]
    reading = read(kept.workbook, kept.source)
    assert reading.problems == [] and kept.name == "宜昌市-2020Q3-台账.xlsx"
    by_id = {r["event_id"]: r for r in reading.reports}
    assert len(by_id) == len(own) == len(kept.renamed) > 50
    for report in own:
        row = by_id[kept.renamed[report["event_id"]]]
        assert as_read(report, "")["payload"] == row["payload"]
        assert (row["type"], row["occurred_on"]) == (report["type"], report["occurred_on"])
        validate_report(row, today=date(2020, 12, 31))  # the contract's own checks pass


def test_the_rest_of_the_demo_names_the_workbooks_reports_by_their_rows_ids(quarter, kept):
    others = kept.others(quarter)
    assert len(others) == len(quarter) - len(kept.renamed)
    was = {r["event_id"]: r for r in quarter}
    checks = 0  # the office's checks of 宜昌市's milestones
    for report in others:
        named = was[report["event_id"]]["payload"].get("milestone_event_id")
        if named in kept.renamed:
            checks += 1
            assert report["payload"] == {
                **was[report["event_id"]]["payload"],
                "milestone_event_id": kept.renamed[named],
            }
        else:
            assert report == was[report["event_id"]]
    assert checks > 10


def test_a_quarter_is_sent_in_steps_leaders_and_projects_before_what_depends_on_them(kept):
    first, second = steps(read(kept.workbook, kept.source))
    types = [r["type"] for r in first.reports]
    assert (
        types[0] == "leader.appointed"
        and "leader.appointed" not in types[types.index("project.proposed") :]
    )
    assert {r["type"] for r in second.reports} >= {"project.capital_arrived", "task.completed"}
    assert not {r["type"] for r in second.reports} & set(types)
