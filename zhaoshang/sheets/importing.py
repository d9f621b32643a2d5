"""A filled 台账 workbook as reports, and every problem in it named by sheet, row, column, value
and rule, in Chinese. Pure: bytes in, rows and problems out; a web app and the command line
call it alike: `read` the upload, `judged_by(reading, client.validate)` for the preview,
`error_copy` (errorcopy.py) when it failed, `judged_by(reading, client.publish)` once confirmed.

Each row's `event_id` is a UUID v5 of (the source, the sheet's report type, its 本地编号): the
same row imported again is the same report (answered `duplicate`), a changed row is a
`conflict` (`judge` says how to correct it), and two genuinely identical rows (two same-day,
same-amount 到资) stay two because their 本地编号 differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.kernel.contract.vocabulary import OWNER, SCHEMA_VERSION
from services.kernel.reference import Reference, reference
from zhaoshang.sheets import cells
from zhaoshang.sheets.forms import BY_SHEET, FORMS, LOCAL_ID, Column, Form, dictionaries
from zhaoshang.sheets.reading import Layout, layout, read_workbook

NAMESPACE = uuid.UUID("5b0c8c1e-2f7e-5d55-9a43-7a686f617368")  # zhaoshang 台账 rows
IGNORED_SHEETS = frozenset({"说明", "字典"})
TOTALS = frozenset({"合计", "小计", "总计"})
PROBLEM_STATUSES = frozenset({"rejected", "conflict", "invalid"})


def event_id(source: str, report_type: str, local_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{source}\x1f{report_type}\x1f{local_id}"))


@dataclass
class Problem:
    sheet: str
    row: int | None  # as Excel numbers it; None: the sheet as a whole
    column: str  # the header as written, or "" for the row as a whole
    value: str
    rule: str
    message_zh: str

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」" + (f"第 {self.row} 行" if self.row else "")
        column = f"「{self.column}」列" if self.column else ""
        value = f"值“{self.value}”：" if self.value else ""
        return f"{where}{column}{value}{self.message_zh}（规则 {self.rule}）"


@dataclass
class Row:
    sheet: str
    row: int  # as Excel numbers it
    local_id: str
    report: dict | None  # None: the row's own cells are wrong (see problems)
    problems: list[Problem] = field(default_factory=list)
    status: str = "invalid"  # accepted, duplicate, rejected, conflict; invalid before judged

    @property
    def failed(self) -> bool:
        return self.status in PROBLEM_STATUSES


@dataclass
class Reading:
    rows: list[Row]
    notes: list[Problem]  # about whole sheets: skipped, a required column missing
    layouts: dict[str, Layout]

    @property
    def reports(self) -> list[dict]:
        """The reports of the rows whose cells could be read, in the workbook's order."""
        return [row.report for row in self.rows if row.report is not None]

    @property
    def problems(self) -> list[Problem]:
        return [*self.notes, *(p for row in self.rows for p in row.problems)]

    @property
    def failed(self) -> bool:
        return any(row.failed for row in self.rows) or any(n.row is None for n in self.notes)


def read(data: bytes, source: str, ref: Reference | None = None) -> Reading:
    """The workbook's rows as reports from `source` (raises reading.Unreadable)."""
    ref = ref or reference()
    words = dictionaries(ref)
    reading = Reading([], [], {})
    for name, rows in read_workbook(data).items():
        form = BY_SHEET.get(name.strip())
        if form is None:
            if name.strip() not in IGNORED_SHEETS and any(map(any, rows)):
                reading.notes.append(
                    Problem(name, None, "", "", "unknown_sheet", "不是模板中的工作表，未导入")
                )
            continue
        found = layout(rows, form)
        if found is None:
            reading.notes.append(
                Problem(name, None, LOCAL_ID, "", "header_missing", "找不到含“本地编号”的表头行")
            )
            continue
        reading.layouts[name] = found
        for column in found.missing:
            reading.notes.append(
                Problem(name, None, column.header, "", "column_missing", "缺少必填列，本表未导入")
            )
        if not found.missing:
            reading.rows += _rows(name, form, rows, found, source, words)
    return reading


def _rows(
    sheet: str,
    form: Form,
    rows: list[list[Any]],
    found: Layout,
    source: str,
    words: Mapping[str, Mapping[str, str]],
) -> list[Row]:
    read_rows: list[Row] = []
    seen: dict[str, int] = {}
    id_column = next(c for c, (column, _) in found.columns.items() if column.label == LOCAL_ID)
    for index in range(found.header_row + 1, len(rows)):
        cells_ = rows[index]
        if all(cells.is_blank(v) for v in cells_):
            continue  # a blank row
        local_id = cells.text(cells_[id_column]) if id_column < len(cells_) else ""
        written = {cells.text(v).replace(" ", "") for v in cells_}
        if local_id.replace(" ", "") in TOTALS or (not local_id and TOTALS & written):
            continue  # a 合计 row
        row = Row(sheet, index + 1, local_id, None)
        read_rows.append(row)
        if not local_id:
            row.problems.append(
                Problem(
                    sheet,
                    row.row,
                    LOCAL_ID,
                    "",
                    "local_id_missing",
                    "为空：每行须有本地编号",
                )
            )
        elif local_id in seen:
            row.problems.append(
                Problem(
                    sheet,
                    row.row,
                    LOCAL_ID,
                    local_id,
                    "local_id_repeated",
                    f"本地编号与第 {seen[local_id]} 行重复：同一笔请只填一行，另一笔请用新编号",
                )
            )
        seen.setdefault(local_id, row.row)
        payload, problems = payload_of(sheet, row.row, form, cells_, found, words)
        row.problems += problems
        if not row.problems:
            occurred_on = payload.pop("occurred_on")
            row.report = {
                "event_id": event_id(source, form.type, local_id),
                "type": form.type,
                "source": source,
                "occurred_on": occurred_on,
                "schema_version": SCHEMA_VERSION,
                "payload": payload,
            }
    return read_rows


def payload_of(
    sheet: str,
    row: int,
    form: Form,
    values: list[Any],
    found: Layout,
    words: Mapping[str, Mapping[str, str]],
) -> tuple[dict, list[Problem]]:
    """A row's payload and its problems, its cells read by the form's columns: the one reading
    of a cell, for an imported row and for a console form alike."""
    payload: dict[str, Any] = {}
    problems: list[Problem] = []
    for index, (column, unit) in found.columns.items():
        if column.label == LOCAL_ID:
            continue  # the row's number, not a payload field (checked by the caller)
        value = values[index] if index < len(values) else ""
        if cells.is_blank(value):
            if column.required:
                problems.append(
                    Problem(sheet, row, found.headers[index], "", "required", "必填项为空")
                )
            continue
        try:
            meant = _cell(column, value, unit, words)
        except cells.CellError as error:
            written = cells.text(value)
            problems.append(
                Problem(sheet, row, found.headers[index], written, error.rule, error.message_zh)
            )
            continue
        target = payload
        *parents, leaf = column.field.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = meant
    return payload, problems


def _cell(column: Column, value: Any, unit: str, words: Mapping[str, Mapping[str, str]]) -> Any:
    kind = column.kind
    if kind == "date":
        return cells.to_date(value).isoformat()
    if kind == "amount":
        return cells.plain(cells.to_amount(value, in_wan="万" in unit))
    if kind == "flag":
        return cells.to_flag(value)
    if kind in ("choice", "choices"):
        name = column.dictionary or ""
        if kind == "choices":
            return cells.to_choices(value, words[name], name)
        return cells.to_choice(value, words[name], name)
    if kind == "lines":
        return cells.split(value, fold=False)
    return cells.text(value, fold=kind != "text")


CHUNK = 500  # reports per call: well under the gateway's batch limit


def judged_by(reading: Reading, call: Callable[[list[dict]], list[dict]]) -> Reading:
    """`reading` judged by `call` (a client's `validate` for a preview, `publish` to send),
    CHUNK reports a call in the workbook's order; the reading, for chaining."""
    reports, outcomes = reading.reports, []
    for start in range(0, len(reports), CHUNK):
        outcomes += call(reports[start : start + CHUNK])
    judge(reading, outcomes)
    return reading


# The order a whole quarter's rows are sent in: the leaders before the projects they plan
# (planned_by_leader), then each sheet in the template's order (the lists of (二), then the
# milestones of (十九)); within a sheet, the workbook's rows in order.
SENDING_ORDER = (
    "leader.appointed",
    *(form.type for form in FORMS if form.type != "leader.appointed"),
)
OWNERS_IN_ORDER = ("registry", "tracking")


def steps(reading: Reading) -> list[Reading]:
    """`reading` in the steps a 台账 holding a whole quarter is previewed and sent in, each
    step sent before the next is previewed: first the rows of the reports registry owns
    (leaders, projects and their lists), then those tracking owns (milestones, trips, events,
    tasks, matters), each step in SENDING_ORDER. Ingest.Validate judges a report that depends
    on another service's report of the same call as if that report were not there yet
    (docs/CONTRACT.md "Validate"): a 到资 of a project proposed in the same workbook previews
    `unknown_project` unless the project was sent in an earlier step. Steps without rows are
    left out; a row that could not be read goes with its sheet's step."""

    def rank(row: Row) -> tuple[int, int]:
        type_ = BY_SHEET[row.sheet.strip()].type
        return OWNERS_IN_ORDER.index(OWNER[type_]), SENDING_ORDER.index(type_)

    ordered = sorted(reading.rows, key=rank)
    return [
        Reading(rows, [], reading.layouts)
        for owner in range(len(OWNERS_IN_ORDER))
        if (rows := [row for row in ordered if rank(row)[0] == owner])
    ]


def judge(reading: Reading, outcomes: Sequence[Mapping[str, Any]]) -> None:
    """Give each row with a report its outcome from Ingest.Validate or Publish (one per
    `reading.reports`, in order): its status, and each error as a Problem on its column."""
    forms = {row.sheet: BY_SHEET[row.sheet.strip()] for row in reading.rows}
    sent = [row for row in reading.rows if row.report is not None]
    for row, outcome in zip(sent, outcomes, strict=True):
        row.status = outcome["status"]
        layout_ = reading.layouts[row.sheet]
        headers = {column: layout_.headers[i] for i, (column, _) in layout_.columns.items()}
        for error in outcome.get("errors", ()):
            column = forms[row.sheet].column_of(error["field"])
            if row.status == "conflict":
                row.problems.append(_conflict(row))
                continue
            row.problems.append(
                Problem(
                    row.sheet,
                    row.row,
                    headers.get(column, error["field"]) if column else error["field"],
                    str(error.get("value", "")),
                    error["rule"],
                    error["message_zh"],
                )
            )


def _conflict(row: Row) -> Problem:
    return Problem(
        row.sheet,
        row.row,
        LOCAL_ID,
        row.local_id,
        "event_id_reused",
        "本地编号为此编号的一行此前已报送，但内容与本次不同。已报送的报告不会被改写："
        "如此前报送有误，请报送“更正”（project.corrected）或“撤回”（milestone.retracted）；"
        "如这是另一笔，请给它一个新的本地编号",
    )
