"""Excel 台账 in the console: the template to download, an import (upload -> preview judged by
the gateway's Ingest.Validate, every problem by sheet, row, column, value and rule -> confirm,
sent with Ingest.Publish) with the error copy to download, and the office's fixed tables
exported (a 市州 person exports its own), each export recorded in the console's access records.

Everything about a workbook is zhaoshang/sheets' (the same code as `zhaoshang sheets`); the rows
are reported from the person's own unit, and the same file imported again answers `duplicate`
row by row (each row's event id comes from its 本地编号).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from services.console.pages import QUARTER, READERS, quarters
from services.console.roles import REPORTER, REVIEWER, region_of
from services.console.uploads import MIB, bounded, read_upload
from services.console.web import Refused, call, console_of, page, render, session_of
from zhaoshang.sheets import exporting, gathering
from zhaoshang.sheets.errorcopy import STATUS_ZH, error_copy
from zhaoshang.sheets.importing import Reading, judged_by, read
from zhaoshang.sheets.reading import Unreadable
from zhaoshang.sheets.template import template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WORKBOOK_BYTES = 10 * MIB
PENDING_SECONDS = 3600.0
MAX_PENDING = 64  # previews held at once, across everyone; the oldest goes first
IMPORTERS = (REPORTER, REVIEWER)
PREVIEW_ZH = {**STATUS_ZH, "accepted": "可接收", "rejected": "将被拒绝", "conflict": "冲突"}
TABLES_ZH = {
    "ranking": "季度排名及各市州评分表",
    "targets": "招商引资工作目标进度汇总表",
    "registered": "新注册重点项目一览表",
    "started": "新开工重点项目一览表",
    "production": "新投产重点项目一览表",
    "trips": "党政主职驻外招商进度汇总表",
    "projects": "项目库",
    "tasks": "附件3 重点任务完成情况",
    "matters": "附件4 重点事项进展情况",
}
QUARTERLY = frozenset({"ranking", "targets", "registered", "started", "production"})


@dataclass
class Pending:
    """An uploaded workbook between its preview and its confirmation (or the error copy)."""

    username: str
    unit: str
    name: str
    data: bytes
    reading: Reading
    at: float


_pending: dict[str, Pending] = {}


def hold(pending: Pending) -> str:
    now = time.monotonic()
    for token in [t for t, p in _pending.items() if now - p.at > PENDING_SECONDS]:
        del _pending[token]
    while len(_pending) >= MAX_PENDING:
        del _pending[min(_pending, key=lambda t: _pending[t].at)]
    token = secrets.token_urlsafe(16)
    _pending[token] = pending
    return token


def held(token: str, username: str) -> Pending:
    pending = _pending.get(token)
    if pending is None or pending.username != username:
        raise Refused(404, "该导入已过期或不存在，请重新上传文件")
    return pending


@dataclass(frozen=True)
class Preview:
    rows: int
    counts: dict[str, int]  # status -> rows
    sheets: dict[str, dict[str, int]]  # sheet -> status -> rows
    problems: list[dict]  # sheet, row, column, value, rule, message
    failed: bool


def preview(reading: Reading) -> Preview:
    """What the preview page shows of a judged reading."""
    sheets: dict[str, Counter] = {}
    for row in reading.rows:
        sheets.setdefault(row.sheet, Counter())[row.status] += 1
    return Preview(
        rows=len(reading.rows),
        counts=dict(Counter(row.status for row in reading.rows)),
        sheets={name: dict(counter) for name, counter in sheets.items()},
        problems=[
            {
                "sheet": p.sheet,
                "row": p.row or "",
                "column": p.column,
                "value": p.value,
                "rule": p.rule,
                "message": p.message_zh,
            }
            for p in reading.problems
        ],
        failed=reading.failed,
    )


@cache
def _template() -> bytes:
    return template()


def _attachment(data: bytes, ascii_name: str, name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})


@page(*IMPORTERS)
async def import_page(request: Request) -> Response:
    return render(request, "import.html", result=None)


@page(*IMPORTERS)
async def template_download(request: Request) -> Response:
    return _attachment(await call(_template), "template.xlsx", "招商引资工作台账模板.xlsx")


@bounded(MAX_WORKBOOK_BYTES + MIB)
@page(*IMPORTERS)
async def import_upload(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    upload = await read_upload((await request.form()).get("file"), MAX_WORKBOOK_BYTES, "文件")
    if upload is None:
        raise Refused(400, "请选择要导入的台账文件（.xlsx、.xls 或 .ods）")
    name, data = upload
    try:
        reading = await call(read, data, session.unit)
    except Unreadable as error:
        raise Refused(400, str(error)) from None
    await call(judged_by, reading, console.client(session).validate)
    pending = Pending(session.username, session.unit, name, data, reading, time.monotonic())
    return _judged(request, hold(pending), pending, sent=False)


def _judged(request: Request, token: str, pending: Pending, sent: bool) -> Response:
    """The preview (judged by Validate) or, once sent, Publish's answer, row by row."""
    return render(
        request,
        "import_preview.html",
        name=pending.name,
        token=token,
        result=preview(pending.reading),
        words=STATUS_ZH if sent else PREVIEW_ZH,
        sent=sent,
    )


@page(*IMPORTERS)
async def import_confirm(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    token = request.path_params["token"]
    pending = held(token, session.username)
    if pending.reading.failed:
        raise Refused(400, "预览中有错误，未报送任何一行：请按错误说明修改后重新上传")
    reading = await call(read, pending.data, pending.unit)  # afresh: nothing of the preview kept
    await call(judged_by, reading, console.client(session).publish)
    pending.reading = reading
    return _judged(request, token, pending, sent=True)


@page(*IMPORTERS)
async def error_copy_download(request: Request) -> Response:
    pending = held(request.path_params["token"], session_of(request).username)
    data = await call(error_copy, pending.data, pending.reading)
    stem = pending.name.rsplit(".", 1)[0]
    return _attachment(data, "errors.xlsx", f"{stem}.错误.xlsx")


def export_options(query: dict[str, str], unit: str) -> dict[str, str]:
    """The export's options from the page's fields; a 市州 or county person's region is their
    own, whatever was asked (the gateway scopes every answer besides)."""
    quarter = query.get("quarter", "")
    if quarter and QUARTER.fullmatch(quarter) is None:
        raise Refused(400, f"季度 {quarter[:20]!r} 无效：应形如 2020Q3")
    year = query.get("year", "")
    list_name = query.get("list", "")
    return {
        "quarter": quarter,
        "view": "official",
        "region": region_of(unit) or query.get("region", "")[:6],
        "list_name": list_name
        if list_name in ("promotion", "tracking", "signed", "started")
        else "",
        "year": year if year.isdigit() and len(year) == 4 else "",
    }


@page(*READERS)
async def exports_page(request: Request) -> Response:
    quarters_ = quarters(console_of(request).config.first_quarter)
    return render(
        request, "import_exports.html", tables=TABLES_ZH, quarterly=QUARTERLY, quarters=quarters_
    )


@page(*READERS)
async def export_download(request: Request) -> Response:
    console, session = console_of(request), session_of(request)
    table = request.query_params.get("table", "")
    if table not in TABLES_ZH:
        raise Refused(400, f"报表 {table[:20]!r} 无效")
    options = export_options(dict(request.query_params), session.unit)
    by = f"{session.username}（{session.unit}）"
    try:
        data = await call(gathering.export, console.client(session), table, options, by)
    except exporting.NothingToExport as nothing:
        raise Refused(404, str(nothing)) from None
    what = ":".join(v for v in (table, options["quarter"], options["region"]) if v)
    await call(console.accounts.record, session.username, session.unit, "export", f"sheet:{what}")
    suffix = f"-{options['quarter']}" if options["quarter"] else ""
    return _attachment(data, f"{table}{suffix}.xlsx", f"{TABLES_ZH[table]}{suffix}.xlsx")
