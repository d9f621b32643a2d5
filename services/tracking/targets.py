"""Targets (一)(二十二)(十九): a unit's yearly and quarterly targets per indicator (`target.set`).

The office sets any unit's; a 市州 sets its counties' (never its own: the office assesses it).
A later target for the same unit, year and indicator replaces the earlier one. Scoring reads them
(services/scoring/upstream.py): the scorecard shows progress against them, and a policy's
`target` basis may score against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.events import Reported
from services.kernel.contract.jurisdiction import Jurisdiction, NotPermitted
from services.kernel.ingest.reports import Batch
from services.kernel.reference import Reference


class UnitTargets(Aggregate):
    """One unit's targets for one year, by indicator."""

    class Opened(Aggregate.Created):
        unit: str
        year: str

    class TargetSet(Reported):
        wire_type = "target.set"
        unit: str
        year: str
        indicator: str
        yearly: Decimal
        quarterly: list | None  # Q1..Q4, or None: a quarter's share is a quarter of the year's

        def apply(self, aggregate: UnitTargets) -> None:
            aggregate.targets[self.indicator] = {
                "yearly": self.yearly,
                "quarterly": self.quarterly,
                "set_by": self.source,
                "event_id": self.event_id,
            }

    @staticmethod
    def create_id(unit: str, year: str) -> UUID:
        return ids.named_id("targets", f"{unit}:{year}")

    @event(Opened)
    def __init__(self, unit: str, year: str) -> None:
        self.unit = unit
        self.year = year
        self.targets: dict[str, dict] = {}


def set_target(
    payload: Mapping[str, Any],
    batch: Batch,
    allowed: Jurisdiction,
    ref: Reference,
    envelope: Mapping[str, Any],
) -> UnitTargets:
    unit, year = payload["unit"], payload["year"]
    check_may_set(allowed, ref, unit)
    quarterly = payload.get("quarterly")
    if quarterly is not None and len(quarterly) != 4:
        raise RuleBroken(
            "payload.quarterly",
            [str(q) for q in quarterly],
            "four_quarters",
            "payload.quarterly 须列出一至四季度的 4 个目标值",
            "payload.quarterly must list the 4 quarters' targets, Q1 to Q4",
        )
    targets = batch.get(UnitTargets.create_id(unit, year)) or UnitTargets(unit=unit, year=year)
    targets.trigger_event(
        UnitTargets.TargetSet,
        unit=unit,
        year=year,
        indicator=payload["indicator"],
        yearly=payload["yearly"],
        quarterly=None if quarterly is None else list(quarterly),
        **envelope,
    )
    batch.add(targets)
    return targets


def check_may_set(allowed: Jurisdiction, ref: Reference, unit: str) -> None:
    """The office sets any unit's targets; a 市州 its counties' (一)(十九)."""
    if allowed.is_office:
        return
    own = allowed.source.removeprefix("pref:")
    if (
        allowed.source.startswith("pref:")
        and unit != own
        and ref.is_hubei_region(unit)
        and ref.prefecture_of(unit).code == own
    ):
        return
    raise NotPermitted(
        "payload.unit",
        unit,
        "targets_by_office_or_prefecture",
        f"{allowed.source} 无权为 {unit} 设定目标："
        "目标由领导小组办公室设定，市州可为所辖县市区设定",
        f"{allowed.source} may not set targets for {unit}: the office sets them, a prefecture "
        "for its own counties",
    )
