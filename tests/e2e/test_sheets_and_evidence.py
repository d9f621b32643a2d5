"""A 市州 clerk's 台账 and 佐证材料 against the running system.

Ingest.Validate answers as Publish would and stores nothing. The template, filled in (here by
openpyxl) and imported with `zhaoshang sheets import`, is previewed, then accepted row for row,
then answered duplicate row for row; a changed row is a conflict saying how to correct it. A
workbook with the mess real 台账 hold is read where it can be, and every other problem is named
by sheet, row, column, value and rule, in the error copy handed back. Evidence is uploaded,
named by a report, shown with it to reviewers and read by its own unit only; a report naming a
file not uploaded is rejected with its rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import openpyxl
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.lifecycle import (
    accepted,
    credit_code,
    proposal,
    report,
    running_system,
    statuses,
    unique,
)
from zhaoshang.cli import main
from zhaoshang.sheets.template import template

WUHAN, HONGSHAN = "pref:420100", "420111"
YICHANG = "pref:420500"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(tmp_path_factory.mktemp("sheets")) as running:
        yield running


def signed_project(system: RunningSystem, code: str) -> None:
    accepted(
        system,
        WUHAN,
        proposal(code, WUHAN, HONGSHAN, total="30"),
        report("project.tracking_started", WUHAN, "2020-07-02", project_code=code),
        report("project.signed", WUHAN, "2020-07-03", project_code=code, contract_investment="30"),
    )


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def zhaoshang(system: RunningSystem, source: str, *argv: str) -> Ran:
    """The command line, run here as `source` with its key (over TLS, as a clerk runs it)."""
    out, err = io.StringIO(), io.StringIO()
    connected = [
        *("--gateway", system.target, "--api-key", system.api_keys[source]),
        *("--ca-file", str(system.supervisor.ca_file)),
    ]
    with contextlib.redirect_stderr(err):
        code = main([*connected, *argv], out)
    return Ran(code, out.getvalue(), err.getvalue())


def fill(sheets: dict[str, list[list]]) -> openpyxl.Workbook:
    """The template, with rows written under each named sheet's header."""
    book = openpyxl.load_workbook(io.BytesIO(template()))
    for name, rows in sheets.items():
        for r, row in enumerate(rows, 2):
            for c, value in enumerate(row, 1):
                book[name].cell(row=r, column=c, value=value)
    return book


def test_validate_answers_as_publish_would_and_stores_nothing(system):
    code, known = unique("VAL"), unique("VAL")
    accepted(system, WUHAN, first := proposal(known, WUHAN, HONGSHAN))
    changed = {**first, "payload": {**first["payload"], "name": "另一个名字"}}
    batch = [
        proposal(code, WUHAN, HONGSHAN),  # new
        report("project.tracking_started", WUHAN, "2020-07-02", project_code=code),
        first,  # sent before
        changed,  # its event_id, other content
        report("project.signed", WUHAN, project_code=unique("NONE"), contract_investment="1"),
        proposal(unique("VAL"), YICHANG, "420506"),  # another's source
        {**report("project.capital_arrived", WUHAN, project_code=known), "payload": {}},
    ]
    with system.client(WUHAN) as client:
        judged = client.validate(batch)
        assert statuses(judged) == [
            "accepted",
            "accepted",
            "duplicate",
            "conflict",
            "rejected",
            "rejected",
            "rejected",
        ]
        assert client.get_project(code) is None  # nothing stored
        assert judged[5]["errors"][0]["rule"] == "source_not_sender"
        fields = {e["field"] for e in judged[6]["errors"]}
        assert fields == {"payload.project_code", "payload.amount"}
        assert judged[5]["event_id"] not in refused(client)  # nor the refusal Publish records
        published = client.publish(batch)
        assert judged[5]["event_id"] in refused(client)
    assert [(o["status"], o["errors"]) for o in published] == [
        (o["status"], o["errors"]) for o in judged
    ]


def refused(client) -> set[str]:
    return {r["event_id"] for r in client.refusals()["refusals"]}


def test_a_filled_template_is_previewed_accepted_then_duplicate_then_a_changed_row_conflicts(
    system, tmp_path
):
    signed = unique("XL")
    signed_project(system, signed)
    new_a, new_b = unique("XLN"), unique("XLN")
    leader = unique("LD")
    accepted(
        system,
        WUHAN,
        report("leader.appointed", WUHAN, leader_id=leader, name="张三", unit="420100",
               role="principal"),
    )  # fmt: skip
    book = fill(
        {
            "新建项目": [
                ["N1", "2020-07-01", new_a, "光谷芯片项目", "某某集团", "CN-44", "是", "否",
                 "集成电路", "420111 洪山区", 25.5, "新基建", "园区招商（十二）"],
                ["N2", "2020-07-02", new_b, "车谷整车项目", "外商公司", "DE", "", "",
                 "汽车", "420100 武汉市", "12.25", "外资、新基建", "校友招商（七）"],
            ],
            "转入跟踪": [["T1", "2020-07-05", new_a]],
            "注册": [["R1", "2020-07-10", signed, credit_code(), "武汉光谷芯片有限公司"]],
            "开工开业": [["S1", "2020-07-15", signed, "开工"]],
            "到资": [
                ["C1", "2020-07-20", signed, 1.5],
                ["C2", "2020-07-20", signed, 1.5],  # the same day and amount: a second one
            ],
            "外出招商": [["W1", "2020-07-25", leader, "广东省深圳市", "2020-07-22", "2020-07-25",
                          "华为技术有限公司、腾讯"]],
            "推介活动": [["E1", "2020-07-28", "420100 武汉市", "粤港澳大湾区", "深圳推介会"]],
        }
    )  # fmt: skip
    path = tmp_path / "台账.xlsx"
    book.save(path)
    preview = zhaoshang(
        system, WUHAN, "sheets", "import", str(path), "--source", WUHAN, "--dry-run"
    )
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "合计：可接收 9 行" in preview.stdout and "未报送" in preview.stdout
    with system.client(WUHAN) as client:
        assert client.get_project(new_a) is None  # a preview sends nothing
    sent = zhaoshang(system, WUHAN, "sheets", "import", str(path), "--source", WUHAN)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "报送结果：共 9 行" in sent.stdout and "合计：已接收 9 行" in sent.stdout
    with system.client(WUHAN) as client:
        assert client.get_project(new_a)["stage"] == "tracking"
        milestones = client.milestones(signed)["milestones"]
        assert [m["kind"] for m in milestones].count("capital_arrived") == 2
    again = zhaoshang(system, WUHAN, "sheets", "import", str(path), "--source", WUHAN)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "合计：重复（此前已报送） 9 行" in again.stdout
    book["到资"]["D3"] = 2.5  # C2 was 1.5 亿元
    book.save(path)
    changed = zhaoshang(system, WUHAN, "sheets", "import", str(path), "--source", WUHAN)
    assert changed.returncode == 1
    assert "工作表「到资」第 3 行「本地编号」列值“C2”" in changed.stdout
    assert "event_id_reused" in changed.stdout and "新的本地编号" in changed.stdout
    copy = openpyxl.load_workbook(tmp_path / "台账.错误.xlsx")
    sheet = copy["到资"]
    assert sheet["E1"].value == "错误说明" and "新的本地编号" in sheet["E3"].value
    assert sheet["E2"].value is None


def messy(signed: str) -> tuple[openpyxl.Workbook, list[str]]:
    """A 台账 as it comes from a county office: the kinds of mess real ones hold, each row
    saying what it is."""
    book = openpyxl.Workbook()
    proposals = book.active
    proposals.title = "新建项目"
    proposals.append(["武汉市 2020 年第三季度招商引资项目台账"])  # a title row, merged
    proposals.merge_cells("A1:M1")
    proposals.append(["本地编号", "发生日期", "项目编号", "项目名称", "投资方", None,
                      "世界500强", "中国500强", "产业", "所在地区", "总投资（亿元）",
                      "项目类别", "招商方式"])  # fmt: skip
    proposals.append([None, None, None, None, "名称", "来源地"])  # split headers
    proposals.merge_cells("E2:F2")
    for c in "ABCDGHIJKLM":
        proposals.merge_cells(f"{c}2:{c}3")
    codes = [unique("MXN") for _ in range(6)]
    rows = [
        # 4: full-width digits and spaces, a serial date, "Y"/"√" flags: all read
        ["１", 44013, f"\u3000{codes[0]}\u3000", "项目甲", "甲公司", "CN-44", "Y", "√",
         "集成电路", "洪山区", "２５．５", "新基建", "园区招商（十二）"],
        [],  # 5: blank
        # 6: "2020.7.2" and a text amount with a thousands separator: read
        ["2", "2020.7.2", codes[1], "项目乙", "乙公司", "US", "否", "否", "汽车",
         "420100 武汉市", "1,234.5", "", "其他"],
        # 7: a region not in the dictionary, an amount with a decimal comma
        ["3", "2020-07-03", codes[2], "项目丙", "丙公司", "CN-11", "", "", "汽车",
         "武昌县", "12,5", "", "其他"],
        # 8: a date that does not exist, an industry not in the dictionary
        ["4", "2020-02-30", codes[3], "项目丁", "丁公司", "CN-11", "", "", "造船",
         "420100", "5", "", "其他"],
        # 9: no 本地编号; 10: 本地编号 4 again; 11: a required cell left blank
        [None, "2020-07-04", codes[4], "项目戊", "戊公司", "CN-11", "", "", "汽车",
         "420100", "5", "", "其他"],
        ["4", "2020-07-04", codes[5], "项目己", "己公司", "CN-11", "", "", "汽车",
         "420100", "5", "", "其他"],
        ["5", "2020-07-05", unique("MXN"), "", "庚公司", "CN-11", "", "", "汽车",
         "420100", "5", "", "其他"],
        # 12: a 合计 row: passed over
        ["合计", None, None, None, None, None, None, None, None, None, 1300],
        # 13: a flag no one can read, a text date, a category not in the dictionary
        ["6", "明天", unique("MXN"), "项目辛", "辛公司", "CN-11", "也许", "", "汽车",
         "420100", "5", "别墅", "其他"],
        # 14: the contract's own rules, judged by the gateway: an origin and a too-large total
        ["7", "2020-07-06", unique("MXN"), "项目壬", "壬公司", "China", "", "", "汽车",
         "420100", "99999", "", "其他"],
    ]  # fmt: skip
    for row in rows:
        proposals.append(row)
    arrivals = book.create_sheet("到资")
    arrivals.append(["本地编号", "发生日期", "项目编号", "到资金额（万元）"])  # in 万元
    arrivals.append([1.0, "2020年7月20日", signed, 3000])  # 2: 0.3 亿元, 本地编号 1.0 -> "1"
    arrivals.append(["2", 44032.0, signed, "0.5亿元"])  # 3: a unit in the cell wins
    arrivals.merge_cells("C2:C3")  # one project, merged over its two rows
    arrivals.append(["3", "20200721", unique("NOPE"), "100"])  # 4: no such project: the gateway
    arrivals.append(["4", "2020-07-21", signed, "abc"])  # 5: not an amount
    book.create_sheet("Sheet3").append(["随手记的东西"])
    registered = book.create_sheet("注册")
    registered.append(["本地编号", "发生日期", "项目编号", "公司名称"])  # no 信用代码 column
    return book, codes


def test_a_messy_workbook_is_read_where_it_can_be_and_every_problem_is_named(system, tmp_path):
    signed = unique("MX")
    signed_project(system, signed)
    book, codes = messy(signed)
    path = tmp_path / "杂乱台账.xlsx"
    book.save(path)

    run = zhaoshang(system, WUHAN, "sheets", "import", str(path), "--source", WUHAN, "--dry-run")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "有错误，未报送任何一行" in run.stdout
    copy = openpyxl.load_workbook(tmp_path / "杂乱台账.错误.xlsx")
    found = {
        (sheet, row, rule)
        for sheet, row, _, _, rule, _ in copy["导入结果"].iter_rows(min_row=2, values_only=True)
        if sheet
    }
    assert found >= {
        ("新建项目", 7, "not_in_dictionary"),
        ("新建项目", 7, "amount_comma"),
        ("新建项目", 8, "date_invalid"),
        ("新建项目", 8, "not_in_dictionary"),
        ("新建项目", 9, "local_id_missing"),
        ("新建项目", 10, "local_id_repeated"),
        ("新建项目", 11, "required"),
        ("新建项目", 13, "flag_unreadable"),
        ("新建项目", 13, "date_unreadable"),
        ("新建项目", 14, "origin_format"),
        ("新建项目", 14, "amount_too_large"),
        ("到资", 4, "unknown_project"),
        ("到资", 5, "amount_unreadable"),
        ("Sheet3", None, "unknown_sheet"),
        ("注册", None, "column_missing"),
    }, sorted(found, key=str)
    rows_with_problems = {(sheet, row) for sheet, row, _ in found}
    for good in (("新建项目", 4), ("新建项目", 6), ("到资", 2), ("到资", 3)):
        assert good not in rows_with_problems
    assert not {row for sheet, row, _ in found if sheet == "新建项目" and row in (5, 12)}
    sheet = copy["新建项目"]
    assert sheet.cell(row=3, column=14).value == "错误说明"
    assert "“武昌县”" in sheet.cell(row=7, column=14).value
    assert sheet.cell(row=7, column=10).fill.fgColor.rgb.endswith("FFC7CE")
    assert "年第三季度" in sheet["A1"].value  # the clerk's own workbook, annotated
    with system.client(WUHAN) as client:
        assert client.get_project(codes[0]) is None  # nothing sent


# 佐证材料 ------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 5000  # 1.2 MiB: two streamed chunks


def named(file: dict) -> dict:
    return {k: file[k] for k in ("sha256", "name", "media_type", "size")}


def test_evidence_is_uploaded_named_by_a_report_shown_to_reviewers_and_kept_to_its_unit(system):
    code = unique("EV")
    signed_project(system, code)
    with system.client(WUHAN) as wuhan:
        receipt = wuhan.upload_evidence(PDF, "C:\\台账\\到资回单.pdf")
        photo = wuhan.upload_evidence(PNG, "开工现场.png")
        assert receipt["media_type"] == "application/pdf" and receipt["size"] == len(PDF)
        assert receipt["name"] == "到资回单.pdf"
        assert photo["sha256"] == hashlib.sha256(PNG).hexdigest()
        arrived = report(
            "project.capital_arrived",
            WUHAN,
            "2020-07-20",
            project_code=code,
            amount="2",
            evidence=[named(receipt), named(photo)],
        )
        never = {**named(receipt), "sha256": hashlib.sha256(b"never uploaded").hexdigest()}
        resized = {**named(receipt), "size": receipt["size"] + 1}
        wrong = [
            report("project.capital_arrived", WUHAN, project_code=code, amount="1", evidence=[e])
            for e in (never, resized)
        ]
        outcomes = wuhan.publish([arrived, *wrong])
        assert statuses(outcomes) == ["accepted", "rejected", "rejected"], outcomes
        assert outcomes[1]["errors"][0]["rule"] == "evidence_not_uploaded"
        assert outcomes[1]["errors"][0]["field"] == "payload.evidence.0.sha256"
        assert outcomes[2]["errors"][0]["rule"] == "evidence_mismatch"
        assert wuhan.download_evidence(receipt["sha256"]) == (named(receipt), PDF)
    with system.client("office") as office:  # the review desk sees the report's files
        [shown] = [
            m for m in office.milestones(code)["milestones"] if m["event_id"] == arrived["event_id"]
        ]
        assert [f["sha256"] for f in shown["evidence"]] == [receipt["sha256"], photo["sha256"]]
        assert office.download_evidence(photo["sha256"])[1] == PNG
        queued = office.awaiting_review(unit="420100", limit=500)["items"]
        [waiting] = [item for item in queued if item["event_id"] == arrived["event_id"]]
        assert [f["name"] for f in waiting["evidence"]] == ["到资回单.pdf", "开工现场.png"]
    with system.client(YICHANG) as yichang, pytest.raises(grpc.RpcError) as refused:
        yichang.download_evidence(receipt["sha256"])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "outside_read_scope" in refused.value.details()


@pytest.mark.parametrize(
    ("data", "name", "rule"),
    [
        (b"just some text", "看似.pdf", "evidence_type_unknown"),
        (b"", "空.pdf", "evidence_empty"),
        (b"%PDF-" + b"0" * (20 * 1024 * 1024), "大.pdf", "evidence_too_large"),
    ],
)
def test_an_upload_not_evidence_is_refused_with_its_rule(system, data, name, rule):
    with system.client(WUHAN) as wuhan, pytest.raises(grpc.RpcError) as refused:
        wuhan.upload_evidence(data, name)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rule in refused.value.details()


# The office's tables --------------------------------------------------------------------------


def exported(system: RunningSystem, source: str, path: Path, *argv: str) -> list[list]:
    """`zhaoshang sheets export …` run as `source`; the first sheet's rows under its header."""
    run = zhaoshang(system, source, "sheets", "export", *argv, "--by", "测试员", "-o", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet["A2"].value.startswith("导出：测试员")  # who exported it, and when
    assert sheet.oddFooter.left.text == sheet["A2"].value
    assert sheet.freeze_panes == "A4"
    return [list(row) for row in sheet.iter_rows(min_row=4, values_only=True)]


def test_exports_match_the_ranking_and_the_lists_row_for_row(system, tmp_path):
    started = unique("EXP")
    signed_project(system, started)
    accepted(
        system,
        WUHAN,
        report("project.construction_started", WUHAN, "2020-08-03", project_code=started,
               kind="construction"),
    )  # fmt: skip
    with system.client() as office:
        ranking = office.get_ranking("2020Q3", "provisional")
    rows = exported(
        system, "office", tmp_path / "r.xlsx", "ranking", "--quarter", "2020Q3", "--view",
        "provisional",
    )  # fmt: skip
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (row["rank"], row["name"], row["region"], row["total"]) for row in ranking["rows"]
    ]
    cards = openpyxl.load_workbook(tmp_path / "r.xlsx")["评分明细"]
    assert cards.max_row - 3 == len(ranking["rows"])
    with system.client(WUHAN) as wuhan:
        register = wuhan.list_projects("", "420100", register=True)
    rows = exported(system, WUHAN, tmp_path / "p.xlsx", "projects", "--region", "420100")
    assert [r[0] for r in rows] == [p["project_code"] for p in register["projects"]]
    rows = exported(system, "office", tmp_path / "s.xlsx", "started", "--quarter", "2020Q3")
    assert started in [r[0] for r in rows]
    assert [r[6] for r in rows if r[0] == started] == ["2020-08-03"]
    refused = zhaoshang(
        system, WUHAN, "sheets", "export", "projects", "--region", "420500", "-o",
        str(tmp_path / "x.xlsx"),
    )  # fmt: skip
    assert refused.returncode == 2 and "outside_read_scope" in refused.stderr
