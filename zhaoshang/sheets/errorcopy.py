"""The workbook handed back after an import with problems: the clerk's own file with an 错误说明
column on each imported sheet (each row's problems in Chinese, the row and the wrong cells
marked red) and an 导入结果 sheet listing every problem by sheet, row, column, value and rule.

An .xlsx is annotated in place (its formats kept); an .xls or .ods is copied into a new .xlsx
by its values, since those formats are read, not written.
"""

from __future__ import annotations

import io
from collections import defaultdict

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from zhaoshang.sheets.importing import Problem, Reading
from zhaoshang.sheets.reading import read_workbook

ERROR_COLUMN = "错误说明"
RED = PatternFill("solid", fgColor="FFC7CE")
STATUS_ZH = {
    "accepted": "已接收",
    "duplicate": "重复（此前已报送）",
    "rejected": "被拒绝",
    "conflict": "冲突",
    "invalid": "未报送",
}


def error_copy(data: bytes, reading: Reading) -> bytes:
    """`data` (the imported workbook) annotated with `reading`'s problems, as .xlsx bytes."""
    try:
        book = load_workbook(io.BytesIO(data))
    except Exception:  # not an .xlsx: copy the values into one
        book = _copied(data)
    by_row: dict[tuple[str, int], list[Problem]] = defaultdict(list)
    for problem in reading.problems:
        if problem.row is not None:
            by_row[(problem.sheet, problem.row)].append(problem)
    for name, found in reading.layouts.items():
        sheet = book[name]
        column = sheet.max_column + 1
        header = sheet.cell(row=found.header_row + 1, column=column, value=ERROR_COLUMN)
        header.font = Font(bold=True, color="C00000")
        sheet.column_dimensions[get_column_letter(column)].width = 60
        at = {text: index + 1 for index, text in found.headers.items()}
        for (sheet_name, row), problems in by_row.items():
            if sheet_name != name:
                continue
            note = "；".join(_said(p) for p in problems)
            cell = sheet.cell(row=row, column=column, value=note)
            cell.fill = RED
            for problem in problems:
                if problem.column in at:
                    sheet.cell(row=row, column=at[problem.column]).fill = RED
    _summary(book, reading)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _said(problem: Problem) -> str:
    column = f"「{problem.column}」" if problem.column else ""
    value = (
        f"“{problem.value}”：" if problem.value and problem.value not in problem.message_zh else ""
    )
    return f"{column}{value}{problem.message_zh}（{problem.rule}）"


def _summary(book: Workbook, reading: Reading) -> None:
    if "导入结果" in book.sheetnames:
        del book["导入结果"]
    sheet = book.create_sheet("导入结果", 0)
    sheet.append(["工作表", "行", "列", "值", "规则", "说明"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for problem in reading.problems:
        sheet.append(
            [
                problem.sheet,
                problem.row or "",
                problem.column,
                problem.value,
                problem.rule,
                problem.message_zh,
            ]
        )
    counts: dict[str, int] = defaultdict(int)
    for row in reading.rows:
        counts[row.status] += 1
    sheet.append([])
    sheet.append(["合计", *(f"{STATUS_ZH.get(s, s)} {n} 行" for s, n in counts.items())])
    for letter, width in zip("ABCDEF", (12, 6, 20, 20, 22, 80), strict=True):
        sheet.column_dimensions[letter].width = width


def _copied(data: bytes) -> Workbook:
    book = Workbook()
    book.remove(book.worksheets[0])
    for name, rows in read_workbook(data).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
    return book
