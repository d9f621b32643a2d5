"""填报: a form in Chinese for every report type the person's unit may send, built from the 台账's
column definitions (zhaoshang/sheets/forms.py; one definition for the workbook and the form),
its cells read as an imported row's are (zhaoshang/sheets/importing.py), and judged by the
gateway: `Ingest.Validate` when the clerk checks, `Ingest.Publish` when they confirm. Each
broken rule, the gateway's or a cell's, is shown beside its field. The report is sent as the
person (delegation), so the stored event names them as its operator.

Which forms are offered follows docs/CONTRACT.md "Who may send what"; it only spares a clerk
forms they could not send: the gateway judges every report against the sender's jurisdiction.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from services.kernel.contract.vocabulary import (
    MAX_EVIDENCE_FILES,
    REVIEWED_TYPES,
    SCHEMA_VERSION,
)
from services.kernel.reference import reference
from zhaoshang.sheets.forms import FORMS, LOCAL_ID, Column, Form, dictionaries
from zhaoshang.sheets.importing import payload_of
from zhaoshang.sheets.reading import Layout

EVIDENCE = "evidence"  # the form's field for 佐证材料 (milestones, trips, themed events)
EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_VALUE = 4000  # characters of one field as typed; the contract bounds what it takes
# docs/CONTRACT.md "Who may send what": a county or department sends no themed event (三), an
# organisation only the progress of its own 附件4 items; an auditor sends nothing.
NOT_FOR = {
    "county": {"promotion.event_held"},
    "dept": {"promotion.event_held"},
}
ONLY_FOR = {"org": {"matter.progress_reported"}, "auditor": set()}
REGION_LISTS = ("地区", "市州")


@cache
def _words() -> dict[str, dict[str, str]]:
    return dictionaries(reference())


def offered(unit: str) -> list[Form]:
    """The forms a person of `unit` may send, in the template's order."""
    kind = unit.partition(":")[0]
    if kind in ONLY_FOR:
        return [f for f in FORMS if f.type in ONLY_FOR[kind]]
    return [f for f in FORMS if f.type not in NOT_FOR.get(kind, set())]


def offered_form(unit: str, report_type: str) -> Form | None:
    return next((f for f in offered(unit) if f.type == report_type), None)


def takes_evidence(form: Form) -> bool:
    return form.type in REVIEWED_TYPES


def entered(form: Form) -> list[Column]:
    """The columns a clerk fills in (本地编号 is the form's own event id)."""
    return [c for c in form.columns if c.label != LOCAL_ID]


def words_for(column: Column, unit: str) -> dict[str, str]:
    """A column's list of words -> contract values; the region lists narrowed to the person's
    own 市州 and its counties (or its own county)."""
    words = _words()[column.dictionary or ""]
    kind, _, code = unit.partition(":")
    if column.dictionary not in REGION_LISTS or kind not in ("pref", "county"):
        return words
    ref = reference()
    own = {code} | ({c.code for c in ref.counties_of(code)} if kind == "pref" else set())
    return {word: value for word, value in words.items() if value in own}


@dataclass(frozen=True)
class Field:
    name: str  # the payload field (dotted for nested ones)
    label: str  # the header, with its unit
    kind: str
    required: bool
    note: str
    options: tuple[tuple[str, str], ...]  # (value, word) for a choice
    value: str | tuple[str, ...]
    error: str  # what the gateway or the cell reading says of it, in Chinese, with its rule


def fields(
    form: Form, unit: str, values: Mapping[str, Any], errors: Mapping[str, str]
) -> list[Field]:
    """The form's fields as the page shows them, with what was typed and each field's error."""
    out = []
    for column in entered(form):
        if column.kind == "flag":
            options: tuple[tuple[str, str], ...] = (("是", "是"), ("否", "否"))
        elif column.dictionary:
            options = tuple((v, w) for w, v in words_for(column, unit).items())
        else:
            options = ()
        value = values.get(column.field, ())
        out.append(
            Field(
                column.field,
                column.header,
                column.kind,
                column.required,
                column.note,
                options,
                tuple(value) if column.kind == "choices" else str(value or ""),
                errors.get(column.field, ""),
            )
        )
    return out


def typed(form: Form, submitted: Any) -> dict[str, Any]:
    """What was typed in each field of `submitted` (a form's data: `get`/`getlist`), bounded."""
    values: dict[str, Any] = {}
    for column in entered(form):
        if column.kind == "choices":
            values[column.field] = [str(v)[:MAX_VALUE] for v in submitted.getlist(column.field)]
        else:
            values[column.field] = str(submitted.get(column.field) or "")[:MAX_VALUE]
    return values


def report_of(
    form: Form, unit: str, event_id: str, values: Mapping[str, Any], evidence: Sequence[dict]
) -> tuple[dict | None, dict[str, str]]:
    """The report the form says, from `unit`, or each field's reading error (rule in it)."""
    columns = entered(form)
    cells = [
        "、".join(values.get(c.field, ())) if c.kind == "choices" else values.get(c.field, "")
        for c in columns
    ]
    found = Layout(
        header_row=0,
        columns={i: (c, "") for i, c in enumerate(columns)},
        headers={i: c.header for i, c in enumerate(columns)},
    )
    payload, problems = payload_of(form.sheet, 0, form, cells, found, _words())
    if problems:
        by_header = {c.header: c.field for c in columns}
        return None, {
            by_header.get(p.column, ""): f"{p.message_zh}（规则 {p.rule}）" for p in problems
        }
    if evidence:
        payload[EVIDENCE] = list(evidence)
    return {
        "event_id": event_id,
        "type": form.type,
        "source": unit,
        "occurred_on": payload.pop("occurred_on"),
        "schema_version": SCHEMA_VERSION,
        "payload": payload,
    }, {}


def errors_of(form: Form, outcome: Mapping[str, Any]) -> dict[str, str]:
    """The gateway's errors by the form field they are about ("" for the report as a whole,
    `evidence` for a file named)."""
    out: dict[str, str] = {}
    for error in outcome.get("errors", ()):
        name = str(error.get("field", ""))
        column = form.column_of(name)
        key = EVIDENCE if name.startswith(f"payload.{EVIDENCE}") else ""
        if column is not None and column.label != LOCAL_ID:
            key = column.field
        said = f"{error.get('message_zh', '')}（规则 {error.get('rule', '')}）"
        out[key] = f"{out[key]}；{said}" if key in out else said
    return out


def event_id_of(submitted: Any) -> str:
    """The form's report id: kept from its first showing, so sending it twice counts once."""
    given = str(submitted.get("event_id", ""))
    return given if EVENT_ID.fullmatch(given) else str(uuid.uuid4())


def carried_evidence(text: str) -> list[dict]:
    """The files uploaded with an earlier submission of this form (a hidden field), in the
    shape `Evidence.Upload` answered; anything else is dropped (the gateway checks them)."""
    try:
        files = json.loads(text or "[]")
    except ValueError:
        return []
    if not isinstance(files, list):
        return []
    return [
        {
            "sha256": f["sha256"],
            "name": str(f.get("name", ""))[:200],
            "media_type": str(f.get("media_type", ""))[:100],
            "size": int(f.get("size", 0)),
        }
        for f in files[:MAX_EVIDENCE_FILES]
        if isinstance(f, dict)
        and SHA256.fullmatch(str(f.get("sha256", "")))
        and isinstance(f.get("size"), int)
    ]
