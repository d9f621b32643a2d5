"""The office's fixed tables as styled workbooks (headers, frozen panes, column widths), each
saying who exported it and when in its first rows and in its printed header and footer.

`workbook(tables, exported_by, at)` is pure: tables of rows in, .xlsx bytes out. The builders
below turn the gateway's answers (README "Queries") into tables, row for row and in the order
the gateway gave them; gathering.py asks the gateway for what each table needs.

    ranking       the quarter's ranking, and every 市州's scorecard (十九)
    targets       招商引资工作目标进度汇总表: each 市州's targets against what it did
    registered    新注册重点项目一览表     } key projects whose milestone of that kind
    started       新开工重点项目一览表     } was reported in the quarter (十九)
    production    新投产重点项目一览表     }
    trips         党政主职驻外招商进度汇总表 (二十一)(二十二): trips against quotas
    projects      the project register (二), with the console's filters
    tasks         附件3 重点任务完成情况
    matters       附件4 重点事项进展情况
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from services.kernel.contract.calendar import SHANGHAI, quarter_bounds

TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FIRST_DATA_ROW = 4  # title, who/when, header, then the rows


class NothingToExport(LookupError):
    """The table cannot be made (a message for people)."""


@dataclass(frozen=True)
class Table:
    sheet: str
    title: str
    columns: Sequence[tuple[str, str, int]]  # header, the row's key, width
    rows: Sequence[Mapping[str, Any]]


def workbook(tables: Iterable[Table], exported_by: str, at: datetime | None = None) -> bytes:
    at = (at or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    stamp = f"导出：{exported_by}，{at:%Y-%m-%d %H:%M}（北京时间）"
    book = Workbook()
    book.remove(book.worksheets[0])
    for table in tables:
        sheet = book.create_sheet(table.sheet[:31])
        sheet["A1"] = table.title
        sheet["A1"].font = TITLE_FONT
        sheet["A2"] = stamp
        sheet["A2"].font = Font(italic=True, color="666666")
        for c, (header, _, width) in enumerate(table.columns, 1):
            cell = sheet.cell(row=3, column=c, value=header)
            cell.font, cell.fill, cell.border = Font(bold=True), HEADER_FILL, BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            sheet.column_dimensions[get_column_letter(c)].width = width
        for r, row in enumerate(table.rows, FIRST_DATA_ROW):
            for c, (_, key, _) in enumerate(table.columns, 1):
                sheet.cell(row=r, column=c, value=_cell(row.get(key))).border = BOX
        sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
        sheet.oddHeader.center.text = table.title
        sheet.oddFooter.left.text = stamp
        sheet.oddFooter.right.text = "第 &P 页，共 &N 页"
        sheet.print_title_rows = "3:3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return value if isinstance(value, int | float | date) else str(value)


# The tables ---------------------------------------------------------------------------------


def ranking_tables(ranking: Mapping[str, Any], indicator_names: Mapping[str, str]) -> list[Table]:
    """The ranking (名次 …) and every 市州's scorecard, one row each, in rank order."""
    quarter = ranking["quarter"]
    view = "正式" if ranking.get("official", ranking.get("published")) else "临时"
    summoned = set(ranking.get("summons", ()))
    rows = [
        {**row, "summoned": row["region"] in summoned, "tier": row.get("tier") or ""}
        for row in ranking["rows"]
    ]
    main = Table(
        "排名",
        f"{quarter} 全省招商引资评分排名（{view}）· 评分政策 {ranking['policy_version']}",
        [
            ("名次", "rank", 6),
            ("市州", "name", 14),
            ("代码", "region", 10),
            ("总分", "total", 10),
            ("加分", "bonuses", 8),
            ("减分", "deductions", 8),
            ("档次", "tier", 10),
            ("约谈", "summoned", 8),
        ],
        rows,
    )
    keys = list(dict.fromkeys(k for row in rows for k in row["indicators"]))
    columns: list[tuple[str, str, int]] = [("名次", "rank", 6), ("市州", "name", 14)]
    cards = []
    for row in rows:
        card: dict[str, Any] = {"rank": row["rank"], "name": row["name"]}
        for key in keys:
            score = row["indicators"].get(key, {})
            card[f"{key}.actual"] = score.get("actual")
            card[f"{key}.target"] = score.get("target")
            card[f"{key}.points"] = score.get("points")
        card["trips"] = f"{row['trips']['completed']}/{row['trips']['quota_share']}"
        card.update(bonuses=row["bonuses"], deductions=row["deductions"], total=row["total"])
        cards.append(card)
    for key in keys:
        name = indicator_names.get(key, key)
        columns += [
            (f"{name}·完成", f"{key}.actual", 10),
            (f"{name}·目标", f"{key}.target", 10),
            (f"{name}·得分", f"{key}.points", 10),
        ]
    columns += [
        ("外出招商（次/季度应完成）", "trips", 14),
        ("加分", "bonuses", 8),
        ("减分", "deductions", 8),
        ("总分", "total", 10),
    ]
    return [main, Table("评分明细", f"{quarter} 各市州评分明细", columns, cards)]


def targets_table(ranking: Mapping[str, Any], indicator_names: Mapping[str, str]) -> Table:
    """招商引资工作目标进度汇总表: each 市州's quarter against its targets (一)(十九), as the
    ranking scored it (targets from `target.set` or the policy), indicator by indicator."""
    rows, keys = [], []
    for row in ranking["rows"]:
        line: dict[str, Any] = {"name": row["name"], "region": row["region"]}
        for key, score in row["indicators"].items():
            if score.get("target") is None:
                continue
            keys.append(key)
            target, actual = Decimal(score["target"]), Decimal(score["actual"])
            line[f"{key}.target"], line[f"{key}.actual"] = score["target"], score["actual"]
            line[f"{key}.ratio"] = f"{actual / target:.0%}" if target else ""
        rows.append(line)
    if not keys:
        raise NothingToExport(
            f"{ranking['quarter']} 尚无任何目标（target.set 或评分政策），无法生成目标进度表"
        )
    columns: list[tuple[str, str, int]] = [("市州", "name", 14), ("代码", "region", 10)]
    for key in dict.fromkeys(keys):
        name = indicator_names.get(key, key)
        columns += [
            (f"{name}·目标", f"{key}.target", 10),
            (f"{name}·完成", f"{key}.actual", 10),
            (f"{name}·完成率", f"{key}.ratio", 10),
        ]
    return Table("目标进度", f"{ranking['quarter']} 招商引资工作目标进度汇总表", columns, rows)


MILESTONE_LISTS = {
    "registered": ("registered", "新注册"),
    "started": ("construction_started", "新开工"),
    "production": ("production_started", "新投产"),
}
PROJECT_COLUMNS: list[tuple[str, str, int]] = [
    ("项目编号", "project_code", 16),
    ("项目名称", "name", 30),
    ("所在地区", "region_name", 12),
    ("产业", "industry_name", 16),
    ("投资方", "investor", 24),
    ("总投资（亿元）", "total_investment", 12),
    ("合同投资（亿元）", "contract_investment", 12),
    ("清单", "list_zh", 8),
]


def milestone_list(
    table: str,
    quarter: str,
    projects: Sequence[Mapping[str, Any]],
    milestones: Mapping[str, Mapping[str, Any] | None],
) -> Table:
    """The key projects of `projects` whose milestone of the table's kind was reported in the
    quarter (and is neither rejected nor retracted), by its date."""
    kind, word = MILESTONE_LISTS[table]
    first, last = quarter_bounds(quarter)
    rows = []
    for project in projects:
        for report in (milestones.get(project["project_code"]) or {}).get("milestones", ()):
            on = date.fromisoformat(str(report["occurred_on"]))
            counted = report["kind"] == kind and report["status"] in ("reported", "verified")
            if counted and first <= on <= last:
                rows.append({**project, "occurred_on": report["occurred_on"]})
    rows.sort(key=lambda r: (str(r["occurred_on"]), r["project_code"]))
    return Table(
        f"{word}重点项目",
        f"{quarter} {word}重点项目一览表",
        [*PROJECT_COLUMNS[:6], (f"{word}日期", "occurred_on", 12)],
        rows,
    )


def projects_table(listing: Mapping[str, Any]) -> Table:
    return Table("项目库", listing["title"], PROJECT_COLUMNS, listing["projects"])


def trips_table(progress: Mapping[str, Any]) -> list[Table]:
    leaders = Table(
        "领导",
        f"{progress['year']} 年党政主职驻外招商进度汇总表（二十一）（二十二）",
        [
            ("领导编号", "leader_id", 12),
            ("姓名", "name", 10),
            ("单位", "unit", 12),
            ("职务类别", "role", 16),
            ("已外出（次）", "trips", 10),
            ("年度任务（次）", "quota", 10),
            ("免于考核", "exempt", 8),
            ("完成", "met", 8),
        ],
        progress["leaders"],
    )
    units = Table(
        "单位",
        f"{progress['year']} 年各单位驻外招商进度",
        [
            ("单位", "unit", 14),
            ("领导人数", "leaders", 8),
            ("已外出", "trips", 8),
            ("年度任务", "quota", 8),
            ("完成", "met", 8),
        ],
        progress["units"],
    )
    return [leaders, units]


def status_table(answer: Mapping[str, Any], key: str) -> Table:
    """附件3 (`tasks`) or 附件4 (`matters`) status, its columns those the gateway answered."""
    rows = answer[key]
    names = list(dict.fromkeys(k for row in rows for k in row)) or ["unit"]
    title = "附件3 重点任务完成情况" if key == "tasks" else "附件4 重点事项进展情况"
    return Table(
        "附件3" if key == "tasks" else "附件4",
        f"{title}（截至 {answer.get('as_of', '')}）",
        [(name, name, 24 if name in ("title", "item", "latest") else 12) for name in names],
        rows,
    )
