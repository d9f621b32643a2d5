"""One 市州's quarter as its clerk keeps it: a 台账 workbook (zhaoshang/sheets), which `make run`
imports the way a clerk would instead of that 市州's system publishing it.

宜昌市 is the one: none of the four set cases is there (tools/demo/scripted.py), so every report
it sends is of a type the template has a sheet for. Its rows are numbered sheet by sheet (本地编号
"1", "2", …); read back, each row's event_id is derived from (source, sheet's type, 本地编号)
(zhaoshang/sheets/importing.py), so the office's checks of its milestones name those ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kernel.reference import reference
from zhaoshang.sheets.filling import fill, numbering
from zhaoshang.sheets.importing import event_id

UNIT = "420500"  # 宜昌市
REFERRING = ("milestone_event_id", "report_event_id")  # payload fields naming another report


@dataclass(frozen=True)
class Ledger:
    source: str
    name: str  # the file's name: 宜昌市-2020Q3-台账.xlsx
    workbook: bytes
    renamed: dict[str, str]  # a report's event_id as generated -> its row's

    def others(self, reports: list[dict]) -> list[dict]:
        """`reports` without the ledger's, those naming one of its reports by the row's id."""
        return [self._renaming(r) for r in reports if r["event_id"] not in self.renamed]

    def _renaming(self, report: dict) -> dict:
        payload = report["payload"]
        if not any(payload.get(f) in self.renamed for f in REFERRING):
            return report
        named = {f: self.renamed.get(payload[f], payload[f]) for f in REFERRING if f in payload}
        return {**report, "payload": {**payload, **named}}


def ledger(reports: list[dict], quarter: str, unit: str = UNIT) -> Ledger:
    """The 台账 of `unit`'s own reports among the quarter's `reports`."""
    source = f"pref:{unit}"
    own = [r for r in reports if r["source"] == source]
    local_ids = numbering(own)
    renamed = {
        r["event_id"]: event_id(source, r["type"], local_id)
        for r, local_id in zip(own, local_ids, strict=True)
    }
    name = f"{reference().region(unit).name}-{quarter}-台账.xlsx"
    return Ledger(source, name, fill(own, local_ids), renamed)
