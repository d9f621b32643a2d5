"""Reading the reference data files row by row: each problem names the file, the row and what
is wrong (`ReferenceDataError`), and a field the loader does not read is a problem too.

Standard library and PyYAML only.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from services.kernel.reference.model import Region

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)


class ReferenceDataError(Exception):
    """A reference data file is missing or wrong; `file`, `row` and `problem` say where and what."""

    def __init__(self, file: str, row: str | None, problem: str):
        super().__init__(f"{file}, {row}: {problem}" if row else f"{file}: {problem}")
        self.file = file
        self.row = row
        self.problem = problem


class Row:
    """One mapping read from a file; every problem names the file and the row, and a field the
    loader does not know is a problem (a typo must not pass silently)."""

    def __init__(self, file: Path, label: str, data: Any):
        self.file = file.name
        self.label = label
        if not isinstance(data, dict):
            raise self.fail(f"expected a mapping of fields, got {data!r}")
        self._data = data
        self._unread = set(data)

    def fail(self, problem: str) -> ReferenceDataError:
        return ReferenceDataError(self.file, self.label, problem)

    def value(self, name: str, default: Any = ...) -> Any:
        if name not in self._data:
            if default is ...:
                raise self.fail(f"field {name!r} is missing")
            return default
        self._unread.discard(name)
        return self._data[name]

    def text(self, name: str) -> str:
        value = self.value(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"field {name!r} must be non-empty text (quote codes), got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self._data else None

    def key(self, name: str) -> str:
        value = self.text(name)
        if not _KEY.fullmatch(value):
            raise self.fail(f"field {name!r}: {value!r} is not a key ([a-z0-9_-], ≤ 40)")
        return value

    def texts(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        values = self.value(name, [] if allow_empty else ...)
        if not isinstance(values, list) or not (values or allow_empty):
            raise self.fail(f"field {name!r} must be a non-empty list, got {values!r}")
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(f"field {name!r}: {value!r} is not non-empty text (quote codes)")
        if len(set(values)) != len(values):
            raise self.fail(f"field {name!r} lists an entry twice: {values!r}")
        return tuple(values)

    def keys(self, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        values = self.texts(name, allow_empty=allow_empty)
        for value in values:
            if not _KEY.fullmatch(value):
                raise self.fail(f"field {name!r}: {value!r} is not a key ([a-z0-9_-], ≤ 40)")
        return values

    def decimal(self, name: str) -> Decimal | None:
        value = self.value(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(
                f"field {name!r}: write {value!r} as a quoted decimal, floats are inexact"
            )
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(f"field {name!r}: {value!r} is not a decimal") from None
        if not amount.is_finite() or amount <= 0:
            raise self.fail(f"field {name!r}: {value!r} must be a positive amount")
        return amount

    def positive_int(self, name: str) -> int:
        value = self.value(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(f"field {name!r}: {value!r} is not a positive whole number")
        return value

    def choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise self.fail(f"field {name!r}: {value!r} is not one of {sorted(allowed)}")
        return value

    def done(self) -> None:
        if self._unread:
            raise self.fail(f"unknown field(s) {sorted(self._unread)}")


def read_yaml(path: Path) -> Row:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceDataError(path.name, None, "file is missing") from None
    except yaml.YAMLError as exc:
        raise ReferenceDataError(path.name, None, f"not valid YAML: {exc}") from None
    top = Row(path, "top level", data)
    top.text("source")
    return top


def rows_of(path: Path, items: Any, id_field: str, where: str = "") -> Iterator[Row]:
    if not isinstance(items, list) or not items:
        raise ReferenceDataError(path.name, where or None, "expected a non-empty list of rows")
    for number, data in enumerate(items, start=1):
        name = data.get(id_field) if isinstance(data, dict) else None
        yield Row(path, f"{where}row {number} ({name})" if name else f"{where}row {number}", data)


def unique(row: Row, seen: Container[str], value: str, what: str) -> str:
    if value in seen:
        raise row.fail(f"duplicate {what} {value!r}")
    return value


def region_codes(row: Row, name: str, regions: Mapping[str, Region]) -> frozenset[str]:
    codes = row.texts(name, allow_empty=True)
    for code in codes:
        if code not in regions:
            raise row.fail(f"field {name!r}: {code!r} is not a region in regions.csv")
    return frozenset(codes)
