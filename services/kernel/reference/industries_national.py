"""Loading industries-gbt4754.yaml: the national industry classification (GB/T 4754-2017, its
sections and divisions) as `Industry` records beside 附件2's, none led by a department."""

from __future__ import annotations

import re
from pathlib import Path

from services.kernel.reference.model import Industry
from services.kernel.reference.rows import read_yaml, rows_of, unique

NATIONAL_PREFIX = "gbt4754-"
SECTION, DIVISION = "gbt4754_section", "gbt4754_division"
_SECTION_CODE = re.compile(r"[A-T]", re.ASCII)
_DIVISION_CODE = re.compile(r"[0-9]{2}", re.ASCII)


def load_national_industries(path: Path) -> dict[str, Industry]:
    """Sections keyed `gbt4754-a`, divisions `gbt4754-13`; divisions numbered 01.. in order."""
    top = read_yaml(path)
    industries: dict[str, Industry] = {}
    expected = 1
    for row in rows_of(path, top.value("sections"), "code"):
        code = row.text("code")
        if not _SECTION_CODE.fullmatch(code):
            raise row.fail(f"section code {code!r} is not a letter A–T")
        key = unique(row, industries, NATIONAL_PREFIX + code.lower(), "section")
        industries[key] = Industry(key, row.text("name"), SECTION, ())
        for division in rows_of(path, row.value("divisions"), "code", f"section {code}, "):
            number = division.text("code")
            if not _DIVISION_CODE.fullmatch(number) or int(number) != expected:
                raise division.fail(f"division code {number!r}: expected {expected:02d}")
            expected += 1
            key = unique(division, industries, NATIONAL_PREFIX + number, "division")
            industries[key] = Industry(key, division.text("name"), DIVISION, ())
            division.done()
        row.done()
    top.done()
    return industries
