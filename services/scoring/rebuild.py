"""Rankings from raw upstream events: shared by the scoring service, the auditor's command line
and the rebuild benchmark, so all three compute a ranking the same way (README "How an auditor
verifies a published ranking").

No framework here: wire messages in (registry's and tracking's `read_wire` pages, or the same
read straight from their stores), a ranking out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from services.kernel.contract.calendar import SHANGHAI
from services.kernel.contract.ranking import (
    Change,
    Differences,
    HashedContent,
    Positions,
    Ranking,
    RankingContent,
    RowChange,
)
from services.kernel.reference import Reference
from services.kernel.reference.model import GOVERNMENT
from services.scoring.deadlines import DueTask, quarter_close
from services.scoring.facts import Facts
from services.scoring.policy import Policy
from services.scoring.ranking import rank_quarter, ranking_hash

OFFICIAL, PROVISIONAL = "official", "provisional"
UPSTREAMS = ("registry", "tracking")


@dataclass(frozen=True)
class Units:
    """What a ranking needs besides facts and policy: the 市州, the trip quotas, the 附件3 tasks."""

    prefectures: tuple[tuple[str, str], ...]
    trip_quotas: Mapping[str, int]
    trip_quota_exempt: frozenset[str]
    due_tasks: tuple[DueTask, ...]

    @classmethod
    def from_reference(cls, ref: Reference) -> Units:
        return cls(
            prefectures=tuple((r.code, r.name) for r in ref.prefectures),
            # (十九) 市州领导: the government roles of (二十一), not the departments' (二十二)
            trip_quotas={
                k: r.yearly_trips for k, r in ref.leader_roles.items() if r.applies_to == GOVERNMENT
            },
            trip_quota_exempt=frozenset(ref.trip_quota_exempt),
            # 附件3 tasks every 市州 government owes (the ones a ranking can deduct for).
            due_tasks=tuple(
                DueTask(task.id, task.deadline_date, frozenset(task.exempt))
                for task in ref.tasks.values()
                if task.responsible == "prefectures_and_counties"
            ),
        )


def rank(
    facts: Facts,
    policy: Policy,
    quarter: str,
    units: Units,
    view: str = OFFICIAL,
    as_of: datetime | None = None,
) -> RankingContent:
    """A quarter's ranking content (without positions and hash).

    The official view counts what was recorded by the quarter's close (`quarter_close`); with
    `as_of`, only what was recorded by that moment as well.
    """
    if as_of is not None:
        facts = facts.as_of(as_of)
    recorded_by = None
    if view == OFFICIAL:
        recorded_by = quarter_close(facts, quarter, policy)
        if as_of is not None:
            recorded_by = min(recorded_by, as_of)
    return rank_quarter(
        facts,
        policy,
        quarter,
        units.prefectures,
        units.trip_quotas,
        units.trip_quota_exempt,
        official=view == OFFICIAL,
        recorded_by=recorded_by,
        due_tasks=units.due_tasks,
    )


def with_positions(content: RankingContent, positions: Mapping[str, int]) -> Ranking:
    """The ranking as published: content, the upstream positions it was made from, its hash."""
    ranking: HashedContent = {**content, "as_of": {u: positions[u] for u in UPSTREAMS}}
    return {**ranking, "hash": ranking_hash(ranking)}


class Replay:
    """Wire messages ({"service", "first", "last", "events"}) folded into facts, counting the
    events read and the last position reached in each upstream's log (with `as_of`: the last
    position of an event recorded by then)."""

    def __init__(self, as_of: datetime | None = None) -> None:
        self.facts = Facts()
        self.as_of = as_of
        self.read: Positions = dict.fromkeys(UPSTREAMS, 0)
        self.positions: Positions = dict.fromkeys(UPSTREAMS, 0)

    def feed(self, messages: Iterable[Mapping[str, Any]]) -> Replay:
        for body in messages:
            service = body["service"]
            for wire in body["events"]:
                self.facts.apply(service, wire)
            self.read[service] += len(body["events"])
            if self.as_of is None:
                self.positions[service] = body["last"]
            else:
                self.positions[service] = max(
                    [self.positions[service]]
                    + [
                        wire["notification_id"]
                        for wire in body["events"]
                        if datetime.fromisoformat(wire["recorded_at"]) <= self.as_of
                    ]
                )
        return self


def end_of_day(day: str) -> datetime:
    """An auditor's "as of 2020-10-15": the end of that day in Asia/Shanghai. A full ISO
    moment with an offset is taken as it is."""
    if "T" in day:
        moment = datetime.fromisoformat(day)
        if moment.tzinfo is None:
            raise ValueError(f"{day!r}: a moment needs its UTC offset, e.g. +08:00")
        return moment
    return datetime.combine(datetime.fromisoformat(day).date(), time.max, tzinfo=SHANGHAI)


def differences(then: Ranking, now: Ranking) -> Differences:
    """What changed between two rankings of a quarter, region by region, for auditors."""
    before = {row["region"]: row for row in then["rows"]}
    rows: list[RowChange] = []
    for row in now["rows"]:
        old = before.get(row["region"])
        if old is None:
            continue
        changed: dict[str, Change] = {
            key: {"then": old["indicators"][key]["points"], "now": value["points"]}
            for key, value in row["indicators"].items()
            if key in old["indicators"] and old["indicators"][key]["points"] != value["points"]
        }
        if changed or old["rank"] != row["rank"] or old["total"] != row["total"]:
            rows.append(
                {
                    "region": row["region"],
                    "name": row["name"],
                    "rank": {"then": old["rank"], "now": row["rank"]},
                    "total": {"then": old["total"], "now": row["total"]},
                    "indicators": changed,
                }
            )
    return {
        "rows": rows,
        "summoned": sorted(set(now["summons"]) - set(then["summons"])),
        "no_longer_summoned": sorted(set(then["summons"]) - set(now["summons"])),
        "policy_version": {"then": then["policy_version"], "now": now["policy_version"]},
    }
