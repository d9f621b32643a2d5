"""The circular as a Word document, laid out as an official notice (after GB/T 9704): the
issuing office in red over a red rule, the title, the addressees, the ranking table and the
chart of totals, the summons, the reward tiers, the policy version and ranking hash, the
signature and date.

python-docx stamps every zip member with the time of saving; the members are written again with
the publication date as their time, so the same ranking gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import Ranking
from services.notify import heads as tree_heads
from services.notify.circular import (
    ADDRESSEES,
    ISSUER,
    date_zh,
    last_sections,
    sections,
    table_rows,
    tiers_text,
    title,
)

BODY_FONT = "仿宋"  # 公文 body text: 仿宋 三号 (16 pt)
TITLE_FONT = "宋体"  # the title, bold 二号 (22 pt)
HEADING_FONT = "黑体"  # first-level headings 一、二、三、
TABLE_FONT = "宋体"
HASH_FONT = "Consolas"  # 64 hex digits on one line
# Column widths of the ranking table (the text block is 156 mm wide): 名次, 市州, 9 figures.
COLUMN_WIDTHS_MM = (12, 30, *(12.5,) * 9)
RED = RGBColor(0xC0, 0x00, 0x00)
# What follows w:pBdr inside w:pPr (the schema fixes the order of a paragraph's properties).
_AFTER_PBDR = ("w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr", "w:sectPr")
_AFTER_TBLCELLMAR = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def render_docx(
    ranking: Ranking, published_on: date, chart_png: bytes, heads: list[dict] | None = None
) -> bytes:
    document = Document()
    _page_setup(document)
    _set_style_font(document, "Normal", BODY_FONT, 16)
    text = sections(ranking)

    issuer = _paragraph(document, ISSUER, TITLE_FONT, 26, bold=True, colour=RED, centred=True)
    _red_rule(issuer)
    _paragraph(document, title(ranking), TITLE_FONT, 22, bold=True, centred=True)
    _paragraph(document, ADDRESSEES, BODY_FONT, 16)
    _body(document, text.opening)

    _paragraph(document, "一、评分排名", HEADING_FONT, 16)
    _ranking_table(document, table_rows(ranking))
    document.add_picture(io.BytesIO(chart_png), width=Cm(15.5))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    _paragraph(document, "二、约谈", HEADING_FONT, 16)
    _body(document, text.summons_text)
    tiers_heading, heads_number = last_sections(ranking)
    if tiers_heading:
        _paragraph(document, tiers_heading, HEADING_FONT, 16)
        _body(document, tiers_text(ranking))
    _body(document, text.provenance)
    _paragraph(document, text.ranking_hash, HASH_FONT, 10, centred=True)
    if heads:
        _heads(document, heads, text.ranking_hash, heads_number)

    _paragraph(document, ISSUER, BODY_FONT, 16, right=True)
    _paragraph(document, date_zh(published_on), BODY_FONT, 16, right=True)
    _core_properties(document, ranking, published_on)
    out = io.BytesIO()
    document.save(out)
    return normalised_zip(out.getvalue(), published_on)


def normalised_zip(data: bytes, day: date) -> bytes:
    """The same archive with every member dated `day`, in the same order."""
    stamp = (day.year, day.month, day.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(member.filename))
    return out.getvalue()


# Layout ------------------------------------------------------------------------------------


def _heads(document, heads: list[dict], ranking_hash: str, number: str) -> None:
    """The signed tree heads (services/notify/heads.py): text, the one line an auditor's
    command reads, and its QR code."""
    _paragraph(document, f"{number}、{tree_heads.TITLE}", HEADING_FONT, 16)
    _body(document, tree_heads.INTRO)
    for line in tree_heads.lines(heads):
        _paragraph(document, line, HASH_FONT, 8)
    line = tree_heads.payload(heads, ranking_hash)
    _paragraph(document, line, HASH_FONT, 6)
    document.add_picture(io.BytesIO(tree_heads.qr_png(line)), width=Cm(7))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _page_setup(document) -> None:
    """A4 portrait with the GB/T 9704 margins."""
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)


def _set_style_font(document, style_name: str, family: str, size: float) -> None:
    style = document.styles[style_name]
    style.font.name = family
    style.font.size = Pt(size)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)


def _paragraph(
    document,
    text: str,
    family: str,
    size: float,
    *,
    bold: bool = False,
    colour: RGBColor | None = None,
    centred: bool = False,
    right: bool = False,
) -> Paragraph:
    paragraph = document.add_paragraph()
    if centred:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(paragraph.add_run(text), family, size, bold=bold, colour=colour)
    return paragraph


def _body(document, text: str) -> Paragraph:
    """A body paragraph, its first line indented by two characters."""
    paragraph = _paragraph(document, text, BODY_FONT, 16)
    paragraph.paragraph_format.first_line_indent = Pt(32)
    return paragraph


def _font(
    run: Run, family: str, size: float, *, bold: bool = False, colour: RGBColor | None = None
) -> None:
    run.font.name = family
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)


def _red_rule(paragraph: Paragraph) -> None:
    """The red line under the issuing office (版头分隔线)."""
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (
        ("w:val", "single"),
        ("w:sz", "18"),
        ("w:space", "4"),
        ("w:color", "C00000"),
    ):
        bottom.set(qn(name), value)
    border.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PBDR)


def _ranking_table(document, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=len(rows[0]), style="Table Grid")
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = [Mm(w) for w in COLUMN_WIDTHS_MM] if len(rows[0]) == len(COLUMN_WIDTHS_MM) else []
    for column, width in zip(table.columns, widths, strict=False):
        column.width = width
    for r, values in enumerate(rows):
        cells = table.rows[r].cells
        for c, value in enumerate(values):
            if widths:
                cells[c].width = widths[c]  # Word reads the cells' widths, LibreOffice the grid's
            paragraph = cells[c].paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(paragraph.add_run(value), TABLE_FONT, 9, bold=r == 0)
    header = table.rows[0]._tr.get_or_add_trPr()
    header.append(OxmlElement("w:tblHeader"))  # repeat the header on every page
    _narrow_cell_margins(table)


def _narrow_cell_margins(table) -> None:
    """0.75 mm each side instead of Word's 1.9 mm: "100.00" fits a 12.5 mm column."""
    margins = OxmlElement("w:tblCellMar")
    for side in ("w:left", "w:right"):
        margin = OxmlElement(side)
        margin.set(qn("w:w"), "43")  # twentieths of a point
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.insert_element_before(margins, *_AFTER_TBLCELLMAR)


def _core_properties(document, ranking: Ranking, published_on: date) -> None:
    moment = datetime.combine(published_on, time(9), tzinfo=SHANGHAI)
    properties = document.core_properties
    properties.title = title(ranking)
    properties.author = properties.last_modified_by = ISSUER
    properties.subject = f"{ranking['quarter']} {ranking['hash']}"
    properties.keywords = f"policy {ranking['policy_version']}"
    properties.created = properties.modified = properties.last_printed = moment
    properties.revision = 1
