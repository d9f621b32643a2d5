"""The office's work after a ranking (十九)(十五): the 约谈 it holds with a summoned 市州 and the
commitments made there (`summons.held`), the 市州's progress on them (`rectification.reported`),
and the yearly rewards decided with 财政厅 (`reward.decided`).

`FollowUp` keeps every summons with its commitments; `Rewards` one year's decision. Both are
scoring's: a summons answers a published ranking's summons list, a reward the yearly assessment
(services/scoring/assessment.py). The rules here are plain checks; application.py applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.kernel.contract import ids
from services.kernel.contract.errors import RuleBroken
from services.kernel.contract.events import Reported

OPEN, DONE = "in_progress", "done"


class FollowUp(Aggregate):
    """Every summons (约谈) held, by the event id of its summons.held, with its commitments."""

    class Opened(Aggregate.Created):
        pass

    class SummonsHeld(Reported):
        wire_type = "summons.held"
        unit: str
        quarter: str
        held_on: date
        attendees: list
        commitments: list

        def apply(self, aggregate: FollowUp) -> None:
            aggregate.summonses[self.event_id] = {
                "event_id": self.event_id,
                "unit": self.unit,
                "quarter": self.quarter,
                "held_on": self.held_on,
                "attendees": list(self.attendees),
                "commitments": {
                    c["key"]: {**c, "status": OPEN, "progress": []} for c in self.commitments
                },
            }

    class RectificationReported(Reported):
        wire_type = "rectification.reported"
        unit: str
        summons_event_id: str
        progress: list

        def apply(self, aggregate: FollowUp) -> None:
            commitments = aggregate.summonses[self.summons_event_id]["commitments"]
            for item in self.progress:
                commitment = commitments[item["commitment"]]
                commitment["status"] = item["status"]
                commitment["progress"].append(
                    {"on": self.occurred_on, "text": item["text"], "status": item["status"]}
                )

    @staticmethod
    def create_id() -> UUID:
        return ids.named_id("followup", "summonses")

    @event(Opened)
    def __init__(self) -> None:
        self.summonses: dict[str, dict] = {}

    def open_commitments(self, unit: str = "") -> list[dict]:
        """Commitments not reported done, oldest summons first (the next circulars show them)."""
        return [
            {
                "summons_event_id": s["event_id"],
                "unit": s["unit"],
                "quarter": s["quarter"],
                "held_on": s["held_on"],
                **{k: v for k, v in c.items() if k != "progress"},
                "latest": c["progress"][-1] if c["progress"] else None,
            }
            for s in sorted(self.summonses.values(), key=lambda s: (s["held_on"], s["event_id"]))
            if not unit or s["unit"] == unit
            for c in s["commitments"].values()
            if c["status"] != DONE
        ]

    def check_rectification(self, payload: Mapping[str, Any], source: str) -> None:
        """From the summoned 市州 (or the office for it), on commitments of that summons."""
        summons = self.summonses.get(payload["summons_event_id"])
        if summons is None or summons["unit"] != payload["unit"]:
            raise RuleBroken(
                "payload.summons_event_id",
                payload["summons_event_id"],
                "unknown_summons",
                f"找不到 {payload['unit']} 的约谈记录 {payload['summons_event_id']}",
                f"no summons {payload['summons_event_id']} of {payload['unit']} is known",
            )
        if source not in ("office", f"pref:{summons['unit']}"):
            raise RuleBroken(
                "source",
                source,
                "own_rectification_only",
                f"只有被约谈的 {summons['unit']} 或领导小组办公室可以报告整改进展",
                f"only the summoned {summons['unit']} or the office reports its rectification",
            )
        for i, item in enumerate(payload["progress"]):
            if item["commitment"] not in summons["commitments"]:
                raise RuleBroken(
                    f"payload.progress[{i}].commitment",
                    item["commitment"],
                    "unknown_commitment",
                    f"约谈 {summons['event_id']} 没有承诺事项 {item['commitment']}",
                    f"summons {summons['event_id']} made no commitment {item['commitment']}",
                )


def check_summons(payload: Mapping[str, Any], summoned: Sequence[str] | None) -> None:
    """A summons answers the summons list of the quarter's published ranking (十九), with
    its commitments each named once."""
    unit, quarter = payload["unit"], payload["quarter"]
    if summoned is None or unit not in summoned:
        raise RuleBroken(
            "payload.unit",
            unit,
            "not_summoned",
            f"{quarter} 已发布的排名未将 {unit} 列入约谈名单（十九）",
            f"{unit} is not on the summons list of the published {quarter} ranking ((十九))",
        )
    keys = [c["key"] for c in payload["commitments"]]
    check_once(keys, "payload.commitments[{}].key", "unique_commitment_keys")


def check_once(values: Sequence[str], field: str, rule: str) -> None:
    """Each value listed once; `field` is formatted with the position of the second."""
    for i, value in enumerate(values):
        if value in values[:i]:
            raise RuleBroken(
                field.format(i), value, rule, f"{value} 重复列出", f"{value} is listed twice"
            )


class Rewards(Aggregate):
    """One year's rewards (十五): the units 成效突出 and the class decided with 财政厅."""

    class Opened(Aggregate.Created):
        year: str

    class Decided(Reported):
        wire_type = "reward.decided"
        year: str
        rewards: list
        basis: str
        rule: str  # the yearly rule the results were made under (derived, not sent)
        results: list  # the year's results per 市州 at the decision (derived, not sent)

        def apply(self, aggregate: Rewards) -> None:
            aggregate.decision = {
                "event_id": self.event_id,
                "occurred_on": self.occurred_on,
                "rewards": list(self.rewards),
                "basis": self.basis,
            }

    @staticmethod
    def create_id(year: str) -> UUID:
        return ids.named_id("rewards", year)

    @event(Opened)
    def __init__(self, year: str) -> None:
        self.year = year
        self.decision: dict | None = None


def check_rewards(
    payload: Mapping[str, Any], decided: Rewards | None, summoned: Sequence[str], allowed: bool
) -> None:
    """Once a year; each unit once; never a unit summoned (约谈) that year unless the policy
    allows it (`yearly.reward_summoned`), (十五)(十九)."""
    year = payload["year"]
    if decided is not None and decided.decision is not None:
        raise RuleBroken(
            "payload.year",
            year,
            "already_decided",
            f"{year} 年度奖励已于 {decided.decision['occurred_on']} 决定，一年一次（十五）",
            f"the {year} rewards were decided on {decided.decision['occurred_on']}; once a year",
        )
    units = [r["unit"] for r in payload["rewards"]]
    check_once(units, "payload.rewards[{}].unit", "unit_listed_twice")
    for i, unit in enumerate(units):
        if unit in summoned and not allowed:
            raise RuleBroken(
                f"payload.rewards[{i}].unit",
                unit,
                "summoned_this_year",
                f"{unit} 在 {year} 年被约谈，评分政策不允许给予奖励（十五）（十九）",
                f"{unit} was summoned in {year}; the policy gives it no reward",
            )


def office_only(source: str, what_zh: str, what_en: str) -> None:
    if source != "office":
        raise RuleBroken(
            "source",
            source,
            "office_only",
            f"只有省招商引资工作领导小组办公室可以{what_zh}",
            f"only the office (领导小组办公室) {what_en}",
        )
