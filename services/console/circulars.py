"""A published ranking as a .docx for download from 通报: its rows as the ranking holds them, the
summons list, and the ranking's hash, so a reader can check the copy against the published one.
Nothing is computed here: every figure is the published ranking's."""

from __future__ import annotations

import io

from docx import Document

COLUMNS = ("名次", "市州", "总分", "加分", "减分", "档次")


def circular_docx(ranking: dict) -> bytes:
    quarter = ranking["quarter"]
    document = Document()
    document.add_heading(f"{quarter[:4]}年第{quarter[5]}季度全省招商引资工作考核排名", level=1)
    document.add_paragraph(f"评分办法版本：{ranking.get('policy_version', '')}")
    table = document.add_table(rows=1, cols=len(COLUMNS))
    for cell, title in zip(table.rows[0].cells, COLUMNS, strict=True):
        cell.text = title
    for row in ranking.get("rows", []):
        values = (
            row["rank"],
            row["name"],
            row["total"],
            row.get("bonuses", ""),
            row.get("deductions", ""),
            row.get("tier") or "",
        )
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = str(value)
    names = {row["region"]: row["name"] for row in ranking.get("rows", [])}
    if ranking.get("summons"):
        summoned = "、".join(names.get(c, c) for c in ranking["summons"])
        document.add_paragraph(f"约谈：{summoned}")
    document.add_paragraph(f"排名哈希（SHA-256）：{ranking.get('hash', '')}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
