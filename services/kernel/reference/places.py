"""Recognising a Hubei place in a trip's destination ((二十一): a government leader's trip counts
only 赴省外, out of the province).

`HubeiPlaces.named_in(destination)` answers the Hubei place a destination names — a 市州 or
county of regions.csv by its name, its name without the suffix, or the pinyin of that (places.yaml),
Hubei itself, CN-42, or a 42xxxx code — or None. A destination that names another provincial-level
unit is outside Hubei even if a Hubei name also occurs in it: several places share a name.

Standard library only; loading.py builds it from places.yaml and the regions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Longest first: 恩施土家族苗族自治州 loses 土家族苗族自治州, not 州.
SUFFIXES = ("土家族苗族自治州", "土家族自治县", "自治县", "林区", "市", "州", "县", "区")
_CODE = re.compile(r"(?<![0-9])(42[0-9]{4})(?![0-9])", re.ASCII)
_ISO = re.compile(r"(?<![a-z])cn-([a-z0-9]{2})(?![a-z0-9])", re.ASCII)


def short_name(name: str) -> str:
    """A region's name without its suffix, where two characters or more remain (房县 stays)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def pinyin_pattern(syllables: str) -> re.Pattern[str]:
    """Syllables ("wu han") written joined or apart ("wuhan", "wu han", "wu-han", "wu'han"),
    as a whole word of the (casefolded) text."""
    parts = [re.escape(s) for s in syllables.split()]
    return re.compile(r"(?<![a-z])" + r"[\s'’-]?".join(parts) + r"(?![a-z])", re.ASCII)


@dataclass(frozen=True)
class Elsewhere:
    """A provincial-level unit other than Hubei."""

    name: str
    pinyin: str
    code: str


class HubeiPlaces:
    """The names of Hubei's places, and those of the other provincial-level units."""

    def __init__(
        self,
        regions: Mapping[str, str],
        pinyin: Mapping[str, str],
        province_names: Iterable[str],
        province_pinyin: Iterable[str],
        province_codes: Iterable[str],
        elsewhere: Iterable[Elsewhere],
    ):
        """`regions`: code -> name; `pinyin`: code -> syllables of the short name."""
        province = next(iter(province_names))
        names: dict[str, str] = {}
        for name in regions.values():
            names.setdefault(_folded(name), name)
            names.setdefault(_folded(short_name(name)), name)
        for alias in province_names:
            names[_folded(alias)] = province
        # Longest first, so "武汉市东湖高新区" answers 武汉市, not a shorter name inside it.
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))
        self._pinyin = [(pinyin_pattern(p), regions[code]) for code, p in pinyin.items()]
        self._pinyin += [(pinyin_pattern(p), province) for p in province_pinyin]
        self._province = province
        self._codes = {c.casefold()[3:] for c in province_codes}
        self._regions = dict(regions)
        elsewhere = list(elsewhere)
        self._other_names = [_folded(e.name) for e in elsewhere]
        self._other_pinyin = [pinyin_pattern(e.pinyin) for e in elsewhere]
        self._other_codes = {e.code.casefold()[3:] for e in elsewhere}

    def named_in(self, destination: str) -> str | None:
        """The Hubei place `destination` names (its Chinese name), or None."""
        text = _folded(destination)
        if self._names_elsewhere(text):
            return None
        for code in _CODE.findall(text):
            if code in self._regions:
                return self._regions[code]
        if any(m in self._codes for m in _ISO.findall(text)):
            return self._province
        for folded, name in self._names:
            if folded in text:
                return name
        for pattern, name in self._pinyin:
            if pattern.search(text):
                return name
        return None

    def _names_elsewhere(self, text: str) -> bool:
        return (
            any(name in text for name in self._other_names)
            or any(pattern.search(text) for pattern in self._other_pinyin)
            or any(m in self._other_codes for m in _ISO.findall(text))
        )


def _folded(text: str) -> str:
    """Full-width forms and case folded away, so "ＷＵＨＡＮ" is "wuhan"."""
    return unicodedata.normalize("NFKC", text).casefold()
