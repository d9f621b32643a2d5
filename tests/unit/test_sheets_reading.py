"""Reading a 台账 the way its clerk meant it (zhaoshang/sheets): cells, headers, event ids, the
template's own shape, and the export of a ranking. No system running: the gateway's judgement
is the e2e suite's (tests/e2e/test_sheets_and_evidence.py)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from zhaoshang.sheets import cells
from zhaoshang.sheets.exporting import NothingToExport, ranking_tables, targets_table, workbook
from zhaoshang.sheets.forms import FORMS
from zhaoshang.sheets.importing import event_id, read
from zhaoshang.sheets.template import template


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        (44032, date(2020, 7, 20)),
        (44032.0, date(2020, 7, 20)),
        ("44032", date(2020, 7, 20)),
        ("2020.7.20", date(2020, 7, 20)),
        ("2020/07/20", date(2020, 7, 20)),
        ("２０２０年７月２０日", date(2020, 7, 20)),
        ("20200720", date(2020, 7, 20)),
        (datetime(2020, 7, 20, 9, 30), date(2020, 7, 20)),
    ],
)
def test_dates_as_clerks_write_them(cell, day):
    assert cells.to_date(cell) == day


@pytest.mark.parametrize(
    ("cell", "in_wan", "amount"),
    [
        (12.3, False, "12.3"),  # the float's shortest decimal, not its binary value
        (0.1, False, "0.1"),
        (3000, True, "0.3"),
        ("1,234.5", False, "1234.5"),
        ("１２．５", False, "12.5"),
        ("3000万元", False, "0.3"),
        ("0.5亿元", True, "0.5"),  # a unit in the cell wins over the header's
    ],
)
def test_amounts_are_exact_decimals_in_yi_yuan(cell, in_wan, amount):
    assert cells.plain(cells.to_amount(cell, in_wan)) == amount
    assert isinstance(cells.to_amount(cell, in_wan), Decimal)


@pytest.mark.parametrize(
    ("cell", "rule"),
    [("12,5", "amount_comma"), ("abc", "amount_unreadable"), (True, "amount_unreadable")],
)
def test_an_amount_that_cannot_be_read_names_its_rule(cell, rule):
    with pytest.raises(cells.CellError) as error:
        cells.to_amount(cell)
    assert error.value.rule == rule


def test_event_ids_are_derived_from_source_sheet_and_local_number():
    one = event_id("pref:420100", "project.capital_arrived", "C1")
    assert one == event_id("pref:420100", "project.capital_arrived", "C1")
    assert one != event_id("pref:420100", "project.capital_arrived", "C2")
    assert one != event_id("pref:420500", "project.capital_arrived", "C1")
    assert one != event_id("pref:420100", "project.signed", "C1")


def test_the_template_has_a_sheet_per_form_a_hidden_dictionary_and_text_codes():
    book = openpyxl.load_workbook(io.BytesIO(template()))
    assert book.sheetnames == ["说明", "字典", *(form.sheet for form in FORMS)]
    assert book["字典"].sheet_state == "hidden"
    dictionary = [c.value for c in book["字典"][1]]
    assert {"地区", "产业", "项目类别", "招商方式"} <= set(dictionary)
    proposals = book["新建项目"]
    assert proposals.freeze_panes == "C2"
    assert proposals["K1"].value == "总投资（亿元）"
    assert proposals["C2"].number_format == "@"  # codes stay text
    lists = {str(v.sqref): v.formula1 for v in proposals.data_validations.dataValidation}
    assert lists["I2:I501"].startswith("=字典!$")


def test_an_empty_template_reads_as_no_rows():
    reading = read(template(), "pref:420100")
    assert reading.rows == [] and reading.notes == [] and not reading.failed


def test_a_ranking_export_has_the_rows_in_order_and_who_exported_it():
    row = {
        "rank": 1,
        "region": "420100",
        "name": "武汉市",
        "total": "88.50",
        "indicators": {"capital_arrived": {"actual": "3.00", "target": None, "points": "25.00"}},
        "trips": {"completed": 2, "quota_share": "1.50"},
        "bonuses": "1.00",
        "deductions": "0.00",
        "tier": "一档",
    }
    ranking = {
        "quarter": "2020Q3",
        "policy_version": "2020.1",
        "official": True,
        "rows": [row, {**row, "rank": 2, "region": "420500", "name": "宜昌市", "tier": None}],
        "summons": ["420500"],
    }
    data = workbook(ranking_tables(ranking, {"capital_arrived": "到资"}), "张三")
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name("排名").to_python()
    assert rows[1][0].startswith("导出：张三")
    assert rows[2][:4] == ["名次", "市州", "代码", "总分"]
    assert [r[1] for r in rows[3:]] == ["武汉市", "宜昌市"]
    assert rows[4][7] == "是"  # summoned
    cards = book.get_sheet_by_name("评分明细").to_python()
    assert "到资·得分" in cards[2]
    assert openpyxl.load_workbook(io.BytesIO(data))["排名"].oddFooter.left.text.startswith("导出")


def test_the_target_progress_table_compares_each_target_with_what_was_done():
    score = {"actual": "3.00", "target": "4.00", "points": "20.00"}
    untargeted = {"actual": "2", "target": None, "points": "10.00"}
    row = {"region": "420100", "name": "武汉市", "indicators": {"capital_arrived": score}}
    other = {"region": "420500", "name": "宜昌市", "indicators": {"registrations": untargeted}}
    table = targets_table({"quarter": "2020Q3", "rows": [row, other]}, {"capital_arrived": "到资"})
    assert [c[0] for c in table.columns] == [
        "市州",
        "代码",
        "到资·目标",
        "到资·完成",
        "到资·完成率",
    ]
    assert table.rows[0]["capital_arrived.ratio"] == "75%"
    with pytest.raises(NothingToExport):
        targets_table({"quarter": "2020Q3", "rows": [other]}, {})
