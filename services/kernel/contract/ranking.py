"""The content of a quarter's ranking of the 17 市州 (十九), as scoring computes it, stores it,
publishes it (`ranking.published`, docs/CONTRACT.md "ranking.published") and answers it; notify
and the gateway read the same shapes.

A ranking is JSON as it is hashed (canonical JSON, SHA-256): amounts, points and ratios are
decimal strings with two places (counts of milestones are whole-number strings), dates and
moments ISO text, region codes GB/T 2260. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

# How an indicator's points were worked out: against the best unit, against the unit's own
# target, or (a unit exempt from trip quotas) pro rata of its other points.
Basis = Literal["relative", "target", "pro_rata"]

# Upstream service ("registry", "tracking") -> the last notification id a ranking counted.
Positions = dict[str, int]


class IndicatorScore(TypedDict):
    """One indicator of one unit's quarter."""

    actual: str  # what the unit did: a count, 亿元 of capital, or a trip ratio ≤ 1
    target: str | None  # the unit's target for the quarter, if the policy sets one
    points: str  # of the indicator's weight, rounded to 0.01
    basis: Basis


class TripCount(TypedDict):
    completed: int  # trips returned in the quarter by the unit's own leaders
    quota_share: str  # the quarter's share (a quarter) of their yearly quotas


class AdjustmentCount(TypedDict):
    count: int  # occurrences in the quarter
    points: str  # what they add (a bonus) or take off (a deduction), capped


class Row(TypedDict):
    """One unit's scorecard: its place in the ranking and how it got there."""

    rank: int  # 1 = first
    region: str  # the 市州's code
    name: str  # its Chinese name
    total: str  # the indicators' points + bonuses − deductions
    indicators: dict[str, IndicatorScore]  # by the policy's indicator key
    trips: TripCount
    bonuses: str
    deductions: str
    adjustments: dict[str, AdjustmentCount]  # by the policy's bonus and deduction keys
    tier: str | None  # the reward tier's name_zh (一档 …), None outside every tier


class LateReport(TypedDict):
    """A report about the quarter recorded after the ranking's moment: kept, never counted."""

    service: str  # the upstream that recorded it
    notification_id: int  # its position in that upstream's log
    type: str  # its wire type, e.g. "project.capital_arrived"
    event_id: str
    region: str | None  # the 市州 it concerns, where known
    occurred_on: str  # ISO date: its business date
    recorded_at: str  # ISO moment in UTC


class RankingContent(TypedDict):
    """A quarter's ranking as scoring's `rank_quarter` computes it."""

    quarter: str  # "2020Q3"
    policy_version: str  # the scoring policy it was computed under
    official: bool  # verified milestones only (else reported ones too: provisional)
    cut_off: str  # ISO date: the quarter's last day plus the policy's cut-off days
    recorded_by: str | None  # ISO moment in UTC: what was recorded by then counts; None = all
    late: list[LateReport]  # reports about the quarter recorded after `recorded_by`
    rows: list[Row]  # best first
    summons: list[str]  # region codes summoned (约谈): in the bottom for the policy's quarters
    tiers: dict[str, list[str]]  # reward tier name_zh -> region codes in it, in rank order


class HashedContent(RankingContent):
    """The content a ranking's hash is taken of, and `ranking.published` carries."""

    as_of: Positions  # the upstream positions the facts were read up to


class Ranking(HashedContent):
    hash: str  # SHA-256 (hex) of the HashedContent's canonical JSON


class RankingAnswer(Ranking):
    """A ranking as scoring answers it."""

    published: bool  # the office published it (else: computed now, from what is known)


class RankingPublished(TypedDict):
    """The payload of the wire event `ranking.published`."""

    quarter: str
    ranking: HashedContent
    hash: str
    policy_version: str
    as_of: Positions
    open_commitments: NotRequired[list[dict]]  # 约谈 commitments open then (十九); not hashed


class Scorecard(TypedDict):
    """One 市州's quarter, as scoring answers it: its row and what came too late for it."""

    quarter: str
    policy_version: str
    published: bool
    hash: str
    official: bool
    cut_off: str
    recorded_by: str | None
    row: Row
    summoned: bool
    late: list[LateReport]  # about this 市州; once published, also what came after
    targets: NotRequired[list[dict]]  # progress against the targets set for it (一)


class Change(TypedDict):
    then: Any
    now: Any


class RowChange(TypedDict):
    """What changed for one 市州 between two rankings of a quarter."""

    region: str
    name: str
    rank: Change
    total: Change
    indicators: dict[str, Change]  # the points of the indicators that changed


class Differences(TypedDict):
    """What changed between two rankings of a quarter, for auditors."""

    rows: list[RowChange]
    summoned: list[str]  # summoned now, not then
    no_longer_summoned: list[str]
    policy_version: Change


class Rebuild(TypedDict):
    """A quarter's ranking rebuilt from the upstream logs, beside today's (scoring's answer)."""

    quarter: str
    as_of: str | None  # the ISO moment it was rebuilt as of; None = the published ranking
    rebuilt: Ranking
    today: RankingAnswer
    differences: Differences
    matches_published: bool | None  # None when rebuilt as of a moment, or nothing published
    policy: Mapping[str, Any] | None  # the policy file's content it was rebuilt under
    events_read: Positions  # upstream -> how many events were read
