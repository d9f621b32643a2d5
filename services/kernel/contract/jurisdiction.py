"""Who may report what (docs/CONTRACT.md "Who may send what"): every sending system is bound to a
jurisdiction.

- `office` (领导小组办公室): everything; it has the last word of 甄别 (十九) — a 市州 may review its
  counties' reports first (tracking's review levels) — and alone adopts a scoring policy;
- `pref:<市州>`: its 市州 and the counties in it — projects located there, the governments'
  leaders, tasks and matters of those units;
- `county:<code>`: that county alone;
- `dept:<key>`: the projects of the 附件2 industries it leads, and itself as a unit (its leaders,
  tasks, matters);
- `org:<key>`: an organisation 附件4 makes responsible (武汉铁路局, 湖北机场集团): itself as a
  unit — the progress of its own 附件4 items — and nothing else.

A report outside its sender's jurisdiction raises `NotPermitted`; the owning service records it
as a refusal (services/kernel/ingest/refusals.py) and applies nothing. Standard library only: the
applications build a `Jurisdiction` from the reference data and domain code asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.kernel.contract.errors import RuleBroken

OFFICE = "office"


class NotPermitted(RuleBroken):
    """A sender may not say this: recorded as a refusal, never applied."""


@dataclass(frozen=True)
class Jurisdiction:
    """What one source may report on. `None` means everything (the office)."""

    source: str
    regions: frozenset[str] | None  # region codes whose projects it may report on
    industries: frozenset[str] | None  # 附件2 industries whose projects it may report on
    units: frozenset[str] | None  # units (region code or dept:<key>) it reports for

    @property
    def is_office(self) -> bool:
        return self.source == OFFICE

    def covers_project(self, region: str, industry: str) -> bool:
        if self.is_office:
            return True
        assert self.regions is not None and self.industries is not None
        return region in self.regions or industry in self.industries

    def covers_unit(self, unit: str) -> bool:
        return self.is_office or (self.units is not None and unit in self.units)

    def check_project(self, code: str, region: str, industry: str, field: str) -> None:
        if not self.covers_project(region, industry):
            raise NotPermitted(
                field,
                code,
                "outside_jurisdiction",
                f"报送方 {self.source} 无权报告项目 {code}（所在地 {region}，产业 {industry}）："
                "市州只报本市州及所辖县市区的项目，县只报本县的项目，省有关部门只报附件2中"
                "本部门牵头产业的项目",
                f"{self.source} may not report on project {code} (region {region}, industry "
                f"{industry}): a prefecture reports on projects in its own area, a county in "
                "its own county, a department on projects of the attachment-2 industries it leads",
            )

    def check_unit(self, unit: str, field: str) -> None:
        if not self.covers_unit(unit):
            raise NotPermitted(
                field,
                unit,
                "outside_jurisdiction",
                f"报送方 {self.source} 无权代表单位 {unit} 报告：只能报告本单位"
                "（市州含所辖县市区）的事项",
                f"{self.source} may not report for unit {unit}: a sender reports for its own "
                "unit only (a prefecture also for its counties)",
            )

    def check_office(self, field: str, what_zh: str, what_en: str) -> None:
        if not self.is_office:
            raise NotPermitted(
                field,
                self.source,
                "office_only",
                f"只有省招商引资工作领导小组办公室可以{what_zh}；{self.source} 不能",
                f"only the office (领导小组办公室) may {what_en}; {self.source} may not",
            )


def build_jurisdiction(
    source: str,
    *,
    prefecture_of: Callable[[str], Any],
    counties_of: Callable[[str], Iterable[Any]],
    industries_led_by: Callable[[str], frozenset[str]],
) -> Jurisdiction:
    """The jurisdiction of a source already checked to be known (fields.Source)."""
    if source == OFFICE:
        return Jurisdiction(source, None, None, None)
    kind, _, key = source.partition(":")
    nothing: frozenset[str] = frozenset()
    if kind == "pref":
        regions = frozenset({key, *(county.code for county in counties_of(key))})
        return Jurisdiction(source, regions, nothing, regions)
    if kind == "county":
        prefecture_of(key)  # a KeyError here is a source the contract let through by mistake
        return Jurisdiction(source, frozenset({key}), nothing, frozenset({key}))
    if kind == "dept":
        return Jurisdiction(source, nothing, industries_led_by(key), frozenset({source}))
    if kind == "org":
        return Jurisdiction(source, nothing, nothing, frozenset({source}))
    raise ValueError(f"not a sending system: {source!r}")


class Jurisdictions:
    """Each source's jurisdiction from the reference data, built once."""

    def __init__(self, ref: Any) -> None:
        self._ref = ref
        self._built: dict[str, Jurisdiction] = {}

    def of(self, source: str) -> Jurisdiction:
        if source not in self._built:
            self._built[source] = build_jurisdiction(
                source,
                prefecture_of=self._ref.prefecture_of,
                counties_of=self._ref.counties_of,
                industries_led_by=self._ref.industries_led_by,
            )
        return self._built[source]
