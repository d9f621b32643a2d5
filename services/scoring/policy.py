"""The scoring policy (十九): which indicators count with which weights, the bonuses and
deductions, the tie-break, the cut-off, the summons rule and the reward tiers.

A policy arrives as a mapping (a policy file's content, or a policy.adopted payload) and is
checked here, every broken rule a PolicyError naming its field. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final

from services.kernel.contract.calendar import is_quarter
from services.scoring.domain import PolicyError

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
    reward_tiers: tuple[RewardTier, ...]
    min_project_investment: Decimal  # 亿元
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        data = _fields(data, "", _POLICY_REQUIRED, _POLICY_OPTIONAL)
        indicators = tuple(
            _indicator(item, f"indicators[{i}]")
            for i, item in enumerate(_items(data["indicators"], "indicators"))
        )
        check_indicators(indicators)
        summons = _fields(data["summons"], "summons", ("bottom", "after_quarters"), ())
        return cls(
            version=_text(data["version"], "version"),
            indicators=indicators,
            bonuses=_adjustments(data.get("bonuses", []), "bonuses", BONUS_KEYS),
            deductions=_adjustments(data.get("deductions", []), "deductions", DEDUCTION_KEYS),
            tie_break=check_tie_break(data["tie_break"], indicators),
            cut_off_days=_count(data["cut_off_days"], "cut_off_days", minimum=0),
            summon_bottom=_count(summons["bottom"], "summons.bottom", minimum=0),
            summon_after_quarters=_count(
                summons["after_quarters"], "summons.after_quarters", minimum=1
            ),
            reward_tiers=check_reward_tiers(data["reward_tiers"]),
            min_project_investment=_decimal(
                data["min_project_investment"], "min_project_investment", positive=False
            ),
            source=_text(data["source"], "source") if "source" in data else "",
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
    "reward_tiers",
    "min_project_investment",
)
_POLICY_OPTIONAL = ("source", "bonuses", "deductions")


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
    keys = tuple(_text(k, f"tie_break[{i}]") for i, k in enumerate(_items(value, "tie_break")))
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
    for i, item in enumerate(_items(value, "reward_tiers")):
        data = _fields(item, f"reward_tiers[{i}]", ("name_zh", "ranks"), ())
        ranks = _items(data["ranks"], f"reward_tiers[{i}].ranks")
        if len(ranks) != 2:
            raise PolicyError(
                f"reward_tiers[{i}].ranks",
                ranks,
                "rank_range",
                "[first rank, last rank]",
                zh="须为 [起始名次, 结束名次]",
            )
        first = _count(ranks[0], f"reward_tiers[{i}].ranks[0]", minimum=1)
        last = _count(ranks[1], f"reward_tiers[{i}].ranks[1]", minimum=first)
        if tiers and first <= tiers[-1].last_rank:
            raise PolicyError(
                f"reward_tiers[{i}].ranks",
                ranks,
                "tiers_in_order",
                "after the previous tier",
                zh="须排在上一档之后",
            )
        tiers.append(RewardTier(_text(data["name_zh"], f"reward_tiers[{i}].name_zh"), first, last))
    return tuple(tiers)


def _indicator(item: Any, path: str) -> Indicator:
    data = _fields(item, path, ("key", "name_zh", "weight", "scoring"), ("cap", "targets"))
    key = _text(data["key"], f"{path}.key")
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
    if scoring == RELATIVE and ("cap" in data or "targets" in data):
        raise PolicyError(
            f"{path}.scoring",
            scoring,
            "relative_has_no_targets",
            "cap and targets need 'target'",
            zh="只有按目标计分（'target'）才能设上限和目标",
        )
    cap = _decimal(data["cap"], f"{path}.cap") if "cap" in data else None
    return Indicator(
        key=key,
        name_zh=_text(data["name_zh"], f"{path}.name_zh"),
        weight=_decimal(data["weight"], f"{path}.weight"),
        scoring=scoring,
        cap=cap,
        targets=_targets(data.get("targets", {}), f"{path}.targets"),
    )


def _targets(value: Any, path: str) -> Mapping[str, Mapping[str, Decimal]]:
    units = _fields(value, path, (), None)
    targets = {}
    for unit, by_quarter in units.items():
        quarters = _fields(by_quarter, f"{path}.{unit}", (), None)
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
            {q: _decimal(t, f"{path}.{unit}.{q}") for q, t in quarters.items()}
        )
    return MappingProxyType(targets)


def _adjustments(value: Any, path: str, known: frozenset[str]) -> tuple[Adjustment, ...]:
    adjustments: list[Adjustment] = []
    for i, item in enumerate(_items(value, path)):
        data = _fields(item, f"{path}[{i}]", ("key", "name_zh", "points"), ("cap",))
        key = _text(data["key"], f"{path}[{i}].key")
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
                name_zh=_text(data["name_zh"], f"{path}[{i}].name_zh"),
                points=_decimal(data["points"], f"{path}[{i}].points"),
                cap=None if cap is None else _decimal(cap, f"{path}[{i}].cap"),
            )
        )
    return tuple(adjustments)


def _fields(
    value: Any, path: str, required: Sequence[str], optional: Sequence[str] | None
) -> Mapping:
    """A mapping with the required keys and, unless `optional` is None, no others."""
    where = path or "policy"
    if not isinstance(value, Mapping):
        raise PolicyError(where, value, "mapping", "a mapping of keys to values", zh="须为键值映射")
    for key in required:
        if key not in value:
            raise PolicyError(_at(path, key), None, "required", "missing", zh="缺少此项")
    if optional is not None:
        for key in value:
            if key not in required and key not in optional:
                allowed = sorted([*required, *optional])
                raise PolicyError(
                    _at(path, key),
                    value[key],
                    "known_key",
                    f"one of {allowed}",
                    zh=f"未知的键，须为 {allowed} 之一",
                )
    return value


def _at(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _items(value: Any, path: str) -> list:
    if not isinstance(value, list | tuple):
        raise PolicyError(path, value, "list", "a list", zh="须为列表")
    return list(value)


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(path, value, "text", "a non-empty string", zh="须为非空文本")
    return value


def _count(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(
            path,
            value,
            "whole_number",
            f"a whole number ≥ {minimum}",
            zh=f"须为不小于 {minimum} 的整数",
        )
    return value


def _decimal(value: Any, path: str, positive: bool = True) -> Decimal:
    """Whole numbers or decimal strings; floats are refused (they lose cents)."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise PolicyError(
            path,
            value,
            "decimal",
            'a whole number or a decimal string, "2.5"',
            zh='须为整数或十进制字符串（如 "2.5"），不接受浮点数',
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PolicyError(
            path, value, "decimal", "not a decimal number", zh="不是十进制数"
        ) from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        rule, zh = ("greater than 0", "须大于 0") if positive else ("0 or more", "须不小于 0")
        raise PolicyError(path, value, "decimal_range", rule, zh=zh)
    return number
