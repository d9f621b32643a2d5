"""Loading places.yaml: the pinyin of every region's short name, Hubei's own names, and the other
provincial-level units (services/kernel/reference/places.py uses them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from services.kernel.reference.model import Region
from services.kernel.reference.places import Elsewhere, HubeiPlaces
from services.kernel.reference.rows import Row, read_yaml, rows_of, unique

_SYLLABLES = re.compile(r"[a-z]+( [a-z]+)*", re.ASCII)
_ISO_CODE = re.compile(r"CN-[0-9A-Z]{2}", re.ASCII)


def load_places(path: Path, regions: Mapping[str, Region]) -> HubeiPlaces:
    top = read_yaml(path)
    province = top.value("province")
    province_row = next(rows_of(path, [province], "names", "province "))
    names = province_row.texts("names")
    province_pinyin = _syllables(province_row, province_row.texts("pinyin"))
    codes = province_row.texts("codes")
    province_row.done()
    pinyin = top.value("pinyin")
    if not isinstance(pinyin, dict) or set(pinyin) != set(regions):
        missing = sorted(set(regions) - set(pinyin or {}))
        unknown = sorted(set(pinyin or {}) - set(regions))
        raise top.fail(f"pinyin must name every region once: missing {missing}, unknown {unknown}")
    _syllables(top, [str(value) for value in pinyin.values()])
    elsewhere: dict[str, Elsewhere] = {}
    for row in rows_of(path, top.value("elsewhere"), "name"):
        unit = Elsewhere(
            name=unique(row, elsewhere, row.text("name"), "name"),
            pinyin=_syllables(row, [row.text("pinyin")])[0],
            code=row.text("code"),
        )
        row.done()
        elsewhere[unit.name] = unit
    for code in (*codes, *(e.code for e in elsewhere.values())):
        if not _ISO_CODE.fullmatch(code):
            raise top.fail(f"{code!r} is not an ISO 3166-2:CN code (CN-xx)")
    top.done()
    return HubeiPlaces(
        {code: region.name for code, region in regions.items()},
        {code: str(value) for code, value in pinyin.items()},
        names,
        province_pinyin,
        codes,
        elsewhere.values(),
    )


def _syllables(row: Row, values: Iterable[str]) -> tuple[str, ...]:
    values = tuple(values)
    for value in values:
        if not _SYLLABLES.fullmatch(value):
            raise row.fail(f"{value!r} is not pinyin syllables (lower case, apart by one space)")
    return values
