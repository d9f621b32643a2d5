"""The quarterly ranking of the 17 市州 (十九): each unit's scorecard from the facts under a
policy, the order, the summons, and the canonical bytes a ranking is hashed as. A quarter ranks
and summons; rewards are yearly (十五, services/scoring/assessment.py): `tiers` and each row's
`tier` stay in the content, empty, but for a policy that still had quarterly tiers (2020.1).

A ranking is a pure function of (events known at a moment, policy in force), so rebuilding it
from the same events gives the same bytes (README "How an auditor verifies a published
ranking"). Arithmetic is exact `Decimal` in one fixed context; each indicator's points, each
bonus and each deduction are rounded to 0.01 (ROUND_HALF_UP) once, where they are computed, and
the total is their exact sum. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from services.kernel.contract.calendar import previous_quarter
from services.kernel.contract.ranking import Basis, RankingContent, Row
from services.scoring.deadlines import DueTask, cut_off, overdue_by_quarter, quarter_bounds
from services.scoring.domain import ScoringError
from services.scoring.facts import Facts
from services.scoring.policy import (
    AS_REPORTED,
    CAPITAL_ARRIVED,
    CONSTRUCTION_STARTS,
    COUNTED_MEASURES,
    FORTUNE_GLOBAL_500_LANDING,
    KEY_PROJECT_LANDINGS,
    LEADER_TRIPS,
    MEASURES,
    MILESTONE_MEASURES,
    OFFICE_LEVEL,
    OVERDUE_TASK,
    PRODUCTION_STARTS,
    REGION,
    REGISTRATIONS,
    RELATIVE,
    RETRACTED_REPORT,
    TARGET,
    TOTAL,
    VERIFIED_ONLY,
    Indicator,
    Policy,
)
from services.scoring.upstream import (
    PREFECTURE_LEVEL,
    PRODUCING,
    REGISTERED,
    REPORTED,
    STARTED,
    VERIFIED,
    Counting,
)
from services.scoring.wireform import utc_iso

_CENT = Decimal("0.01")
_CONTEXT = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


@dataclass
class _Card:
    """One unit's quarter: what it did, and what that scores."""

    region: str
    name: str
    actual: dict[str, Decimal]
    occurrences: dict[str, int]
    targets: dict[str, Decimal | None] = field(default_factory=dict)
    points: dict[str, Decimal] = field(default_factory=dict)
    basis: dict[str, Basis] = field(default_factory=dict)
    adjustments: dict[str, Decimal] = field(default_factory=dict)
    trips: int = 0  # trips returned in the quarter by the unit's own leaders
    trip_quota: Decimal = Decimal(0)  # the quarter's share of their yearly quotas
    bonuses: Decimal = Decimal(0)
    deductions: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


def rank_quarter(
    facts: Facts,
    policy: Policy,
    quarter: str,
    prefectures: Sequence[tuple[str, str]],
    trip_quotas: Mapping[str, int],
    trip_quota_exempt: frozenset[str],
    *,
    official: bool = True,
    recorded_by: datetime | None = None,
    overdue_tasks: Mapping[str, Mapping[str, int]] | None = None,
    due_tasks: Iterable[DueTask] = (),
) -> RankingContent:
    """Scores and ranks the units of `prefectures` ((code, name_zh), the 17 市州) for a quarter.

    `official` counts verified milestones only; otherwise reported ones too (provisional).
    `recorded_by` limits the facts to events recorded by that moment (the quarter's close, or
    an "as of" rebuild); the reports about the quarter recorded later are listed as `late`.
    `trip_quotas` are the yearly trips per leader role ((二十一), (二十二)). `overdue_tasks` maps
    quarter -> unit code -> 附件3 tasks that fell overdue in it; without it, they are counted
    from the facts' task.completed reports against `due_tasks`. The result is JSON-safe.
    """
    view = facts if recorded_by is None else facts.as_of(recorded_by)
    if overdue_tasks is None:
        year = quarter_bounds(quarter)[0].year
        quarters = [q for q in (f"{year}Q{n}" for n in range(1, 5)) if q <= quarter]
        units = [code for code, _ in prefectures]
        overdue_tasks = overdue_by_quarter(view.tasks_done, due_tasks, units, quarters)
    rank = _Ranker(view, policy, prefectures, trip_quotas, trip_quota_exempt, official)
    with localcontext(_CONTEXT):
        cards = rank(quarter, overdue_tasks.get(quarter, {}))
        summons = _summons(rank, quarter, cards, overdue_tasks)
    return {
        "quarter": quarter,
        "policy_version": policy.version,
        "official": official,
        "cut_off": cut_off(quarter, policy).isoformat(),
        "recorded_by": None if recorded_by is None else utc_iso(recorded_by),
        "late": [] if recorded_by is None else facts.late(quarter, recorded_by),
        "rows": [_row(position, card, policy) for position, card in enumerate(cards, 1)],
        "summons": summons,
        "tiers": {
            tier.name_zh: [
                card.region
                for position, card in enumerate(cards, 1)
                if tier.first_rank <= position <= tier.last_rank
            ]
            for tier in policy.reward_tiers
        },
    }


class _Ranker:
    """Ranks any quarter from one set of facts under one policy."""

    def __init__(
        self,
        facts: Facts,
        policy: Policy,
        prefectures: Sequence[tuple[str, str]],
        trip_quotas: Mapping[str, int],
        exempt: frozenset[str],
        official: bool,
    ) -> None:
        self.facts, self.policy, self.exempt = facts, policy, exempt
        self.trip_quotas = trip_quotas
        self.official = official
        self.units = dict(prefectures)
        if len(self.units) != len(prefectures):
            raise ScoringError(
                "prefectures",
                prefectures,
                "unique_codes",
                "each code once",
                zh="每个代码只能出现一次",
            )

    def __call__(self, quarter: str, overdue: Mapping[str, int]) -> list[_Card]:
        """The units' scorecards for a quarter, best first."""
        quarter_bounds(quarter)  # refuses a malformed quarter
        cards = {
            code: _Card(code, name, dict.fromkeys(MEASURES, Decimal(0)), {})
            for code, name in self.units.items()
        }
        self.measure_milestones(quarter, cards)
        self.count_retractions(quarter, cards)
        self.measure_trips(quarter, cards)
        for code, card in cards.items():
            card.occurrences[OVERDUE_TASK] = overdue.get(code, 0)
        self.score(quarter, list(cards.values()))
        return sorted(cards.values(), key=self.sort_key)

    def measure_milestones(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Capital arrived in the quarter; projects whose first counted milestone is in it."""
        scored = {
            code: project
            for code, project in self.facts.projects.items()
            if project.prefecture in cards
            and not project.withdrawn
            and project.total_investment >= self.policy.min_project_investment
        }
        start, end = quarter_bounds(quarter)
        capital = self.facts.milestone_summary(self.counting(CAPITAL_ARRIVED)).capital
        for (code, in_quarter), amount in capital.items():
            project = scored.get(code)
            if project is not None and in_quarter == quarter:
                cards[project.prefecture].actual[CAPITAL_ARRIVED] += amount
        landings = dict.fromkeys(cards, 0)
        for key in (*_COUNTED_BY_KIND, KEY_PROJECT_LANDINGS):
            kind = _KIND_OF.get(key, STARTED)
            first = self.facts.milestone_summary(self.counting(key)).first
            for (code, of_kind), day in first.items():
                project = scored.get(code)
                if of_kind != kind or project is None or not start <= day <= end:
                    continue
                card = cards[project.prefecture]
                if key != KEY_PROJECT_LANDINGS or project.key_project:
                    card.actual[key] += 1
                if key == CONSTRUCTION_STARTS and project.fortune_global_500:
                    landings[project.prefecture] += 1
        for code, card in cards.items():
            card.occurrences[FORTUNE_GLOBAL_500_LANDING] = landings[code]

    def count_retractions(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Reports retracted as false in the quarter, on any project of the unit.

        Size and withdrawal do not matter here: a false report was made either way.
        """
        retracted = dict.fromkeys(cards, 0)
        projects = self.facts.projects
        for (code, in_quarter), count in self.facts.milestone_summary(
            self.counting(REGISTRATIONS)
        ).retracted.items():
            project = projects.get(code)
            if in_quarter == quarter and project is not None and project.prefecture in cards:
                retracted[project.prefecture] += count
        for code, card in cards.items():
            card.occurrences[RETRACTED_REPORT] = retracted[code]

    def measure_trips(self, quarter: str, cards: dict[str, _Card]) -> None:
        """Trips over the quarter's share of the unit's own leaders' yearly quotas, at most 1.

        (十九) scores 市州领导: the leaders of the 市州 government, the roles `trip_quotas` names
        ((二十一)); its departments' leaders ((二十二)) count for neither quota nor trips."""
        start, end = quarter_bounds(quarter)
        quota = dict.fromkeys(cards, Decimal(0))
        trips = dict.fromkeys(cards, 0)
        leaders = {
            key: leader
            for key, leader in self.facts.leaders.items()
            if leader.role in self.trip_quotas
        }
        for leader in leaders.values():
            if leader.unit in quota:
                quota[leader.unit] += Decimal(self.trip_quotas[leader.role]) / 4
        counting = self.counting(LEADER_TRIPS)
        for trip in self.facts.trips.values():
            traveller = leaders.get(trip.leader_id)
            if (
                counting.counts(trip)
                and traveller is not None
                and traveller.unit in trips
                and start <= trip.returned_on <= end
            ):
                trips[traveller.unit] += 1
        for code, card in cards.items():
            card.trips, card.trip_quota = trips[code], quota[code]
            if quota[code] > 0:
                card.actual[LEADER_TRIPS] = min(trips[code] / quota[code], Decimal(1))

    def counting(self, key: str) -> Counting:
        """What an indicator counts (甄别, (十九)): in the official view, as the policy says —
        verified by the review levels it names, or as reported; provisionally, every report
        not rejected or retracted."""
        indicator = self.policy.indicator(key)
        counts = indicator.counts if indicator else _default_counts(key)
        levels = indicator.levels if indicator else (OFFICE_LEVEL,)
        if not self.official or counts == AS_REPORTED:
            return _AS_REPORTED
        return Counting(
            frozenset({VERIFIED} if OFFICE_LEVEL in levels else {REPORTED, VERIFIED}),
            PREFECTURE_LEVEL in levels,
        )

    def score(self, quarter: str, cards: list[_Card]) -> None:
        for indicator in self.policy.indicators:
            competing = [c for c in cards if not self.pro_rata(indicator.key, c.region)]
            best = max((c.actual[indicator.key] for c in competing), default=Decimal(0))
            for card in competing:
                self.score_indicator(indicator, quarter, card, best)
        for card in cards:
            trips = self.policy.indicator(LEADER_TRIPS)
            if trips is not None and self.pro_rata(trips.key, card.region):
                others = sum(p for k, p in card.points.items() if k != trips.key)
                share = others / (100 - trips.weight) if trips.weight < 100 else Decimal(0)
                card.targets[trips.key] = None
                card.points[trips.key] = _cents(trips.weight * share)
                card.basis[trips.key] = "pro_rata"
            self.adjust(card)

    def pro_rata(self, key: str, region: str) -> bool:
        """A unit exempt from the trip quotas (神农架林区, (二十一)) is not measured on trips."""
        return key == LEADER_TRIPS and region in self.exempt

    def score_indicator(
        self, indicator: Indicator, quarter: str, card: _Card, best: Decimal
    ) -> None:
        actual = card.actual[indicator.key]
        target = indicator.target_for(card.region, quarter)
        if target is None and indicator.reported_targets:
            target = self.facts.target(card.region, quarter, indicator.key)
        if target is not None:
            points = indicator.points_against(target, actual)
        else:
            points = indicator.weight * actual / best if best > 0 else Decimal(0)
        card.targets[indicator.key] = target
        card.points[indicator.key] = _cents(points)
        card.basis[indicator.key] = RELATIVE if target is None else TARGET

    def adjust(self, card: _Card) -> None:
        for adjustment in (*self.policy.bonuses, *self.policy.deductions):
            points = card.occurrences[adjustment.key] * adjustment.points
            if adjustment.cap is not None:
                points = min(points, adjustment.cap)
            card.adjustments[adjustment.key] = _cents(points)
        card.bonuses = sum((card.adjustments[a.key] for a in self.policy.bonuses), Decimal(0))
        card.deductions = sum((card.adjustments[a.key] for a in self.policy.deductions), Decimal(0))
        card.total = sum(card.points.values(), Decimal(0)) + card.bonuses - card.deductions

    def sort_key(self, card: _Card) -> tuple:
        return tuple(
            card.region if key == REGION else -(card.total if key == TOTAL else card.actual[key])
            for key in self.policy.tie_break
        )


_KIND_OF = {
    REGISTRATIONS: REGISTERED,
    CONSTRUCTION_STARTS: STARTED,
    PRODUCTION_STARTS: PRODUCING,
}
_COUNTED_BY_KIND = tuple(_KIND_OF)  # the indicators counting a project's first milestone
_AS_REPORTED = Counting(frozenset({REPORTED, VERIFIED}))


def _default_counts(key: str) -> str:
    return VERIFIED_ONLY if key in MILESTONE_MEASURES else AS_REPORTED


def _summons(
    rank: _Ranker,
    quarter: str,
    cards: list[_Card],
    overdue_tasks: Mapping[str, Mapping[str, int]],
) -> list[str]:
    """The bottom units, if they were also in the bottom for the policy's earlier quarters.

    Earlier quarters are ranked again from the same facts under the same policy.
    """
    bottom = rank.policy.summon_bottom
    summoned = [card.region for card in _bottom(cards, bottom)]
    earlier = quarter
    for _ in range(rank.policy.summon_after_quarters - 1):
        earlier = previous_quarter(earlier)
        before = rank(earlier, overdue_tasks.get(earlier, {}))
        bottom_before = {card.region for card in _bottom(before, bottom)}
        summoned = [region for region in summoned if region in bottom_before]
    return summoned


def _bottom(cards: list[_Card], size: int) -> list[_Card]:
    return cards[max(len(cards) - size, 0) :] if size else []


def _row(rank: int, card: _Card, policy: Policy) -> Row:
    return {
        "rank": rank,
        "region": card.region,
        "name": card.name,
        "total": _money(card.total),
        "indicators": {
            indicator.key: {
                "actual": _actual(indicator.key, card.actual[indicator.key]),
                "target": _optional_money(card.targets[indicator.key]),
                "points": _money(card.points[indicator.key]),
                "basis": card.basis[indicator.key],
            }
            for indicator in policy.indicators
        },
        "trips": {"completed": card.trips, "quota_share": _money(card.trip_quota)},
        "bonuses": _money(card.bonuses),
        "deductions": _money(card.deductions),
        "adjustments": {
            key: {"count": card.occurrences[key], "points": _money(points)}
            for key, points in card.adjustments.items()
        },
        "tier": policy.tier_of(rank),
    }


def _cents(value: Decimal) -> Decimal:
    """The one rounding step: to 0.01, half up."""
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    return str(_cents(value))


def _optional_money(value: Decimal | None) -> str | None:
    return None if value is None else _money(value)


def _actual(key: str, value: Decimal) -> str:
    return str(int(value)) if key in COUNTED_MEASURES else _money(value)


# Canonical form ----------------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    """The bytes a ranking is published and hashed as: same value, same bytes."""
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def ranking_hash(ranking: RankingContent) -> str:
    """SHA-256 (hex) of its canonical JSON: of a HashedContent, the hash a ranking carries."""
    return hashlib.sha256(canonical_json(ranking)).hexdigest()
