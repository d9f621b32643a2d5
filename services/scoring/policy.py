"""The scoring policy (十九): which indicators count with which weights and which reports each
counts (verified only or as reported, and the review levels a verification needs), the bonuses
and deductions, the tie-break, the cut-off, the summons rule and the yearly assessment.

Rewards are one-off and yearly (十五): a quarterly ranking ranks and summons. Reward tiers by
quarterly rank (`reward_tiers`) are read only so that rankings published under a policy that had
them (2020.1) still rebuild as published; a new policy leaves them out.

A policy arrives as a mapping (a policy file's content, or a policy.adopted payload) and is
checked here, every broken rule a PolicyError naming its field. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from services.kernel.contract.calendar import is_quarter
from services.scoring.domain import PolicyError
from services.scoring.policyfields import count, decimal, fields, items, text

# The indicators (十九) names, by the keys a policy weights them under.
REGISTRATIONS = "registrations"
CONSTRUCTION_STARTS = "construction_starts"
PRODUCTION_STARTS = "production_starts"
CAPITAL_ARRIVED = "capital_arrived"
KEY_PROJECT_LANDINGS = "key_project_landings"
LEADER_TRIPS = "leader_trips"
MEASURES = (
    REGISTRATIONS,
    CONSTRUCTION_STARTS,
    PRODUCTION_STARTS,
    CAPITAL_ARRIVED,
    KEY_PROJECT_LANDINGS,
    LEADER_TRIPS,
)
COUNTED_MEASURES = frozenset(
    {REGISTRATIONS, CONSTRUCTION_STARTS, PRODUCTION_STARTS, KEY_PROJECT_LANDINGS}
)

# Bonuses and deductions a policy may price.
FORTUNE_GLOBAL_500_LANDING = "fortune_global_500_landing"
RETRACTED_REPORT = "retracted_report"
OVERDUE_TASK = "overdue_task"
BONUS_KEYS = frozenset({FORTUNE_GLOBAL_500_LANDING})
DEDUCTION_KEYS = frozenset({RETRACTED_REPORT, OVERDUE_TASK})

# Which of an indicator's reports its official ranking counts (甄别, (十九)): only those the
# review levels verified, or every report not rejected. The provisional view counts as reported.
VERIFIED_ONLY: Final = "verified"
AS_REPORTED: Final = "reported"
COUNTS = (VERIFIED_ONLY, AS_REPORTED)
MILESTONE_MEASURES = frozenset(
    {REGISTRATIONS, CONSTRUCTION_STARTS, PRODUCTION_STARTS, CAPITAL_ARRIVED, KEY_PROJECT_LANDINGS}
)
# Review levels (县填报 → 市审核 → 省复核): a 市州 reviews its counties' reports, the office last.
PREFECTURE_LEVEL: Final = "prefecture"
OFFICE_LEVEL: Final = "office"
LEVELS = (PREFECTURE_LEVEL, OFFICE_LEVEL)

# How an indicator scores: against the best unit, or against each unit's target.
RELATIVE: Final = "relative"
TARGET: Final = "target"
TOTAL, REGION = "total", "region"


@dataclass(frozen=True)
class Indicator:
    key: str
    name_zh: str
    weight: Decimal
    scoring: str  # RELATIVE or TARGET
    cap: Decimal | None = None  # TARGET only: the most of the weight a unit can earn
    targets: Mapping[str, Mapping[str, Decimal]] = field(
        default_factory=lambda: MappingProxyType({})
    )  # unit code -> quarter -> target
    counts: str = VERIFIED_ONLY  # what the official ranking counts (milestones: verified)
    reported_targets: bool = False  # TARGET only: also the targets set by target.set (一)
    levels: tuple[str, ...] = (OFFICE_LEVEL,)  # the review levels a verification needs

    def target_for(self, unit: str, quarter: str) -> Decimal | None:
        return self.targets.get(unit, {}).get(quarter)

    def points_against(self, target: Decimal, actual: Decimal) -> Decimal:
        ratio = actual / target
        return self.weight * (ratio if self.cap is None else min(ratio, self.cap))


@dataclass(frozen=True)
class Adjustment:
    """A bonus or a deduction: points per occurrence, at most `cap` per unit and quarter."""

    key: str
    name_zh: str
    points: Decimal
    cap: Decimal | None = None


@dataclass(frozen=True)
class RewardTier:
    name_zh: str
    first_rank: int
    last_rank: int


@dataclass(frozen=True)
class Policy:
    version: str
    indicators: tuple[Indicator, ...]
    bonuses: tuple[Adjustment, ...]
    deductions: tuple[Adjustment, ...]
    tie_break: tuple[str, ...]
    cut_off_days: int
    summon_bottom: int
    summon_after_quarters: int  # consecutive quarters in the bottom before a summons
    min_project_investment: Decimal  # 亿元
    source: str = ""
    reward_tiers: tuple[RewardTier, ...] = ()  # 2020.1 only: rewards are yearly (十五)
    yearly_rule: str = "mean_of_quarters"  # how a year's result is made of its quarters
    reward_summoned: bool = False  # may a unit summoned (约谈) that year be rewarded (十五)

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        data = fields(data, "", _POLICY_REQUIRED, _POLICY_OPTIONAL)
        indicators = tuple(
            _indicator(item, f"indicators[{i}]")
            for i, item in enumerate(items(data["indicators"], "indicators"))
        )
        check_indicators(indicators)
        summons = fields(data["summons"], "summons", ("bottom", "after_quarters"), ())
        return cls(
            version=text(data["version"], "version"),
            indicators=indicators,
            bonuses=_adjustments(data.get("bonuses", []), "bonuses", BONUS_KEYS),
            deductions=_adjustments(data.get("deductions", []), "deductions", DEDUCTION_KEYS),
            tie_break=check_tie_break(data["tie_break"], indicators),
            cut_off_days=count(data["cut_off_days"], "cut_off_days", minimum=0),
            summon_bottom=count(summons["bottom"], "summons.bottom", minimum=0),
            summon_after_quarters=count(
                summons["after_quarters"], "summons.after_quarters", minimum=1
            ),
            reward_tiers=check_reward_tiers(data.get("reward_tiers", [])),
            **_yearly(data.get("yearly", {})),
            min_project_investment=decimal(
                data["min_project_investment"], "min_project_investment", positive=False
            ),
            source=text(data["source"], "source") if "source" in data else "",
        )

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)

    def tier_of(self, rank: int) -> str | None:
        return next(
            (t.name_zh for t in self.reward_tiers if t.first_rank <= rank <= t.last_rank), None
        )


_POLICY_REQUIRED = (
    "version",
    "indicators",
    "tie_break",
    "cut_off_days",
    "summons",
    "min_project_investment",
)
_POLICY_OPTIONAL = ("source", "bonuses", "deductions", "reward_tiers", "yearly")


# The yearly assessment (十九)(十五): a 市州's year from its four quarters' totals.
YEARLY_RULES = ("mean_of_quarters", "sum_of_quarters")


def _yearly(value: Any) -> dict[str, Any]:
    data = fields(value, "yearly", (), ("rule", "reward_summoned"))
    rule = data.get("rule", YEARLY_RULES[0])
    if rule not in YEARLY_RULES:
        raise PolicyError(
            "yearly.rule",
            rule,
            "known_yearly_rule",
            f"one of {list(YEARLY_RULES)}",
            zh=f"须为 {list(YEARLY_RULES)} 之一（四个季度总分的平均或合计）",
        )
    reward_summoned = data.get("reward_summoned", False)
    if not isinstance(reward_summoned, bool):
        raise PolicyError(
            "yearly.reward_summoned",
            reward_summoned,
            "boolean",
            "true or false",
            zh="须为 true 或 false",
        )
    return {"yearly_rule": rule, "reward_summoned": reward_summoned}


def check_indicators(indicators: Sequence[Indicator]) -> None:
    keys = [i.key for i in indicators]
    for position, key in enumerate(keys):
        if key in keys[:position]:
            raise PolicyError(
                f"indicators[{position}].key", key, "unique_key", "listed twice", zh="指标重复列出"
            )
    total = sum((i.weight for i in indicators), Decimal(0))
    if total != 100:
        raise PolicyError(
            "indicators[].weight",
            str(total),
            "weights_sum_to_100",
            "the weights must sum to 100",
            zh="各指标权重之和须为 100",
        )


def check_tie_break(value: Any, indicators: Sequence[Indicator]) -> tuple[str, ...]:
    keys = tuple(text(k, f"tie_break[{i}]") for i, k in enumerate(items(value, "tie_break")))
    allowed = {TOTAL, REGION} | {i.key for i in indicators}
    for position, key in enumerate(keys):
        if key not in allowed:
            raise PolicyError(
                f"tie_break[{position}]",
                key,
                "known_key",
                f"one of {sorted(allowed)}",
                zh=f"须为 {sorted(allowed)} 之一",
            )
        if key in keys[:position]:
            raise PolicyError(
                f"tie_break[{position}]", key, "unique_key", "listed twice", zh="重复列出"
            )
    if not keys or keys[0] != TOTAL:
        raise PolicyError(
            "tie_break[0]",
            keys[:1],
            "starts_with_total",
            "rank by total first",
            zh="排序须先按总分（total）",
        )
    if keys[-1] != REGION:
        raise PolicyError(
            f"tie_break[{len(keys) - 1}]",
            keys[-1],
            "ends_with_region",
            "the region code must come last so that the order is total",
            zh="地区代码（region）须列在最后，使排序没有并列",
        )
    return keys


def check_reward_tiers(value: Any) -> tuple[RewardTier, ...]:
    tiers: list[RewardTier] = []
    for i, item in enumerate(items(value, "reward_tiers")):
        data = fields(item, f"reward_tiers[{i}]", ("name_zh", "ranks"), ())
        ranks = items(data["ranks"], f"reward_tiers[{i}].ranks")
        if len(ranks) != 2:
            raise PolicyError(
                f"reward_tiers[{i}].ranks",
                ranks,
                "rank_range",
                "[first rank, last rank]",
                zh="须为 [起始名次, 结束名次]",
            )
        first = count(ranks[0], f"reward_tiers[{i}].ranks[0]", minimum=1)
        last = count(ranks[1], f"reward_tiers[{i}].ranks[1]", minimum=first)
        if tiers and first <= tiers[-1].last_rank:
            raise PolicyError(
                f"reward_tiers[{i}].ranks",
                ranks,
                "tiers_in_order",
                "after the previous tier",
                zh="须排在上一档之后",
            )
        tiers.append(RewardTier(text(data["name_zh"], f"reward_tiers[{i}].name_zh"), first, last))
    return tuple(tiers)


def _indicator(item: Any, path: str) -> Indicator:
    data = fields(
        item,
        path,
        ("key", "name_zh", "weight", "scoring"),
        ("cap", "targets", "counts", "levels", "reported_targets"),
    )
    key = text(data["key"], f"{path}.key")
    if key not in MEASURES:
        raise PolicyError(
            f"{path}.key",
            key,
            "known_indicator",
            f"one of {list(MEASURES)}",
            zh=f"须为 {list(MEASURES)} 之一",
        )
    scoring = data["scoring"]
    if scoring not in (RELATIVE, TARGET):
        raise PolicyError(
            f"{path}.scoring",
            scoring,
            "known_scoring",
            f"{RELATIVE!r} or {TARGET!r}",
            zh=f"须为 {RELATIVE!r}（相对计分）或 {TARGET!r}（按目标计分）",
        )
    if scoring == TARGET and "cap" not in data:
        raise PolicyError(
            f"{path}.cap",
            None,
            "cap_required",
            "target scoring needs a cap",
            zh="按目标计分须设上限（cap）",
        )
    if scoring == RELATIVE and ("cap" in data or "targets" in data or "reported_targets" in data):
        raise PolicyError(
            f"{path}.scoring",
            scoring,
            "relative_has_no_targets",
            "cap and targets need 'target'",
            zh="只有按目标计分（'target'）才能设上限和目标",
        )
    if not isinstance(data.get("reported_targets", False), bool):
        raise PolicyError(
            f"{path}.reported_targets",
            data["reported_targets"],
            "boolean",
            "true or false",
            zh="须为 true 或 false",
        )
    cap = decimal(data["cap"], f"{path}.cap") if "cap" in data else None
    return Indicator(
        key=key,
        name_zh=text(data["name_zh"], f"{path}.name_zh"),
        weight=decimal(data["weight"], f"{path}.weight"),
        scoring=scoring,
        cap=cap,
        targets=_targets(data.get("targets", {}), f"{path}.targets"),
        counts=_counts(data.get("counts"), key, f"{path}.counts"),
        reported_targets=data.get("reported_targets") is True,
        levels=_levels(data.get("levels", [OFFICE_LEVEL]), f"{path}.levels"),
    )


def _counts(value: Any, key: str, path: str) -> str:
    """Unset: today's reading of (十九) — milestones count once verified (甄别), the leaders'
    trips as reported."""
    if value is None:
        return VERIFIED_ONLY if key in MILESTONE_MEASURES else AS_REPORTED
    if value not in COUNTS:
        raise PolicyError(
            path,
            value,
            "known_counts",
            f"{VERIFIED_ONLY!r} (verified reports only) or {AS_REPORTED!r}",
            zh=f"须为 {VERIFIED_ONLY!r}（只计已核实的报告）或 {AS_REPORTED!r}（按报告计）",
        )
    return str(value)


def _levels(value: Any, path: str) -> tuple[str, ...]:
    """The review levels in their order (市审核 before 省复核), at least one, each once."""
    levels = tuple(items(value, path))
    if not levels or any(level not in LEVELS for level in levels) or len(set(levels)) < len(levels):
        raise PolicyError(
            path,
            list(levels),
            "known_levels",
            f"one or more of {list(LEVELS)}, each once",
            zh=f"须为 {list(LEVELS)} 中的一个或多个，各列一次",
        )
    return tuple(level for level in LEVELS if level in levels)


def _targets(value: Any, path: str) -> Mapping[str, Mapping[str, Decimal]]:
    units = fields(value, path, (), None)
    targets = {}
    for unit, by_quarter in units.items():
        quarters = fields(by_quarter, f"{path}.{unit}", (), None)
        for quarter in quarters:
            if not is_quarter(quarter):
                raise PolicyError(
                    f"{path}.{unit}.{quarter}",
                    quarter,
                    "quarter_format",
                    'like "2020Q3"',
                    zh='季度应写作 "2020Q3" 这样的形式',
                )
        targets[str(unit)] = MappingProxyType(
            {q: decimal(t, f"{path}.{unit}.{q}") for q, t in quarters.items()}
        )
    return MappingProxyType(targets)


def _adjustments(value: Any, path: str, known: frozenset[str]) -> tuple[Adjustment, ...]:
    adjustments: list[Adjustment] = []
    for i, item in enumerate(items(value, path)):
        data = fields(item, f"{path}[{i}]", ("key", "name_zh", "points"), ("cap",))
        key = text(data["key"], f"{path}[{i}].key")
        if key not in known or key in {a.key for a in adjustments}:
            raise PolicyError(
                f"{path}[{i}].key",
                key,
                "known_unique_key",
                f"once each, one of {sorted(known)}",
                zh=f"须为 {sorted(known)} 之一，且每项只列一次",
            )
        cap = data.get("cap")
        adjustments.append(
            Adjustment(
                key=key,
                name_zh=text(data["name_zh"], f"{path}[{i}].name_zh"),
                points=decimal(data["points"], f"{path}[{i}].points"),
                cap=None if cap is None else decimal(cap, f"{path}[{i}].cap"),
            )
        )
    return tuple(adjustments)
