"""A workbook's sheets as rows of cells, their headers found and matched to a form's columns.

Any of .xlsx, .xls, .ods (python-calamine). Merged cells are filled with their top-left value
(a merged header spans its columns; a merged 项目编号 spans its rows). The header row is the one
with 本地编号 in it; a header split over two rows ("投资方" merged above "名称", "来源地") is read
as one ("投资方名称"), and a title row above is passed over. Headers are matched after folding
full-width forms and dropping blanks; the unit in parentheses stays with the column (万元).
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import python_calamine

from zhaoshang.sheets.forms import LOCAL_ID, Column, Form

HEADER_SEARCH = 12  # rows from the top in which the header row is looked for
UNIT = re.compile(r"\((.*?)\)")


class Unreadable(ValueError):
    """Not a workbook python-calamine can read (a message for people)."""


def header_key(text: Any) -> tuple[str, str]:
    """A header as (label, unit): "到资金额（万元）" -> ("到资金额", "万元")."""
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))
    unit = UNIT.search(folded)
    return UNIT.sub("", folded), unit.group(1) if unit else ""


@dataclass
class Layout:
    """Where a form's columns are in one sheet: column index -> (Column, the header's unit)."""

    header_row: int  # 0-based index of the last header row
    columns: dict[int, tuple[Column, str]] = field(default_factory=dict)
    missing: list[Column] = field(default_factory=list)  # required columns not found
    headers: dict[int, str] = field(default_factory=dict)  # column index -> header as written


def read_workbook(data: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet's cells from (0, 0), merged ranges filled."""
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # calamine raises its own kinds for every broken file
        raise Unreadable(f"无法读取该文件（应为 .xlsx、.xls 或 .ods 工作簿）：{error}") from None
    sheets = {}
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        rows = [list(row) for row in sheet.to_python(skip_empty_area=False)]
        for (top, left), (bottom, right) in sheet.merged_cell_ranges or ():
            if top < len(rows) and left < len(rows[top]):
                value = rows[top][left]
                for r in range(top, min(bottom + 1, len(rows))):
                    for c in range(left, min(right + 1, len(rows[r]))):
                        rows[r][c] = value
        sheets[name] = rows
    return sheets


def layout(rows: list[list[Any]], form: Form) -> Layout | None:
    """Where `form`'s columns are in `rows`; None when no row in the first HEADER_SEARCH has
    a 本地编号 header."""
    top = next(
        (
            n
            for n, row in enumerate(rows[:HEADER_SEARCH])
            if any(header_key(cell)[0] == LOCAL_ID for cell in row)
        ),
        None,
    )
    if top is None:
        return None
    labels = {header_key(column.header)[0]: column for column in form.columns}
    levels = [rows[top - 1] if top else [], rows[top], rows[top + 1] if top + 1 < len(rows) else []]
    found = Layout(header_row=top)
    width = max(len(level) for level in levels)
    sub_header = False
    for c in range(width):
        upper, middle, lower = (str(lv[c]) if c < len(lv) else "" for lv in levels)
        for candidate, uses_lower in (
            (middle + lower, True),
            (upper + middle, False),
            (middle, False),
        ):
            label, unit = header_key(candidate)
            column = labels.get(label)
            if column is not None and all(
                column is not known for known, _ in found.columns.values()
            ):
                found.columns[c] = (column, unit)
                found.headers[c] = candidate.strip()
                sub_header |= uses_lower and header_key(lower)[0] != ""
                break
    if sub_header:  # the row below 本地编号 held the lower half of split headers
        found.header_row = top + 1
    placed = {column for column, _ in found.columns.values()}
    found.missing = [c for c in form.columns if c.required and c not in placed]
    return found
