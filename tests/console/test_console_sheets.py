"""Forms, Excel 台账 import, exports and 佐证材料 in the console.

Server side: the forms a unit is offered, built from the 台账's own columns; a form's fields read
into a report or each field's error; the gateway's errors put beside their fields; the preview of
a filled template. In a real browser (Debian's chromium) against one running system: a template
filled by openpyxl imported row for row accepted, then answered duplicate row for row; a form
with a broken rule showing the rule beside its field; a 到资 reported with its evidence, shown on
the review desk and refused to another 市州; an export recorded in the access records.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import uuid
import zlib

import httpx
import openpyxl
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.console import forms, sheets
from services.console.uploads import bounded
from services.console.web import Refused
from tests.console.conftest import shot, sign_in
from zhaoshang.sheets.forms import BY_TYPE
from zhaoshang.sheets.importing import judge, read
from zhaoshang.sheets.template import template

WUHAN = "pref:420100"
WUHAN_CLERK, YICHANG_CLERK, REVIEWER = "clerk.420100", "clerk.420500", "office.reviewer"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def filled(sheets_: dict[str, list[list]]) -> bytes:
    """The template with rows written under each named sheet's header (as a clerk fills it)."""
    book = openpyxl.load_workbook(io.BytesIO(template()))
    for name, rows in sheets_.items():
        for r, row in enumerate(rows, 2):
            for c, value in enumerate(row, 1):
                book[name].cell(row=r, column=c, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def new_projects(codes: list[str], signed: str) -> dict[str, list[list]]:
    return {
        "新建项目": [
            [f"N{i}", "2020-09-20", code, f"光谷示范项目{i}", "某某集团", "CN-44", "否", "否",
             "集成电路", "420111 洪山区", 25.5, "新基建", "园区招商（十二）"]
            for i, code in enumerate(codes, 1)
        ],
        "转入跟踪": [["T1", "2020-09-21", codes[0]]],
        "到资": [["C1", "2020-09-22", signed, 0.5], ["C2", "2020-09-22", signed, 0.5]],
    }  # fmt: skip


def png() -> bytes:
    """A 120×80 red PNG (a bank receipt's photo, as far as the test cares): 佐证材料 recognised
    by its bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xc6\x28\x28" * 120 for _ in range(80))
    header = struct.pack(">IIBBBBB", 120, 80, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# ---- server side: the forms and the preview ----


def test_each_unit_is_offered_only_the_forms_it_may_send():
    every = {f.type for f in forms.offered("office")}
    assert {f.type for f in forms.offered(WUHAN)} == every
    assert "promotion.event_held" in every
    assert "promotion.event_held" not in {f.type for f in forms.offered("county:420111")}
    assert [f.type for f in forms.offered("org:wuhan_railway")] == ["matter.progress_reported"]
    assert forms.offered("auditor:dev") == []
    assert forms.offered_form("county:420111", "promotion.event_held") is None


def test_a_form_is_made_of_the_templates_columns_and_narrows_regions_to_the_unit():
    form = BY_TYPE["project.proposed"]
    shown = forms.fields(form, WUHAN, {}, {})
    assert [f.label for f in shown] == [c.header for c in form.columns[1:]]  # no 本地编号
    region = next(f for f in shown if f.name == "region")
    assert region.options and all(v == "420100" or v.startswith("4201") for v, _ in region.options)
    industry = next(f for f in shown if f.name == "industry")
    assert len(industry.options) > 10


def test_a_filled_form_is_the_report_a_row_would_be():
    form = BY_TYPE["project.capital_arrived"]
    values = {"occurred_on": "2020-09-22", "project_code": "WH-001", "amount": "1,234.5"}
    evidence = [
        {"sha256": "a" * 64, "name": "回单.pdf", "media_type": "application/pdf", "size": 9}
    ]
    event_id = str(uuid.uuid4())
    report, errors = forms.report_of(form, WUHAN, event_id, values, evidence)
    assert errors == {}
    assert report == {
        "event_id": event_id,
        "type": "project.capital_arrived",
        "source": WUHAN,
        "occurred_on": "2020-09-22",
        "schema_version": 1,
        "payload": {"project_code": "WH-001", "amount": "1234.5", "evidence": evidence},
    }


def test_a_cell_that_cannot_be_read_is_named_beside_its_field():
    form = BY_TYPE["project.capital_arrived"]
    values = {"occurred_on": "2020-13-40", "project_code": "", "amount": "一百"}
    report, errors = forms.report_of(form, WUHAN, str(uuid.uuid4()), values, [])
    assert report is None
    assert "date_invalid" in errors["occurred_on"]
    assert "required" in errors["project_code"]
    assert "amount_unreadable" in errors["amount"] and "不是金额" in errors["amount"]


def test_the_gateways_errors_go_beside_their_fields():
    form = BY_TYPE["project.proposed"]
    outcome = {
        "status": "rejected",
        "errors": [
            {"field": "payload.investor.name", "rule": "required", "message_zh": "必填"},
            {"field": "payload.evidence.0.sha256", "rule": "evidence_not_uploaded",
             "message_zh": "未上传"},
            {"field": "source", "rule": "source_not_sender", "message_zh": "不是发送方"},
        ],
    }  # fmt: skip
    errors = forms.errors_of(form, outcome)
    assert errors["investor.name"] == "必填（规则 required）"
    assert "evidence_not_uploaded" in errors[forms.EVIDENCE]
    assert "source_not_sender" in errors[""]


def test_evidence_carried_between_steps_keeps_only_well_formed_files():
    good = {"sha256": "b" * 64, "name": "照片.png", "media_type": "image/png", "size": 10}
    text = json.dumps([{"sha256": "xyz", "size": 1}, 5, good])
    assert forms.carried_evidence(text) == [good]
    assert forms.carried_evidence("not json") == []


def test_the_preview_counts_rows_by_sheet_and_lists_every_problem():
    unsigned = {"签约": [["Q1", "2020-09-23", "A-1"]]}  # no 合同投资额: read, never sent
    reading = read(filled(new_projects(["A-1", "A-2"], "WH-001") | unsigned), WUHAN)
    amount = {"field": "payload.amount", "value": "0.5", "rule": "r", "message_zh": "不行"}
    judge(reading, [*[{"status": "accepted"}] * 4, {"status": "rejected", "errors": [amount]}])
    shown = sheets.preview(reading)
    assert shown.rows == 6 and shown.failed
    assert shown.counts == {"accepted": 4, "invalid": 1, "rejected": 1}
    assert shown.sheets["到资"] == {"accepted": 1, "rejected": 1}
    assert shown.problems == [
        {"sheet": "签约", "row": 2, "column": "合同投资额（亿元）", "value": "",
         "rule": "required", "message": "必填项为空"},
        {"sheet": "到资", "row": 3, "column": "到资金额（亿元）", "value": "0.5", "rule": "r",
         "message": "不行"},
    ]  # fmt: skip


def test_a_held_import_is_its_uploaders_alone():
    reading = read(filled({}), WUHAN)
    token = sheets.hold(sheets.Pending("clerk.420100", WUHAN, "x.xlsx", b"", reading, 0.0))
    assert sheets.held(token, "clerk.420100").name == "x.xlsx"
    with pytest.raises(Refused):
        sheets.held(token, "clerk.420500")


def test_a_prefectures_export_is_of_its_own_region_whatever_it_asks():
    options = sheets.export_options({"quarter": "2020Q3", "region": "420500"}, WUHAN)
    assert options["region"] == "420100"
    assert sheets.export_options({"region": "420500"}, "office")["region"] == "420500"
    with pytest.raises(Refused):
        sheets.export_options({"quarter": "2020-3"}, "office")


def test_an_upload_larger_than_its_bound_is_refused_before_it_is_read():
    read_forms = []

    async def handler(request):
        read_forms.append(await request.form())
        return PlainTextResponse("read")

    async def post(size: int):
        app = Starlette(routes=[Route("/up", bounded(1024)(handler), methods=["POST"])])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            return await client.post("/up", files={"file": ("a.xlsx", b"x" * size)})

    small, large = asyncio.run(post(100)), asyncio.run(post(5000))
    assert small.status_code == 200 and len(read_forms) == 1
    assert large.status_code == 413 and "上传内容过大" in large.text and len(read_forms) == 1


# ---- in the browser, against the running system ----


def registered_project(system, region: str = "420100") -> str:
    """A project of the demo in `region` with a registered company (capital may arrive)."""
    with system.office() as office:
        return next(
            p["project_code"]
            for p in office.list_projects(region=region, register=True)["projects"]
            if any(
                m["kind"] == "registered"
                for m in (office.milestones(p["project_code"]) or {}).get("milestones", [])
            )
        )


def import_file(page, system, data: bytes) -> None:
    page.goto(f"{system.url}/import")
    page.set_input_files(
        "#import-file", files=[{"name": "台账.xlsx", "mimeType": sheets.XLSX, "buffer": data}]
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-summary")


def counted(page, status: str) -> int:
    cell = page.locator(f"#import-summary td[data-status={status}]")
    return int(cell.inner_text()) if cell.count() else 0


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_filled_template_imports_every_row_then_every_row_again_is_duplicate(
    console_system, page
):
    codes = [unique("XLN"), unique("XLN")]
    data = filled(new_projects(codes, registered_project(console_system)))
    sign_in(page, console_system, WUHAN_CLERK)
    template_answer = page.request.get(f"{console_system.url}/import/template.xlsx")
    assert template_answer.status == 200
    assert "说明" in openpyxl.load_workbook(io.BytesIO(template_answer.body())).sheetnames
    import_file(page, console_system, data)
    assert int(page.inner_text("#row-count")) == 5 and counted(page, "accepted") == 5
    with console_system.office() as office:
        assert office.get_project(codes[0]) is None  # the preview stored nothing
    shot(page, "import-preview")
    page.click("#confirm")
    page.wait_for_selector("#import-done")
    assert counted(page, "accepted") == 5, page.inner_text("main")[:800]
    with console_system.office() as office:
        assert office.get_project(codes[0])["stage"] == "tracking"
    import_file(page, console_system, data)
    assert counted(page, "duplicate") == 5 and counted(page, "accepted") == 0
    page.click("#confirm")
    page.wait_for_selector("#import-done")
    assert counted(page, "duplicate") == 5  # the same file again counts nothing twice
    shot(page, "import-duplicate")


@pytest.mark.browser
@pytest.mark.rabbit
def test_an_import_with_errors_sends_nothing_and_hands_back_the_error_copy(console_system, page):
    code = unique("XLE")
    data = filled(
        {"到资": [["C1", "2020-09-22", code, "1,2"]], "签约": [["Q1", "2020-09-22", code, 3]]}
    )
    sign_in(page, console_system, WUHAN_CLERK)
    import_file(page, console_system, data)
    problems = page.inner_text("#import-problems")
    assert "到资" in problems and "amount_comma" in problems and "签约" in problems
    assert page.locator("#confirm").count() == 0 and page.locator("#import-refused").count()
    copy = page.request.get(console_system.url + (page.get_attribute("#error-copy", "href") or ""))
    book = openpyxl.load_workbook(io.BytesIO(copy.body()))
    assert "导入结果" in book.sheetnames
    shot(page, "import-errors")


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_form_with_a_broken_rule_shows_the_rule_beside_its_field(console_system, page):
    sign_in(page, console_system, WUHAN_CLERK)
    page.goto(f"{console_system.url}/forms")
    listed = page.inner_text("#form-list")
    assert "到资" in listed and "推介活动" in listed and "新建项目" in listed
    page.click("#form-list >> text=签约")
    page.fill("input[name=occurred_on]", "2020-09-22")
    page.fill("input[name=project_code]", unique("NOSUCH"))
    page.fill("input[name=contract_investment]", "3")
    page.click("button[value=check]")
    error = page.locator("[data-field=project_code] .field-error")
    assert error.count() == 1 and "规则" in error.inner_text(), page.inner_text("main")[:800]
    assert page.locator("#send").count() == 0  # nothing to confirm
    page.fill("input[name=contract_investment]", "三亿")
    page.click("button[value=check]")
    amount = page.inner_text("[data-field=contract_investment] .field-error")
    assert "amount_unreadable" in amount
    shot(page, "form-error")


@pytest.mark.browser
@pytest.mark.rabbit
def test_capital_reported_with_its_evidence_is_shown_on_the_review_desk(
    console_system, page, browser
):
    code = registered_project(console_system)
    sign_in(page, console_system, WUHAN_CLERK)
    page.goto(f"{console_system.url}/forms/project.capital_arrived")
    page.fill("input[name=occurred_on]", "2020-09-26")
    page.fill("input[name=project_code]", code)
    page.fill("input[name=amount]", "0.02")
    receipt = {"name": "银行回单.png", "mimeType": "image/png", "buffer": png()}
    page.set_input_files("#evidence-files", files=[receipt])
    page.click("button[value=check]")
    assert "网关核验通过" in page.inner_text("#form-checked"), page.inner_text("main")[:800]
    sha256 = page.locator("img.evidence-image").get_attribute("src").rsplit("/", 1)[1]
    shot(page, "form-checked")
    page.click("#send")
    assert "已被接收" in page.inner_text("main"), page.inner_text("main")[:800]
    event_id = page.inner_text("#form-sent ~ p .hash")
    other = browser.new_context()
    try:  # another 市州 may not read 武汉市's file
        stranger = other.new_page()
        sign_in(stranger, console_system, YICHANG_CLERK)
        assert stranger.request.get(f"{console_system.url}/evidence/{sha256}").status == 403
    finally:
        other.close()

    reviewer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        desk = reviewer.new_page()
        sign_in(desk, console_system, REVIEWER)
        desk.goto(f"{console_system.url}/review")
        desk.locator(f"input[value='milestone:{event_id}']").scroll_into_view_if_needed()
        image = desk.locator(f"img.evidence-image[src='/evidence/{sha256}']")
        image.wait_for()  # the row's files load as it comes into view
        desk.wait_for_function(
            "s => document.querySelector(`img[src='/evidence/${s}']`).naturalWidth === 120",
            arg=sha256,
        )
        download = desk.request.get(f"{console_system.url}/evidence/{sha256}?download=1")
        assert download.body() == png() and "attachment" in download.headers["content-disposition"]
        shot(desk, "review-evidence")
    finally:
        reviewer.close()
    with console_system.office() as office:
        reports = office.milestones(code)["milestones"]
    sent = next(m for m in reports if sha256 in {e["sha256"] for e in m.get("evidence", [])})
    assert sent["amount"] in ("0.02", "0.0200")


@pytest.mark.browser
@pytest.mark.rabbit
def test_a_prefecture_exports_its_own_register_and_the_export_is_recorded(console_system, page):
    sign_in(page, console_system, WUHAN_CLERK)
    page.goto(f"{console_system.url}/exports")
    answer = page.request.get(f"{console_system.url}/exports/download?table=projects&region=420500")
    assert answer.status == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.body()))
    sheet = book.worksheets[0]
    assert WUHAN_CLERK in str(sheet["A2"].value)  # who exported it
    regions = {str(row[2]) for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]}
    assert regions and all("宜昌" not in r for r in regions)
    ranking = page.request.get(
        f"{console_system.url}/exports/download?table=ranking&quarter=2020Q3"
    )
    assert ranking.status == 200
    auditor = page.context.browser.new_context()
    try:
        trail = auditor.new_page()
        sign_in(trail, console_system, "auditor.dev")
        trail.goto(f"{console_system.url}/audit/trail")
        assert "what=export" in trail.inner_text("#trail")
        assert "sheet:projects:420100" in trail.inner_text("#trail")
    finally:
        auditor.close()
