"""The 台账 template (`zhaoshang sheets template`, the console's download): a 说明 sheet, one
sheet per report type a person may send (forms.py), and a hidden 字典 sheet the drop-downs read
their lists from (regions, industries, categories, channels, … from the reference data).

Code and text columns are formatted as text, so 420100 or a 本地编号 "007" stays as written;
dates as 年-月-日; amounts in 亿元 with four places, as the contract counts them. The header row
is frozen, and a header's comment says what its column takes.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.kernel.reference import Reference, reference
from zhaoshang.sheets.forms import FORMS, Form, dictionaries

ROWS = 500  # rows prepared with formats and drop-downs
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)
FORMATS = {"date": "yyyy-mm-dd", "amount": "0.0000", "flag": "@", "code": "@", "text": "@"}
INSTRUCTIONS = (
    "湖北省招商引资工作台账导入模板",
    "",
    "1. 每个工作表对应一类报告；请勿改动表名和表头，可增删空行。",
    "2. 本地编号：本单位自编的行号，每表内唯一。同一文件再次导入时，已报送的行答复“重复”，"
    "不会重复计数；改动过内容的行答复“冲突”（请按提示更正）。同日同额的两笔到资请分两行、用不同本地编号。",
    "3. 红色加粗的表头为必填项；日期写 年-月-日（如 2020-07-20）；金额单位见表头（亿元）。",
    "4. 地区、产业、项目类别、招商方式等请从下拉列表选择；项目类别可填多个，以“、”分隔。",
    "5. 导入命令：zhaoshang sheets import 文件.xlsx --source pref:<市州代码> --dry-run 先预览，"
    "确认无误后去掉 --dry-run 正式报送；有错误时会生成带“错误说明”列的副本。",
    "6. 依据：鄂政办发〔2020〕22号 湖北省招商引资工作方案；各表说明如下。",
    "",
)


def template(ref: Reference | None = None) -> bytes:
    """The template workbook as .xlsx bytes."""
    out = io.BytesIO()
    workbook(ref).save(out)
    return out.getvalue()


def workbook(ref: Reference | None = None) -> Workbook:
    """The template workbook, to save or to fill (filling.py)."""
    ref = ref or reference()
    book = Workbook()
    guide = book.active
    assert guide is not None  # a new workbook has its one sheet
    guide.title = "说明"
    for line in INSTRUCTIONS:
        guide.append([line])
    for form in FORMS:
        guide.append([f"「{form.sheet}」", form.note, form.type])
    guide.column_dimensions["A"].width = 16
    guide.column_dimensions["B"].width = 90
    guide["A1"].font = Font(bold=True, size=14)
    lists = _dictionary_sheet(book, dictionaries(ref))
    for form in FORMS:
        _form_sheet(book.create_sheet(form.sheet), form, lists)
    return book


def _dictionary_sheet(book: Workbook, lists: dict[str, dict[str, str]]) -> dict[str, str]:
    """The hidden 字典 sheet; each list's range as a formula for a drop-down."""
    sheet = book.create_sheet("字典")
    sheet.sheet_state = "hidden"
    ranges = {}
    for n, (name, words) in enumerate(lists.items(), 1):
        letter = get_column_letter(n)
        sheet.cell(row=1, column=n, value=name)
        for r, word in enumerate(words, 2):
            sheet.cell(row=r, column=n, value=word).number_format = "@"
        ranges[name] = f"字典!${letter}$2:${letter}${len(words) + 1}"
    return ranges


def _form_sheet(sheet: Worksheet, form: Form, lists: dict[str, str]) -> None:
    for c, column in enumerate(form.columns, 1):
        cell = sheet.cell(row=1, column=c, value=column.header)
        cell.fill = HEADER_FILL
        cell.font = REQUIRED_FONT if column.required else HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        note = column.note or ("必填" if column.required else "选填")
        cell.comment = Comment(f"{note}（{column.field}）", "zhaoshang")
        letter = get_column_letter(c)
        sheet.column_dimensions[letter].width = column.width
        cells = f"{letter}2:{letter}{ROWS + 1}"
        if column.dictionary:
            rule = DataValidation(type="list", formula1=f"={lists[column.dictionary]}")
            rule.error = "请从下拉列表中选择"
            rule.showErrorMessage = column.kind == "choice"  # several, 、-separated: typed
            sheet.add_data_validation(rule)
            rule.add(cells)
        number_format = FORMATS.get(column.kind, "@")
        for r in range(2, ROWS + 2):
            sheet.cell(row=r, column=c).number_format = number_format
    sheet.freeze_panes = "C2"
    sheet.row_dimensions[1].height = 32
