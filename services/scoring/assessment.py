"""The yearly assessment (十九)(十五): a 市州's year from its four quarters under the policy's rule
(`yearly.rule`: the mean or the sum of the quarters' totals), ranked; who was summoned (约谈) in
the year, and so who may be rewarded (`yearly.reward_summoned`); the rewards decided, if any.

Each quarter is its official ranking: the published one where published, else as it stands now
(`complete` says whether all four are published). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.scoring.policy import Policy

_CENT = Decimal("0.01")


def quarters_of(year: str) -> list[str]:
    return [f"{year}Q{n}" for n in range(1, 5)]


def summoned_in(rankings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The units on a published summons list of the year (the rankings of its quarters)."""
    found: dict[str, None] = {}
    for ranking in rankings.values():
        if ranking["published"]:
            found.update(dict.fromkeys(ranking["summons"]))
    return list(found)


def assess(
    year: str,
    rankings: Mapping[str, Mapping[str, Any]],
    policy: Policy,
    decision: Mapping[str, Any] | None,
) -> dict:
    """`rankings`: the year's four quarters, each its official ranking."""
    quarters = quarters_of(year)
    summoned = set(summoned_in(rankings))
    rewards = {r["unit"]: r["reward_class"] for r in (decision or {}).get("rewards", [])}
    units: dict[str, dict] = {}
    for quarter in quarters:
        ranking = rankings[quarter]
        for row in ranking["rows"]:
            unit = units.setdefault(
                row["region"], {"region": row["region"], "name": row["name"], "quarters": []}
            )
            unit["quarters"].append(
                {
                    "quarter": quarter,
                    "total": row["total"],
                    "rank": row["rank"],
                    "published": ranking["published"],
                    "summoned": ranking["published"] and row["region"] in ranking["summons"],
                }
            )
    for unit in units.values():
        totals = [Decimal(q["total"]) for q in unit["quarters"]]
        result = sum(totals, Decimal(0))
        if policy.yearly_rule == "mean_of_quarters":
            result = result / len(totals)
        unit["result"] = str(result.quantize(_CENT, rounding=ROUND_HALF_UP))
        unit["summoned_in_year"] = unit["region"] in summoned
        unit["may_be_rewarded"] = policy.reward_summoned or not unit["summoned_in_year"]
        unit["reward_class"] = rewards.get(unit["region"])
    ordered = sorted(units.values(), key=lambda u: (-Decimal(u["result"]), u["region"]))
    for position, unit in enumerate(ordered, 1):
        unit["rank"] = position
    return {
        "year": year,
        "policy_version": policy.version,
        "rule": policy.yearly_rule,
        "reward_summoned": policy.reward_summoned,
        "complete": all(rankings[q]["published"] for q in quarters),
        "units": ordered,
        "rewards": decision,
    }
