"""Reports into the 台账 template: the inverse of reading a workbook (importing.py), from the same
columns (forms.py). Each report becomes a row of its type's sheet under a 本地编号, each field
in its column as a clerk writes it: dates as date cells, amounts in 亿元 as numbers (as text
where a number would not hold the amount exactly), 字典 values as the drop-down offers them
("420500 宜昌市"), 是/否, lists 、-separated.

Read back as the same `source`, every row is the report it was filled from — same type,
occurred_on and payload (amounts in the contract's plain form, "12.5"; an empty list is a blank
cell, read back as no list, which the contract takes alike) — under the event_id its 本地编号
gives (importing.event_id), not the report's own. What a workbook cannot carry (a
type without a sheet, a field without a column, a list item with a separator in it) is refused
with `Unfillable`, never dropped or changed silently.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from services.kernel.reference import Reference, reference
from zhaoshang.sheets import cells
from zhaoshang.sheets.forms import BY_TYPE, FORMS, Column, Form, dictionaries
from zhaoshang.sheets.template import FORMATS, workbook

FIRST_ROW = 2  # below the header


class Unfillable(ValueError):
    """A report the template cannot carry as it is."""


def numbering(reports: Sequence[Mapping[str, Any]]) -> list[str]:
    """A 本地编号 for each report: its place among the rows of its sheet, from "1"."""
    counts: Counter[str] = Counter()
    numbers = []
    for report in reports:
        counts[report["type"]] += 1
        numbers.append(str(counts[report["type"]]))
    return numbers


def fill(
    reports: Sequence[Mapping[str, Any]],
    local_ids: Sequence[str] | None = None,
    ref: Reference | None = None,
) -> bytes:
    """The template with `reports` in it, in their order within each sheet, as .xlsx bytes;
    `local_ids` (one per report, unique within a sheet) default to `numbering(reports)`."""
    ref = ref or reference()
    local_ids = numbering(reports) if local_ids is None else local_ids
    if len(local_ids) != len(reports):
        raise ValueError(f"{len(reports)} reports but {len(local_ids)} 本地编号")
    words = {name: _first_word_of(listed) for name, listed in dictionaries(ref).items()}
    placed: list[tuple[Form, list[Any]]] = []  # every row worked out before the book is made
    used: set[tuple[str, str]] = set()
    for report, local_id in zip(reports, local_ids, strict=True):
        form = BY_TYPE.get(report["type"])
        if form is None:
            raise Unfillable(f"report {report['event_id']}: no sheet takes {report['type']}")
        if (form.sheet, local_id) in used:
            raise Unfillable(f"本地编号 {local_id} twice in sheet {form.sheet}")
        used.add((form.sheet, local_id))
        placed.append((form, _row(report, local_id, form, words)))
    book = workbook(ref)
    rows = {form.sheet: FIRST_ROW for form in FORMS}
    for form, values in placed:
        sheet, row = book[form.sheet], rows[form.sheet]
        rows[form.sheet] += 1
        for c, (column, value) in enumerate(zip(form.columns, values, strict=True), 1):
            if value is not None:
                cell = sheet.cell(row=row, column=c, value=value)
                cell.number_format = "@" if isinstance(value, str) else FORMATS[column.kind]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _first_word_of(listed: Mapping[str, str]) -> dict[str, str]:
    """A 字典 list turned round: the contract's value -> the first word offered for it."""
    words: dict[str, str] = {}
    for word, meant in listed.items():
        words.setdefault(meant, word)
    return words


def _row(
    report: Mapping[str, Any], local_id: str, form: Form, words: Mapping[str, Mapping[str, str]]
) -> list[Any]:
    fields = dict(_leaves(report["payload"]))
    unplaced = sorted(set(fields) - {column.field for column in form.columns})
    if unplaced:
        raise Unfillable(
            f"report {report['event_id']}: sheet {form.sheet} has no column for {unplaced}"
        )
    fields.update(event_id=local_id, occurred_on=report["occurred_on"])
    try:
        return [_cell(column, fields.get(column.field), words) for column in form.columns]
    except Unfillable as error:
        raise Unfillable(f"report {report['event_id']}: {error}") from None


def _leaves(payload: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """The payload's fields, nested ones dotted as the columns name them ("investor.name")."""
    for name, value in payload.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _cell(column: Column, value: Any, words: Mapping[str, Mapping[str, str]]) -> Any:
    """What a clerk writes in `column` for the contract's `value` (None: the cell stays blank)."""
    if value is None:
        return None
    kind, listed = column.kind, words.get(column.dictionary or "", {})
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "amount":
        return _amount(value)
    if kind == "flag":
        return "是" if value else "否"
    if kind == "choice":
        return listed.get(value, value)
    if kind in ("choices", "lines"):
        for item in value:
            if not str(item).strip() or cells.SEPARATORS.search(str(item)):
                raise Unfillable(f"{column.header}: “{item}” cannot be one item of a 、-list")
        return "、".join(listed.get(item, item) for item in value)
    return str(value)


def _amount(value: str) -> Any:
    """A number where a number holds the amount exactly (read back by its shortest decimal,
    cells.to_amount), else the amount as text."""
    exact = Decimal(value)
    if exact == exact.to_integral_value() and abs(exact) < 2**53:
        return int(exact)
    number = float(exact)
    return number if Decimal(repr(number)) == exact else cells.plain(exact)
